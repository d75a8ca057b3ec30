// Config → the map contents it asks for. Everything that can be refused
// (missing interfaces, flood lists beyond the fixed ABI sizes, stats slots
// exhausted) is refused here, before apply touches a single map.
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { BpfError, ifindexOf } from '../bpf/index.js';
import { BUM_MAX_LOCAL, BUM_MAX_REMOTE4, BUM_MAX_REMOTE6, type FdbDest } from '../datapath/index.js';
import { learnMaxTotal, type Config, type ConfigIssue } from '../config/index.js';
import { ManagerError, system, usage } from './errors.js';
import { ZERO_MAC, addrKey, emptyTables, fdbKey, type Settings, type Tables } from './model.js';

/** What the manager asks of the host: interface indexes, addresses, MTUs. */
export interface Resolver {
  ifindex(name: string): number;
  /** null when no interface has that name (any other failure throws). */
  lookup(name: string): number | null;
  underlayAddress(iface: string, family: 4 | 6 | null): string;
  mtu(iface: string): number;
}

export const hostResolver: Resolver = {
  ifindex(name) {
    try {
      return ifindexOf(name);
    } catch (e) {
      throw system(`interface ${name}: does not exist in this network namespace (${(e as Error).message})`, e);
    }
  },
  lookup(name) {
    try {
      return ifindexOf(name);
    } catch (e) {
      if (e instanceof BpfError && e.code === 'ENODEV') return null;
      throw e;
    }
  },
  underlayAddress(iface, family) {
    const addrs = (networkInterfaces()[iface] ?? []).filter((a) => !a.internal && !a.address.startsWith('fe80:') && !a.address.startsWith('169.254.'));
    const pick = addrs.find((a) => family === null || a.family === (family === 4 ? 'IPv4' : 'IPv6'));
    if (!pick) {
      throw system(`underlay.address: interface ${iface} has no global ${family ? `IPv${family} ` : ''}address; add one or set underlay.address`);
    }
    return pick.address;
  },
  mtu(iface) {
    return Number(readFileSync(`/sys/class/net/${iface}/mtu`, 'utf8').trim());
  },
};

export const FDB_REFRESH_MS = 1000;

/**
 * Host lookups name the place in the file that asked for them
 * (`vnis[1].endpoints[0]: interface nope0 does not exist ...`).
 */
function at<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ManagerError && !e.message.startsWith(`${path}:`)) throw new ManagerError(`${path}: ${e.message}`, e.exitCode, { cause: e });
    throw e;
  }
}

export function settingsFromConfig(cfg: Config, r: Resolver): Settings {
  const u = cfg.underlay;
  return {
    underlayIfindex: at('underlay.interface', () => r.ifindex(u.interface)),
    port: u.port,
    localAddress: u.address ?? r.underlayAddress(u.interface, u.family),
    underlayMtu: u.mtu ?? r.mtu(u.interface),
    // The file's range is inclusive like ip_local_port_range; the data path hashes into [min, max).
    srcPortMin: u.srcPortMin,
    srcPortMax: Math.min(u.srcPortMax + 1, 65535),
    ttl: u.ttl,
    tos: u.tos === 'inherit' ? 0 : u.tos,
    tosInherit: u.tos === 'inherit',
    df: u.df,
    udp6ZeroChecksum: !u.udpChecksumV6,
    udp6ZeroChecksumRx: u.udpZeroChecksumRxV6,
    fdbRefreshMs: FDB_REFRESH_MS,
    // Endpoints are veths with checksum offload on unless the operator says otherwise.
    epChecksumComplete: false,
    nhCacheMs: 0,
    learnMaxTotal: learnMaxTotal(cfg.capacity.fdb, cfg.vnis.reduce((n, v) => n + v.fdb.length, 0)),
    // the cluster agent consumes xv_learn_ring; without it nobody would
    learnEvents: cfg.cluster !== undefined,
  };
}

/**
 * Stats slots: a VNI that stays keeps its row (counters continue); a new VNI
 * gets the lowest row no live VNI holds, so make-before-break never shares a
 * row between a VNI being added and one being removed.
 */
