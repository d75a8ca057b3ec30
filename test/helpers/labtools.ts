// Tools for namespace labs that move real traffic: containers behind a host,
// bounded packet captures, bounded iperf3 runs, neighbour tables, tshark.
// Every command has a count and a time limit; background processes are
// started here and ended here, by their own pid.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sh, type Lab } from './lab.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface ContainerSpec {
  /** Namespace suffix (lab.host name). */
  name: string;
  /** Host namespace and host-side interface name (the xvtep endpoint or bridge port). */
  hostNs: string;
  hostIf: string;
  /** Container-side address(es), CIDR. */
  addrs: string[];
  mac?: string;
  mtu?: number;
  ipv6?: boolean;
}

/**
 * A container: its own namespace, a veth pair whose host side lives in the
 * host namespace, interface eth0 inside with the given MAC, MTU and addresses.
 * Returns the container's namespace name.
 */
export function container(lab: Lab, c: ContainerSpec): string {
  const ns = lab.host(c.name, { ipv6: c.ipv6 ?? false });
  lab.link(c.hostNs, c.hostIf, ns, 'eth0');
  if (c.mac) lab.exec(ns, 'ip', 'link', 'set', 'eth0', 'address', c.mac);
  if (c.mtu) lab.exec(ns, 'ip', 'link', 'set', 'eth0', 'mtu', String(c.mtu));
  for (const a of c.addrs) lab.exec(ns, 'ip', 'addr', 'add', a, 'dev', 'eth0', ...(a.includes(':') ? ['nodad'] : []));
  return ns;
}

export interface Neighbour { dst: string; lladdr?: string; state: string[] }

export function neighbours(lab: Lab, ns: string, dev: string): Neighbour[] {
  const out = lab.exec(ns, 'ip', '-j', 'neigh', 'show', 'dev', dev);
  return (JSON.parse(out || '[]') as Neighbour[]);
}

/** The resolved MAC for addr on dev, or undefined (FAILED/INCOMPLETE/absent). */
export function neighbourMac(lab: Lab, ns: string, dev: string, addr: string): string | undefined {
  const n = neighbours(lab, ns, dev).find((x) => x.dst === addr);
  if (!n || !n.lladdr || n.state.some((s) => s === 'FAILED' || s === 'INCOMPLETE')) return undefined;
  return n.lladdr;
}

/** Waits (bounded) until a background process has printed `ready` on stdout or stderr. */
async function waitFor(p: ChildProcess, ready: RegExp, what: string, ms = 5000): Promise<void> {
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => done(new Error(`${what}: not ready after ${ms} ms: ${buf.trim()}`)), ms);
    const onData = (d: Buffer) => {
      buf += d.toString();
      if (ready.test(buf)) done();
    };
    const onExit = (code: number | null) => done(new Error(`${what} exited (${code}) before it was ready: ${buf.trim()}`));
    function done(e?: Error) {
      clearTimeout(t);
      p.stdout?.off('data', onData);
      p.stderr?.off('data', onData);
      p.off('exit', onExit);
      if (e) reject(e);
      else resolve();
    }
    p.stdout?.on('data', onData);
    p.stderr?.on('data', onData);
    p.on('exit', onExit);
  });
}

function exited(p: ChildProcess, ms: number): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      p.kill('SIGKILL');
    }, ms);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

