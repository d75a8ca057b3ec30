// Bounded sequence-numbered UDP streams across the overlay (udpseq.py in the
// namespaces): what was lost, duplicated or reordered.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { root } from './fixtures.js';
import { waitFor } from './vtep-lab.js';

const SCRIPT = join(root, 'test', 'helpers', 'udpseq.py');

export interface StreamResult {
  /** Datagrams the sender handed to the kernel (also when stopped early). */
  sent: number;
  received: number;
  last: number;
  missing: number;
  firstMissing: number[];
  duplicates: number;
  outOfOrder: number;
  /** Longest time between two consecutive arrivals, and when (epoch ms) the arrival that ended it came. */
  maxGapMs: number;
  maxGapEndMs: number | null;
}

export interface Stream {
  done: Promise<StreamResult>;
  /** Whether the sender is still sending (it stops by itself after `count`). */
  running: () => boolean;
  /** Stops the sender now; the receiver reports 3 s later. */
  stop: () => void;
}

function run(ns: string, args: string[]): { proc: ChildProcess; out: () => string; exit: Promise<number | null> } {
  const proc = spawn('ip', ['netns', 'exec', ns, 'python3', SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  return { proc, out: () => out, exit };
}

/**
 * Starts a receiver in `to`, then a sender in `from`; resolves with the
 * receiver's count. idleSeconds: how long the receiver waits for more after
 * the last datagram (default 3; longer for streams across an outage).
 */
export async function startStream(from: string, to: string, dst: string, port: number, count: number, pps: number, opts: { idleSeconds?: number } = {}): Promise<Stream> {
  const idle = opts.idleSeconds ?? 3;
  const maxSeconds = count / pps + 12 + idle;
  const rx = run(to, ['recv', String(port), String(count), String(maxSeconds), String(idle)]);
  await waitFor(() => rx.out().includes('listening'), 10_000, () => `receiver did not start: ${rx.out()}`);
  const tx = run(from, ['send', dst, String(port), String(count), String(pps)]);
  let stopped = false;
  const done = (async () => {
    const [txCode] = await Promise.all([tx.exit, rx.exit]);
    // The sender stops cleanly on SIGTERM too: any other exit is a failure.
    if (txCode !== 0) throw new Error(`sender failed (${txCode}${stopped ? ', after stop' : ''}): ${tx.out()}`);
    const lastLine = (out: string) => out.trim().split('\n').pop()!;
    const { sent } = JSON.parse(lastLine(tx.out())) as { sent: number };
    return { sent, ...(JSON.parse(lastLine(rx.out())) as Omit<StreamResult, 'sent'>) };
  })();
  return {
    done,
    running: () => tx.proc.exitCode === null && tx.proc.signalCode === null,
    stop: () => {
      stopped = true;
      tx.proc.kill('SIGTERM');
    },
  };
}
