// Tools of the loss-and-continuity runs (continuity.test.ts): streams both
// ways for the length of a scenario, a per-VNI counter watch, and a census of
// what one lab holds in the kernel (programs, links, pins).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { statePath } from '../../src/reconcile/state.js';
import type { Datapath } from '../../src/datapath/datapath.js';
import type { VtepLab } from '../helpers/vtep-lab.js';
import { startStream, type Stream, type StreamResult } from '../helpers/stream.js';

function bpftool<T>(...args: string[]): T {
  const r = spawnSync('bpftool', ['-j', ...args], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`bpftool ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as T;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

export interface Census {
  programs: number[];
  links: number[];
  /** Links held by a pin under pinDir/links: every other one would be held by nothing we own. */
  pinnedLinks: number[];
  pins: string[];
  /** Files of this instance in the manager's state directory (a temporary left by a kill would show). */
  stateFiles: string[];
}

/**
 * What belongs to the lab pinned at pinDir: the programs using its pinned
 * maps, the links of those programs, and the files under pinDir. Global
 * counts would not do: other runs load programs on this machine meanwhile.
 */
export function census(pinDir: string): Census {
  const pins = walk(pinDir).map((p) => relative(pinDir, p)).sort();
  const idOf = (kind: 'map' | 'link', p: string) => bpftool<{ id: number }>(kind, 'show', 'pinned', join(pinDir, p)).id;
  const mapIds = new Set(pins.filter((p) => p.startsWith('maps/')).map((p) => idOf('map', p)));
  const programs = bpftool<Array<{ id: number; map_ids?: number[] }>>('prog', 'show')
    .filter((p) => p.map_ids?.some((m) => mapIds.has(m))).map((p) => p.id).sort((a, b) => a - b);
  const ours = new Set(programs);
  const links = bpftool<Array<{ id: number; prog_id?: number }>>('link', 'show')
    .filter((l) => l.prog_id !== undefined && ours.has(l.prog_id)).map((l) => l.id).sort((a, b) => a - b);
  // a netlink TC filter's pin (<role>-<iface>-tc-ingress) is its program, which must be one of ours
  const filterPins = pins.filter((p) => p.startsWith('links/') && p.endsWith('-tc-ingress'));
  for (const p of filterPins) {
    const id = bpftool<{ id: number }>('prog', 'show', 'pinned', join(pinDir, p)).id;
    if (!ours.has(id)) throw new Error(`${p} pins program ${id}, not one of this lab's`);
  }
  const pinnedLinks = pins.filter((p) => p.startsWith('links/') && !filterPins.includes(p)).map((p) => idOf('link', p)).sort((a, b) => a - b);
  const state = statePath(pinDir);
  const instance = basename(state).replace(/\.json$/, '');
  const stateFiles = readdirSync(dirname(state)).filter((f) => f.startsWith(`${instance}.`)).sort();
  return { programs, links, pinnedLinks, pins, stateFiles };
}

/**
 * Leaks between two censuses: programs must be the very same (adopted, never
 * reloaded), pins and state files the same names, links as many and every
 * one pinned. Link
 * ids may change: a reload that drops an endpoint and a later one that adds
 * it back attach a new link.
 */
export function leaks(before: Census, after: Census): string[] {
  const diff = (what: string, a: ReadonlyArray<number | string>, b: ReadonlyArray<number | string>) => [
    ...b.filter((x) => !a.includes(x)).map((x) => `new ${what} ${x}`),
    ...a.filter((x) => !b.includes(x)).map((x) => `gone ${what} ${x}`),
  ];
  const out = [...diff('program', before.programs, after.programs), ...diff('pin', before.pins, after.pins), ...diff('state file', before.stateFiles, after.stateFiles)];
  if (after.links.length !== before.links.length) out.push(`links: ${before.links.length} before, ${after.links.length} after`);
  out.push(...after.links.filter((l) => !after.pinnedLinks.includes(l)).map((l) => `link ${l} is not pinned (held by nothing of ours)`));
  return out;
}

export const censusCounts = (c: Census) => ({ programs: c.programs.length, links: c.links.length, pins: c.pins.length });

/**
 * Samples one VNI's xv_stats row (summed over CPUs) every intervalMs and
 * remembers every step backwards. The row is read from the kernel each time.
 */
export class CounterWatch {
  readonly backwards: string[] = [];
  samples = 0;
  first: [number, number] | undefined;
  last: [number, number] | undefined;
  #timer: NodeJS.Timeout | undefined;
  #prev: number[] | undefined;

  constructor(private readonly dp: Datapath, private readonly slot: number, intervalMs = 100) {
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    const s = this.dp.readStats(this.slot);
    const now = [s.rxPackets, s.rxBytes, s.txPackets, s.txBytes];
    if (this.#prev) {
      const names = ['rxPackets', 'rxBytes', 'txPackets', 'txBytes'];
      now.forEach((v, i) => {
        if (v < this.#prev![i]!) this.backwards.push(`${names[i]} ${this.#prev![i]} -> ${v} at sample ${this.samples}`);
      });
    }
    this.#prev = now;
    this.samples++;
    this.last = [s.rxPackets, s.txPackets];
    this.first ??= this.last;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.sample();
  }
}

export interface DirectionRow { sent: number; received: number; lost: number; duplicated: number; missing: number; outOfOrder: number; firstMissing: number[] }

export const directionRow = (r: StreamResult): DirectionRow => ({
  sent: r.sent, received: r.received, lost: r.sent - r.received, duplicated: r.duplicates, missing: r.missing, outOfOrder: r.outOfOrder, firstMissing: r.firstMissing,
});

/** c -> b and b -> c through the overlay, sequence-numbered, bounded by maxSeconds. */
export class StreamPair {
  private constructor(readonly up: Stream, readonly down: Stream) {}

  static async start(L: VtepLab, port: number, pps: number, maxSeconds: number): Promise<StreamPair> {
    const up = await startStream(L.c, L.b, '198.51.100.2', port, pps * maxSeconds, pps);
    const down = await startStream(L.b, L.c, '198.51.100.1', port + 1, pps * maxSeconds, pps);
    return new StreamPair(up, down);
  }

  running(): boolean {
    return this.up.running() && this.down.running();
  }

  async stop(): Promise<{ up: StreamResult; down: StreamResult }> {
    this.up.stop();
    this.down.stop();
    const [up, down] = await Promise.all([this.up.done, this.down.done]);
    return { up, down };
  }
}

/** Deterministic PRNG (mulberry32): the same seed replays the same update sequence. */
export function rng(seed: number): (n?: number) => number {
  let a = seed >>> 0;
  return (n?: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const x = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return n === undefined ? x : Math.floor(x * n);
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