const workdirs: string[] = [];
/** Removes every scratch directory made so far (call in afterAll; vitest may end workers without 'exit'). */
export function removeWorkdirs(): void {
  for (const d of workdirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
process.on('exit', removeWorkdirs);

/** A scratch directory removed when the process exits. */
export function workdir(): string {
  const d = mkdtempSync(join(tmpdir(), 'xvtep-lab-'));
  workdirs.push(d);
  return d;
}

export interface Capture {
  file: string;
  /** What tcpdump printed after it started listening (its counts, once stopped). */
  readonly log: string;
  /** Ends the capture (SIGINT to the tcpdump we started) and returns the file. */
  stop(): Promise<string>;
}

/**
 * Starts tcpdump on iface in ns (--immediate-mode: without it libpcap holds
 * frames in a ring block for up to a second, and a short capture that is
 * stopped loses them); at most maxPackets, at most maxSeconds,
 * writing a pcap; resolves once it is listening.
 */
export async function startCapture(ns: string, iface: string, filter: string[] = [],
  opts: { maxPackets?: number; maxSeconds?: number; snaplen?: number; direction?: 'in' | 'out' | 'inout'; bufferKiB?: number } = {}): Promise<Capture> {
  const file = join(workdir(), `${iface}.pcap`);
  const p = spawn('ip', ['netns', 'exec', ns, 'timeout', String(opts.maxSeconds ?? 20), 'tcpdump', '-i', iface, '-nn', '-U', '--immediate-mode',
    '-s', String(opts.snaplen ?? 256), ...(opts.direction ? ['-Q', opts.direction] : []), ...(opts.bufferKiB ? ['-B', String(opts.bufferKiB)] : []), '-c', String(opts.maxPackets ?? 1000), '-w', file, ...filter], { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitFor(p, /listening on/, `tcpdump on ${ns}/${iface}`);
  let log = '';
  p.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
  return {
    get log() { return log; },
    file,
    async stop() {
      await sleep(300); // let in-flight frames land
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGINT');
      await exited(p, 3000);
      return file;
    },
  };
}

/** Frames in a pcap, one string each as tcpdump -e prints it (decoded inner frames joined on). */
export function readCapture(file: string, filter: string[] = []): string[] {
  const out = sh('tcpdump', ['-r', file, '-nn', '-e', ...filter], { timeoutMs: 10_000 });
  const frames: string[] = [];
  for (const l of out.split('\n')) {
    if (l.trim() === '') continue;
    if (/^\d\d:\d\d:\d\d\.\d+ /.test(l) || frames.length === 0) frames.push(l);
    else frames[frames.length - 1] += `\n${l}`;
  }
  return frames;
}

/** The frames of a pcap (Ethernet link type), as captured; throws on a truncated one. */
export function readPcapFrames(file: string): Buffer[] {
  const b = readFileSync(file);
  if (b.length < 24) return [];
  const magic = b.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error(`${file}: not a little-endian pcap (magic ${magic.toString(16)})`);
  if (b.readUInt32LE(20) !== 1) throw new Error(`${file}: link type ${b.readUInt32LE(20)}, not Ethernet`);
  const frames: Buffer[] = [];
  for (let off = 24; off + 16 <= b.length;) {
    const incl = b.readUInt32LE(off + 8), orig = b.readUInt32LE(off + 12);
    if (incl !== orig) throw new Error(`${file}: frame ${frames.length} truncated to ${incl} of ${orig} bytes (snaplen)`);
    frames.push(b.subarray(off + 16, off + 16 + incl));
    off += 16 + incl;
  }
  return frames;
}

/** tshark field extraction: one array of fields per frame. */
export function tsharkFields(file: string, decodeAs: string[], fields: string[], opts: { filter?: string; prefs?: string[] } = {}): string[][] {
  const args = ['-r', file, '-n'];
  for (const d of decodeAs) args.push('-d', d);
  for (const p of opts.prefs ?? []) args.push('-o', p);
  if (opts.filter) args.push('-Y', opts.filter);
  args.push('-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=,');
  for (const f of fields) args.push('-e', f);
  const out = sh('tshark', args, { timeoutMs: 30_000 });
  return out.split('\n').filter((l) => l.trim() !== '').map((l) => l.split('\t'));
}

export interface IperfResult {
  /** Bits per second received (at whichever end received). */
  bps: number;
  bytes: number;
  retransmits?: number;
  command: string;
}

/**
 * One bounded iperf3 TCP run: a one-off server (-1) in serverNs, a client in
 * clientNs sending for `seconds` (reverse: the server sends).
 */
export async function iperf3(lab: Lab, serverNs: string, serverAddr: string, clientNs: string,
  opts: { seconds?: number; reverse?: boolean; port?: number } = {}): Promise<IperfResult> {
  const port = String(opts.port ?? 5201);
  const seconds = opts.seconds ?? 2;
  const server = spawn('ip', ['netns', 'exec', serverNs, 'timeout', String(seconds + 15), 'iperf3', '-s', '-1', '-p', port, '-B', serverAddr],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await waitListening(lab, serverNs, server, Number(port));
    const args = ['-c', serverAddr, '-p', port, '-t', String(seconds), '-J', '--connect-timeout', '3000', ...(opts.reverse ? ['-R'] : [])];
    const r = spawnSync('ip', ['netns', 'exec', clientNs, 'timeout', String(seconds + 10), 'iperf3', ...args], { encoding: 'utf8', timeout: (seconds + 12) * 1000 });
    let j: { error?: string; end?: { sum_received?: { bytes: number; bits_per_second: number }; sum_sent?: { retransmits?: number } } };
    try {
      j = JSON.parse(r.stdout);
    } catch {
      throw new Error(`iperf3 client in ${clientNs} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
    }
    if (j.error || r.status !== 0 || !j.end?.sum_received) throw new Error(`iperf3 ${args.join(' ')}: ${j.error ?? `exit ${r.status}`}`);
    return {
      bps: j.end.sum_received.bits_per_second, bytes: j.end.sum_received.bytes, retransmits: j.end.sum_sent?.retransmits,
      command: `iperf3 ${args.join(' ')}`,
    };
  } finally {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
    await exited(server, 3000);
  }
}

/** Polls (bounded) until something listens on TCP port in ns; fails early if p exits. */
async function waitListening(lab: Lab, ns: string, p: ChildProcess, port: number, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (p.exitCode !== null || p.signalCode !== null) throw new Error(`server in ${ns} exited (${p.exitCode ?? p.signalCode}) before listening`);
    if (lab.exec(ns, 'ss', '-Hltn', `sport = :${port}`).trim()) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on port ${port} in ${ns} after ${ms} ms`);
}

export const gbps = (bps: number) => `${(bps / 1e9).toFixed(2)} Gbit/s`;

export interface TransferResult {
  /** What the client sent and the server received: byte count and SHA-256. */
  sent: { bytes: number; sha256: string };
  received: { bytes: number; sha256: string };
}

// A deterministic pseudo-random payload (its SHA-256 says if any byte moved)
const TX_PY = `import hashlib, random, socket, sys
data = random.Random(7).randbytes(int(sys.argv[3]))
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(data)
s.close()
print(len(data), hashlib.sha256(data).hexdigest())`;
const RX_PY = `import hashlib, socket, sys
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
l = socket.socket(fam, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen(1)
l.settimeout(10)
c, _ = l.accept()
c.settimeout(10)
h, n = hashlib.sha256(), 0
while True:
    d = c.recv(1 << 16)
    if not d:
        break
    h.update(d)
    n += len(d)
print(n, h.hexdigest())`;

/**
 * One TCP connection that carries `bytes` of a fixed pseudo-random payload
 * from clientNs to serverAddr in serverNs (python3), bounded to 20 s.
 */
export async function tcpTransfer(lab: Lab, serverNs: string, serverAddr: string, clientNs: string, bytes: number, port = 5301): Promise<TransferResult> {
  const server = spawn('ip', ['netns', 'exec', serverNs, 'timeout', '20', 'python3', '-c', RX_PY, serverAddr, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  server.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  server.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const parse = (s: string, who: string) => {
    const m = /^(\d+) ([0-9a-f]{64})$/m.exec(s);
    if (!m) throw new Error(`tcp transfer: ${who} said ${JSON.stringify(s.trim())}`);
    return { bytes: Number(m[1]), sha256: m[2]! };
  };
  try {
    await waitListening(lab, serverNs, server, port);
    const r = spawnSync('ip', ['netns', 'exec', clientNs, 'timeout', '15', 'python3', '-c', TX_PY, serverAddr, String(port), String(bytes)], { encoding: 'utf8', timeout: 17_000 });
    const sent = parse(r.stdout ?? '', `the client in ${clientNs} (exit ${r.status}, ${r.stderr})`);
    await exited(server, 5000);
    return { sent, received: parse(out, `the server in ${serverNs}`) };
  } finally {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
    await exited(server, 3000);
  }
}
