// The environment of the data path packet tests: one namespace holding the
// underlay (uly0, peered to a "remote VTEP" namespace) and three endpoints
// (host sides ep1..ep3 of veth pairs), the loaded xvtep object, and helpers
// to run a program through BPF_PROG_TEST_RUN inside that namespace and to
// check that the counters moved by exactly what a test expects.
//
// Nothing is attached: programs only run under test_run, so every counter
// change is caused by the test itself.
import { expect } from 'vitest';
import { ifindexOf, xdpContext, type TestRunResult } from '../../src/bpf/index.js';
import {
  DROP_REASONS, Datapath, EVENTS, LAYOUT_VERSION, type ConfigValue, type DropReason, type EventName, type StatsValue,
  type VtepSettings,
} from '../../src/datapath/index.js';
import { Lab, sh } from './lab.js';
import { ip4, ip6 } from './packets.js';

export const MAC = {
  uly: '02:00:00:00:01:01', // our underlay NIC
  peer: '02:00:00:00:02:02', // next hop for 192.0.2.2 / 2001:db8::2
  peerB: '02:00:00:00:02:03', // next hop for 192.0.2.3 / 2001:db8::3
  ep1c: '02:00:00:00:c1:01', // container behind ep1
  ep2c: '02:00:00:00:c2:01', // container behind ep2
  ep3c: '02:00:00:00:c3:01',
  rem: '02:aa:bb:cc:dd:01', // a container behind the remote VTEP
  rem2: '02:aa:bb:cc:dd:02',
} as const;

export const ADDR = {
  local4: '192.0.2.1',
  peer4: '192.0.2.2',
  peer4b: '192.0.2.3',
  unresolved4: '192.0.2.99', // on-link, no neighbour entry
  unrouted4: '203.0.113.9', // no route at all
  local6: '2001:db8::1',
  peer6: '2001:db8::2',
  peer6b: '2001:db8::3',
  unresolved6: '2001:db8::99',
} as const;

export const XDP = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;
export const TC = { OK: 0, SHOT: 2, REDIRECT: 7 } as const;

export const NH_CACHE_OFF = 0xffffffff;

/** struct __sk_buff for a TC test run: only ifindex (offset 40) set. */
export function skbContext(ifindex: number, o: { gsoSize?: number; gsoSegs?: number } = {}): Buffer {
  const b = Buffer.alloc(192);
  b.writeUInt32LE(ifindex, 40);
  b.writeUInt32LE(o.gsoSegs ?? 0, 164);
  b.writeUInt32LE(o.gsoSize ?? 0, 176);
  return b;
}

export interface Delta {
  rxPackets?: number;
  rxBytes?: number;
  txPackets?: number;
  txBytes?: number;
  drop?: Partial<Record<DropReason, number>>;
  event?: Partial<Record<EventName, number>>;
}

export type Snapshot = Map<number, StatsValue>;

function deltaOf(a: StatsValue, b: StatsValue): Delta {
  const d: Delta = {};
  for (const k of ['rxPackets', 'rxBytes', 'txPackets', 'txBytes'] as const) if (b[k] !== a[k]) d[k] = b[k] - a[k];
  b.drop.forEach((v, i) => {
    if (v !== a.drop[i]) (d.drop ??= {})[(DROP_REASONS[i] ?? `drop${i}`) as DropReason] = v - a.drop[i]!;
  });
  b.event.forEach((v, i) => {
    if (v !== a.event[i]) (d.event ??= {})[(EVENTS[i] ?? `event${i}`) as EventName] = v - a.event[i]!;
  });
  return d;
}

function normalize(d: Delta): Delta {
  const o: Delta = {};
  for (const k of ['rxPackets', 'rxBytes', 'txPackets', 'txBytes'] as const) if (d[k]) o[k] = d[k];
  for (const k of ['drop', 'event'] as const) {
    const e = Object.entries(d[k] ?? {}).filter(([, v]) => v);
    if (e.length) o[k] = Object.fromEntries(e);
  }
  return o;
}

export const DEFAULT_SLOT = 5;

export class DpEnv {
  readonly ifx: { uly: number; ep1: number; ep2: number; ep3: number; peerUly: number };