export class SlotAllocator {
  readonly #used = new Set<number>();
  #next = 1;
  constructor(live: Tables, private readonly slots: number) {
    for (const s of live.vnis.values()) this.#used.add(s.statsSlot);
  }
  allocate(vni: number): number {
    while (this.#used.has(this.#next)) this.#next++;
    if (this.#next >= this.slots) {
      throw usage(`VNI ${vni}: no free statistics slot (${this.slots - 1} in the loaded data path); detach and attach with a larger capacity.vnis`);
    }
    this.#used.add(this.#next);
    return this.#next;
  }
}

function floodListProblem(vni: number, remotes: readonly string[], locals: number): string | null {
  const v4 = remotes.filter((a) => !a.includes(':')).length, v6 = remotes.length - v4;
  if (v4 <= BUM_MAX_REMOTE4 && v6 <= BUM_MAX_REMOTE6 && locals <= BUM_MAX_LOCAL) return null;
  return `VNI ${vni} floods to ${v4} IPv4 and ${v6} IPv6 VTEPs and ${locals} endpoints; ` +
    `the data path replicates to at most ${BUM_MAX_REMOTE4}, ${BUM_MAX_REMOTE6} and ${BUM_MAX_LOCAL}`;
}

export function checkFloodList(vni: number, remotes: readonly string[], locals: readonly number[], where: string): void {
  const problem = floodListProblem(vni, remotes, locals.length);
  if (problem) throw usage(`${where}: ${problem}`);
}

/** Flood destinations of one VNI in the file: its peers and its 00:00:00:00:00:00 remotes. */
function floodRemotes(v: Config['vnis'][number]): string[] {
  const extra = v.fdb.flatMap((f) => (f.mac === ZERO_MAC && f.kind === 'remote' ? [f.remote] : []));
  return [...new Set([...v.peers, ...extra])];
}

/**
 * What the data path cannot take whatever the host looks like (the fixed
 * flood-list sizes), so that `config check`, which touches nothing, already
 * refuses what an apply would.
 */
export function dataPathIssues(cfg: Config): ConfigIssue[] {
  return cfg.vnis.flatMap((v, i) => {
    const problem = floodListProblem(v.vni, floodRemotes(v), v.endpoints.length);
    return problem ? [{ path: `vnis[${i}]`, message: problem }] : [];
  });
}

/** An endpoint the file names but the host does not have (yet, or any more). */
export interface MissingEndpoint {
  name: string;
  vni: number;
}

/**
 * The map contents `cfg` asks for, given what is live (for stats slots).
 * A missing endpoint interface is an error, unless `missing` is given: then
 * (for `xvtep run`, which watches for it to appear) it is left out with its
 * flood port and static FDB entries, and listed there.
 */
export function desiredFromConfig(cfg: Config, live: Tables, statsSlots: number, r: Resolver = hostResolver, missing?: MissingEndpoint[]): Tables {
  const t = emptyTables();
  t.settings = settingsFromConfig(cfg, r);
  const slots = new SlotAllocator(live, statsSlots);
  // Entries behind one VTEP share a frozen dest: 100k entries name a few remotes.
  const remoteDest = new Map<string, FdbDest>();
  const destTo = (remote: string) => {
    let d = remoteDest.get(remote);
    if (!d) remoteDest.set(remote, (d = Object.freeze({ kind: 'remote' as const, remote })));
    return d;
  };
  cfg.vnis.forEach((v, i) => {
    const statsSlot = live.vnis.get(v.vni)?.statsSlot ?? slots.allocate(v.vni);
    t.vnis.set(v.vni, { learning: v.learning, allowUnknownPeers: v.allowUnknownPeers, proxyArp: v.proxyArp, proxyNd: v.proxyArp, statsSlot, maxLearned: v.maxLearned });
    const eps = new Map<string, number>();
    v.endpoints.forEach((name, j) => {
      const ifindex = missing ? r.lookup(name) : at(`vnis[${i}].endpoints[${j}]`, () => r.ifindex(name));
      if (ifindex === null) missing!.push({ name, vni: v.vni });
      else eps.set(name, ifindex);
    });
    for (const ifindex of eps.values()) {
      t.endpoints.set(ifindex, { ifindex, vni: v.vni });
      t.endpointXdp.set(ifindex, v.endpointXdp);
      t.devs.add(ifindex);
    }
    for (const address of v.peers) t.peers.set(addrKey(v.vni, address), { vni: v.vni, address });
    for (const n of v.neighbors) t.neighbors.set(addrKey(v.vni, n.ip), { vni: v.vni, ip: n.ip, mac: n.mac });
    for (const f of v.fdb) {
      if (f.mac === ZERO_MAC) continue; // a flood destination: floodRemotes()
      if (f.kind === 'local' && !eps.has(f.endpoint)) continue; // its endpoint is missing: back with it
      const dest = f.kind === 'remote' ? destTo(f.remote) : { kind: 'local' as const, ifindex: eps.get(f.endpoint)! };
      t.fdb.set(fdbKey(v.vni, f.mac), { vni: v.vni, mac: f.mac, dest, static: true, updatedNs: 0 });
    }
    const remotes = floodRemotes(v);
    const locals = [...eps.values()];
    checkFloodList(v.vni, remotes, locals, `vnis[${i}]`);
    t.flood.set(v.vni, { vni: v.vni, remotes, locals });
    t.floodPorts.set(v.vni, [...locals].sort((a, b) => a - b));
  });
  return t;
}