  private constructor(readonly lab: Lab, readonly ns: string, readonly peerNs: string, readonly dp: Datapath) {
    this.ifx = lab.in(ns, () => ({
      uly: ifindexOf('uly0'), ep1: ifindexOf('ep1'), ep2: ifindexOf('ep2'), ep3: ifindexOf('ep3'), peerUly: 0,
    }));
    this.ifx.peerUly = lab.in(peerNs, () => ifindexOf('uly1'));
  }

  static async create(tag: string): Promise<DpEnv> {
    const lab = new Lab(tag);
    try {
      const ns = lab.host('dp');
      const peer = lab.host('peer');
      lab.link(ns, 'uly0', peer, 'uly1');
      const x = (...a: string[]) => lab.exec(ns, ...(a as [string, ...string[]]));
      x('ip', 'link', 'set', 'uly0', 'address', MAC.uly);
      lab.exec(peer, 'ip', 'link', 'set', 'uly1', 'address', MAC.peer);
      x('ip', 'addr', 'add', `${ADDR.local4}/24`, 'dev', 'uly0');
      x('ip', 'addr', 'add', `${ADDR.local6}/64`, 'dev', 'uly0', 'nodad');
      lab.exec(peer, 'ip', 'addr', 'add', `${ADDR.peer4}/24`, 'dev', 'uly1');
      lab.exec(peer, 'ip', 'addr', 'add', `${ADDR.peer6}/64`, 'dev', 'uly1', 'nodad');
      for (const [a, m] of [[ADDR.peer4, MAC.peer], [ADDR.peer4b, MAC.peerB], [ADDR.peer6, MAC.peer], [ADDR.peer6b, MAC.peerB]]) {
        x('ip', 'neigh', 'replace', a!, 'lladdr', m!, 'nud', 'permanent', 'dev', 'uly0');
      }
      x('sysctl', '-qw', 'net.ipv4.conf.uly0.forwarding=1');
      x('sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
      x('sysctl', '-qw', 'net.ipv6.conf.uly0.forwarding=1');
      for (const i of [1, 2, 3]) lab.link(ns, `ep${i}`, ns, `ep${i}c`);
      const dp = await Datapath.load({ sizes: { vnis: 64, fdb: 256, peers: 64, endpoints: 16, neighbors: 64 } });
      return new DpEnv(lab, ns, peer, dp);
    } catch (e) {
      lab.destroy();
      throw e;
    }
  }

  destroy(): void {
    try {
      this.dp.close();
    } finally {
      this.lab.destroy();
    }
  }

  settings(over: Partial<VtepSettings> = {}): VtepSettings {
    return {
      underlayIfindex: this.ifx.uly, port: 4789, localAddress: ADDR.local4, underlayMtu: 1500, srcPortMin: 0, srcPortMax: 0,
      ttl: 0, tos: 0, tosInherit: false, df: 'unset', udp6ZeroChecksum: false, udp6ZeroChecksumRx: false, fdbRefreshMs: 0, epChecksumComplete: true,
      nhCacheMs: NH_CACHE_OFF, ...over,
    };
  }

  /** Single-family configuration through the control-plane API. */
  configure(over: Partial<VtepSettings> = {}): void {
    this.dp.configure(this.settings(over));
  }

  /** Raw xv_config (e.g. both underlay families at once); bumps the generation. */
  configureRaw(over: Partial<ConfigValue> = {}): void {
    this.dp.config.set(0, {
      layoutVersion: LAYOUT_VERSION, underlayIfindex: this.ifx.uly, udpPort: 4789, underlayMtu: 1500, srcPortMin: 0, srcPortMax: 0,
      ttl: 0, tos: 0, tosInherit: 0, dfPolicy: 0, udp6ZeroCsum: 0, epCsumComplete: 1, udp6ZeroCsumRx: 0, localIp4: ip4(ADDR.local4), fdbRefreshMs: 0,
      localIp6: ip6(ADDR.local6), nhCacheMs: NH_CACHE_OFF, rxGroIfindex: 0, gso6Ifindex: 0, learnMaxTotal: 0, learnedTotal: 0, learnRingDrops: 0, learnEvents: 0, ...over,
    });
    this.dp.bumpGeneration();
  }

  /**
   * A VNI with its stats slot, the given endpoints, the given peers, and
   * the endpoints in xv_devs (resolved in the lab namespace).
   */
  vni(vni: number, o: {
    slot?: number; learning?: boolean; allowUnknownPeers?: boolean; proxyArp?: boolean; proxyNd?: boolean;
    endpoints?: number[]; peers?: string[]; maxLearned?: number;
  } = {}): void {
    const s = {
      statsSlot: o.slot ?? DEFAULT_SLOT, learning: o.learning ?? false, allowUnknownPeers: o.allowUnknownPeers ?? false,
      proxyArp: o.proxyArp ?? false, proxyNd: o.proxyNd ?? false, maxLearned: o.maxLearned ?? 0,
    };
    const flags = (s.learning ? 0 : 1) | (s.allowUnknownPeers ? 2 : 0) | (s.proxyArp ? 4 : 0) | (s.proxyNd ? 8 : 0);
    for (const ep of o.endpoints ?? []) {
      this.dp.endpoints.set(ep, vni, { statsSlot: s.statsSlot, flags });
      this.lab.in(this.ns, () => this.dp.devs.set(ep, ep));
    }
    for (const p of o.peers ?? []) this.dp.peers.add(vni, p, { statsSlot: s.statsSlot, flags });
    this.dp.setVni(vni, s);
  }

  staticLocal(vni: number, m: string, ifindex: number): void {
    this.dp.fdb.set({ vni, mac: m, dest: { kind: 'local', ifindex }, static: true, updatedNs: 0 });
    this.dp.bumpGeneration();
  }

  staticRemote(vni: number, m: string, remote: string): void {
    this.dp.fdb.set({ vni, mac: m, dest: { kind: 'remote', remote }, static: true, updatedNs: 0 });
    this.dp.bumpGeneration();
  }

  floodPorts(vni: number, ifindexes: number[]): void {
    this.lab.in(this.ns, () => this.dp.setFloodPorts(vni, ifindexes));
  }

  /**
   * Runs fn with this process (all its threads) kept on one CPU, then
   * restores its affinity: the data path's caches are per CPU, so a test of
   * what they keep between packets must not migrate in between.
   */
  async onOneCpu<T>(fn: () => Promise<T>): Promise<T> {
    const pid = String(process.pid);
    const before = sh('taskset', ['-pc', pid]).trim().split(': ').pop()!;
    sh('taskset', ['-a', '-pc', before.split(/[,-]/)[0]!, pid]);
    try {
      return await fn();
    } finally {
      sh('taskset', ['-a', '-pc', before, pid]);
    }
  }

  xdp(prog: string, data: Buffer, ingressIfindex = this.ifx.uly): TestRunResult & { data: Buffer } {
    const r = this.lab.in(this.ns, () => this.dp.program(prog).testRun({
      data, ctx: xdpContext({ dataLength: data.length, ingressIfindex }),
    }));
    return { ...r, data: r.data ?? Buffer.alloc(0) };
  }

  tc(prog: string, data: Buffer, ifindex: number): TestRunResult & { data: Buffer } {
    const r = this.lab.in(this.ns, () => this.dp.program(prog).testRun({ data, ctx: skbContext(ifindex) }));
    return { ...r, data: r.data ?? Buffer.alloc(0) };
  }

  snapshot(): Snapshot {
    return this.dp.readAllStats();
  }

  /** Every counter of every slot moved by exactly `expected` since `before` (slots not named: unchanged). */
  expectCounters(before: Snapshot, expected: Record<number, Delta>): void {
    const after = this.snapshot();
    const got: Record<number, Delta> = {};
    for (const [slot, v] of after) {
      const d = normalize(deltaOf(before.get(slot)!, v));
      if (Object.keys(d).length) got[slot] = d;
    }
    const want: Record<number, Delta> = {};
    for (const [slot, d] of Object.entries(expected)) {
      const n = normalize(d);
      if (Object.keys(n).length) want[Number(slot)] = n;
    }
    expect(got).toEqual(want);
  }

  /** Runs fn and checks the counters it moved. */
  counting<T>(expected: Record<number, Delta>, fn: () => T): T {
    const before = this.snapshot();
    const r = fn();
    this.expectCounters(before, expected);
    return r;
  }
}
