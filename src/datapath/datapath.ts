// The xvtep data path as one object: its programs, every map behind a typed
// table, and the few operations that touch several maps at once (flood
// ports, statistics slots, the cache generation). Policy — what to put in
// the maps and when — belongs to reconcile; this layer only does it right.
import { existsSync, mkdirSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeXdpMetadata } from './probe.js';
import { constants } from 'node:os';
import {
  BpfError, BpfMap, MapType, formatIPv4, formatIPv6, parseIP, ObjectSpec, PerCpuMap, Program, assertBpffs, hasXdpAdjustMeta, isBpffs, openMapById, openPinnedMap, pinExists, sumPerCpu, u32, u64n,
  type Collection, type MapBase,
} from '../bpf/index.js';
import {
  BCAST_PORTS, DfPolicy, GLOBAL_STATS_SLOT, LAYOUT_VERSION, MapName, addrKeyCodec, bumCodec, configCodec,
  epInfoCodec, fdbEntryCodec, fdbKeyCodec, neighValCodec, peerValCodec, statsCodec, vniInfoCodec,
  type ConfigValue, type StatsValue,
} from './layout.js';
import { FdbCounter, type FdbCounts } from './fdb-counter.js';
import { LearnEvents } from './learn-events.js';
import { EndpointTable, FdbTable, FloodTable, NeighborTable, PeerTable, VniTable, vniInfoOf, type FdbRecord, type VniSettings } from './tables.js';

export interface DatapathSizes {
  vnis?: number;
  endpoints?: number;
  fdb?: number;
  peers?: number;
  neighbors?: number;
}

/** VTEP-wide settings: the single xv_config entry. */
export interface VtepSettings {
  underlayIfindex: number;
  /** UDP destination port (4789 IANA, 8472 Linux/flannel). */
  port: number;
  /** Local VTEP address: its family is the underlay's. */
  localAddress: string;
  /** L3 MTU of the underlay; 0 = 1500. */
  underlayMtu: number;
  /** Outer UDP source ports are hashed into [srcPortMin, srcPortMax). */
  srcPortMin: number;
  srcPortMax: number;
  ttl: number;
  tos: number;
  tosInherit: boolean;
  df: 'unset' | 'set' | 'inherit';
  /** IPv6 outer UDP checksum: computed unless this is true. */
  udp6ZeroChecksum: boolean;
  /** IPv6: accept a zero outer UDP checksum (else dropped; non-zero ones are verified). */
  udp6ZeroChecksumRx: boolean;
  /** Minimum interval between refreshes of a learned entry's timestamp. */
  fdbRefreshMs: number;
  /** Endpoints always hand over complete checksums (no offload): XDP may encap TCP/UDP too. */
  epChecksumComplete: boolean;
  /** How long a resolved next hop is reused before bpf_fib_lookup again; 0 = default 100 ms. */
  nhCacheMs: number;
  /** Learned FDB entries allowed over all VNIs (the rest is the static reserve); 0 = no cap. */
  learnMaxTotal?: number;
  /** Write learn events to xv_learn_ring (only when something consumes them: the cluster agent). */
  learnEvents?: boolean;
}

export interface LoadOptions {
  /** The ELF object; default build/bpf/xvtep.bpf.o of this checkout. */
  objectPath?: string;
  sizes?: DatapathSizes;
  /** Programs to load now (default all); any other is loaded when first asked for (program()). */
  programs?: readonly string[];
}

const here = dirname(fileURLToPath(import.meta.url));
export const defaultObjectPath = join(here, '..', '..', 'build', 'bpf', 'xvtep.bpf.o');

/** Maps the control plane pins and adopts; the per-CPU caches are the data path's own. */
const PINNED_MAPS = ['xv_config', 'xv_vni', 'xv_ep', 'xv_fdb', 'xv_peer', 'xv_neigh', 'xv_bum', 'xv_devs', 'xv_uplink', 'xv_bcast', 'xv_stats', 'xv_gen', 'xv_learn_ring'];
/**
 * Pinned maps an older xvtep of the same layout did not have. Its programs
 * (adopted, not reloaded) don't use them either, so open() adopts such pins
 * without them; the features they serve are then off (attachUnderlay() says so).
 */
const ADDED_MAPS = new Set<string>([MapName.uplink, MapName.learnRing]);
/** VNIs per xv_bcast batch write: that many inner devmaps open at once. */
const BCAST_CHUNK = 512;

export class Datapath {
  #counter: Promise<FdbCounter> | undefined;
  readonly vnis: VniTable;
  readonly fdb: FdbTable;
  readonly peers: PeerTable;
  readonly neighbors: NeighborTable;
  readonly endpoints: EndpointTable;
  readonly flood: FloodTable;
  readonly config: BpfMap<number, ConfigValue>;
  readonly stats: PerCpuMap<number, StatsValue>;
  readonly devs: BpfMap<number, number>;
  /**
   * xv_uplink: the underlay device, for the XDP encap fast path
   * (bpf/include/xvtep_maps.h); undefined on pins of an xvtep that predates it.
   */
  readonly uplink: BpfMap<number, number> | undefined;
  readonly bcast: BpfMap<number, number>;
  readonly gen: BpfMap<number, number>;
  /** xv_learn_ring (raw records, see learnEvents()); undefined on pins of an xvtep that predates it. */
  readonly learnRing: BpfMap | undefined;

  readonly #programs: Map<string, Program>;
  /** Programs loaded or opened after the start (program()): closed with the rest. */
  readonly #later: Program[] = [];
  /** Where this data path is pinned (once known): programs loaded later are pinned there too. */
  #pinDir: string | undefined;

  private constructor(
    programs: ReadonlyMap<string, Program>,
    private readonly rawMaps: ReadonlyMap<string, MapBase<unknown>>,
    private readonly collection?: Collection,
    private readonly objectPath = defaultObjectPath,
  ) {
    this.#programs = new Map(programs);
    const plain = (n: string) => {
      const m = rawMaps.get(n);
      if (!(m instanceof BpfMap)) throw new BpfError('open', constants.errno.ENOENT, `map ${n}`, 'missing from the data path');
      return m as BpfMap;
    };
    this.vnis = new VniTable(plain(MapName.vni).typed(u32, vniInfoCodec));
    this.fdb = new FdbTable(plain(MapName.fdb).typed(fdbKeyCodec, fdbEntryCodec));
    this.peers = new PeerTable(plain(MapName.peer).typed(addrKeyCodec, peerValCodec));
    this.neighbors = new NeighborTable(plain(MapName.neigh).typed(addrKeyCodec, neighValCodec));
    this.endpoints = new EndpointTable(plain(MapName.ep).typed(u32, epInfoCodec));
    this.flood = new FloodTable(plain(MapName.bum).typed(u32, bumCodec));
    this.config = plain(MapName.config).typed(u32, configCodec);
    this.devs = plain(MapName.devs).typed(u32, u32);
    this.uplink = rawMaps.has(MapName.uplink) ? plain(MapName.uplink).typed(u32, u32) : undefined;
    this.bcast = plain(MapName.bcast).typed(u32, u32);
    this.gen = plain('xv_gen').typed(u32, u64n);
    this.learnRing = rawMaps.has(MapName.learnRing) ? plain(MapName.learnRing) : undefined;
    const st = rawMaps.get(MapName.stats);
    if (!(st instanceof PerCpuMap)) throw new BpfError('open', constants.errno.ENOENT, 'map xv_stats', 'missing from the data path');
    this.stats = st.typed(u32, statsCodec);
  }

  /** Loads the programs and creates fresh maps. */
  static async load(opts: LoadOptions = {}): Promise<Datapath> {
    const spec = ObjectSpec.open(opts.objectPath ?? defaultObjectPath, 'xvtep');
    const s = opts.sizes ?? {};
    const sizes: Array<[string, number | undefined]> = [
      [MapName.vni, s.vnis], [MapName.bum, s.vnis], [MapName.bcast, s.vnis], [MapName.stats, s.vnis === undefined ? undefined : s.vnis + 1],
      [MapName.ep, s.endpoints], [MapName.devs, s.endpoints],
      [MapName.fdb, s.fdb], [MapName.peer, s.peers], [MapName.neigh, s.neighbors],
    ];
    for (const [map, n] of sizes) if (n !== undefined) spec.setMaxEntries(map, n);
    spec.setConstant('xv_xdp_meta', u32, (await probeXdpMetadata()) ? 1 : 0);
    if (opts.programs) {
      const unknown = opts.programs.filter((n) => !spec.programs.some((p) => p.name === n));
      if (unknown.length) {
        spec.close();
        throw new BpfError('load', constants.errno.ENOENT, `program ${unknown.join(', ')}`, 'not in the object');
      }
      for (const p of spec.programs) spec.setAutoload(p.name, opts.programs.includes(p.name));
    }
    const coll = await spec.load();
    const maps = new Map<string, MapBase<unknown>>();
    for (const name of coll.mapNames) if (name.startsWith('xv_')) maps.set(name, coll.anyMap(name));
    return new Datapath(coll.programs, maps, coll, opts.objectPath);
  }

  /** The programs loaded or opened so far. */
  get programs(): ReadonlyMap<string, Program> {
    return this.#programs;
  }

  /**
   * Adopts the maps and programs pinned under pinDir by an earlier process:
   * no program is reloaded and no counter reset. Refuses a layout it does
   * not speak instead of reinterpreting its bytes.
   */
  static open(pinDir: string): Datapath {
    const mapDir = join(pinDir, 'maps'), progDir = join(pinDir, 'progs');
    if (!existsSync(mapDir)) throw new BpfError('open', constants.errno.ENOENT, pinDir, 'no pinned xvtep state here (attach first)');
    const maps = new Map<string, MapBase<unknown>>();
    for (const name of PINNED_MAPS) {
      const path = join(mapDir, name);
      if (ADDED_MAPS.has(name) && !pinExists(path)) continue;
      maps.set(name, openPinnedMap(path));
    }
    const programs = new Map<string, Program>();
    if (existsSync(progDir)) for (const name of readdirSync(progDir)) programs.set(name, Program.open(join(progDir, name)));
    const dp = new Datapath(programs, maps);
    dp.#pinDir = pinDir;
    const cfg = dp.config.get(0);
    if (cfg && cfg.layoutVersion !== 0 && cfg.layoutVersion !== LAYOUT_VERSION) {
      dp.close();
      throw new BpfError('open', constants.errno.EPROTO, pinDir,
        `pinned maps use layout version ${cfg.layoutVersion}, this xvtep speaks ${LAYOUT_VERSION}: ` +
        'run the xvtep that created them to detach, or remove the pins deliberately');
    }
    return dp;
  }

  /** Whether pinDir holds pinned xvtep state. */
  static isPinned(pinDir: string): boolean {
    return pinExists(join(pinDir, 'maps', MapName.config));
  }

  /**
   * Removes what pin() creates under pinDir (every xv_* pin in maps/ and
   * progs/, then those directories and pinDir once empty) and nothing else:
   * a pin directory given by mistake — a home directory, a bpffs root other
   * programs pin into — keeps what is not xvtep's. Links are Attachments'
   * to remove first. Returns the paths left in place.
   */
  static unpin(pinDir: string): string[] {
    const left: string[] = [];
    const rmdirIfEmpty = (dir: string) => {
      try {
        rmdirSync(dir);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST') left.push(...readdirSync(dir).map((n) => join(dir, n)));
        else if (code !== 'ENOENT') throw e;
      }
    };
    for (const sub of ['maps', 'progs']) {
      const dir = join(pinDir, sub);
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)) if (name.startsWith('xv_')) unlinkSync(join(dir, name));
    }
    for (const sub of ['maps', 'progs', 'links']) rmdirIfEmpty(join(pinDir, sub));
    if (left.length === 0) rmdirIfEmpty(pinDir);
    return left;
  }

  /**
   * Pins every control-plane map and every program under pinDir (a bpffs).
   * xv_config last: it is what isPinned() looks for, so a process killed
   * while pinning leaves a set that does not pass for an instance
   * (partialPins() finds it).
   */
  pin(pinDir: string): void {
    if (!existsSync(pinDir)) {
      const parent = dirname(pinDir);
      if (!isBpffs(parent)) assertBpffs(parent);
      mkdirSync(pinDir, { mode: 0o700 });
    }
    assertBpffs(pinDir);
    for (const sub of ['maps', 'progs', 'links']) mkdirSync(join(pinDir, sub), { recursive: true, mode: 0o700 });
    const pinMap = (name: string) => {
      const path = join(pinDir, 'maps', name);
      const m = this.rawMaps.get(name); // an ADDED_MAPS one may be missing on adopted pins
      if (m && !existsSync(path)) m.pin(path);
    };
    for (const name of PINNED_MAPS) if (name !== MapName.config) pinMap(name);
    for (const [name, p] of this.#programs) {
      const path = join(pinDir, 'progs', name);
      if (!existsSync(path)) p.pin(path);
    }
    pinMap(MapName.config);
    this.#pinDir = pinDir;
  }

  /** xvtep pins under pinDir without xv_config: what a process killed while pinning leaves. */
  static partialPins(pinDir: string): string[] {
    if (Datapath.isPinned(pinDir)) return [];
    return ['maps', 'progs'].flatMap((sub) => {
      const dir = join(pinDir, sub);
      return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith('xv_')).map((n) => join(dir, n)) : [];
    });
  }

  /**
   * A consumer of this host's learning events (xv_learn_ring); undefined on
   * pins of an xvtep that predates the ring (its programs write none: walk
   * the FDB instead). The caller closes it.
   */
  learnEvents(): LearnEvents | undefined {
    if (!this.learnRing) return undefined;
    return new LearnEvents(this.learnRing, () => this.config.get(0)?.learnRingDrops ?? 0);
  }

  /** Writes xv_config (with this layout's version) and invalidates caches. */
  configure(v: VtepSettings): void {
    const { family, bytes } = parseIP(v.localAddress);
    // attach state, not a setting: see setRxGro()
    const cur = this.config.get(0);
    const rxGroIfindex = cur?.rxGroIfindex ?? 0;
    // the data path's count, not a setting (increments racing this write are lost until the next sweep)
    const learnedTotal = cur?.learnedTotal ?? 0;
    const gso6Ifindex = cur?.gso6Ifindex ?? 0;
    const learnRingDrops = cur?.learnRingDrops ?? 0; // the data path's count too
    this.config.set(0, {
      layoutVersion: LAYOUT_VERSION,
      underlayIfindex: v.underlayIfindex,
      udpPort: v.port,
      underlayMtu: v.underlayMtu,
      srcPortMin: v.srcPortMin,
      srcPortMax: v.srcPortMax,
      ttl: v.ttl,
      tos: v.tos,
      tosInherit: v.tosInherit ? 1 : 0,
      dfPolicy: DfPolicy[v.df],
      udp6ZeroCsum: v.udp6ZeroChecksum ? 1 : 0,
      udp6ZeroCsumRx: v.udp6ZeroChecksumRx ? 1 : 0,
      epCsumComplete: v.epChecksumComplete ? 1 : 0,
      localIp4: family === 4 ? bytes : Buffer.alloc(4),
      fdbRefreshMs: v.fdbRefreshMs,
      localIp6: family === 6 ? bytes : Buffer.alloc(16),
      nhCacheMs: v.nhCacheMs,
      rxGroIfindex,
      learnMaxTotal: v.learnMaxTotal ?? 0,
      learnEvents: v.learnEvents ? 1 : 0,
      learnedTotal,
      gso6Ifindex,
      learnRingDrops,
    });
    this.bumpGeneration();
  }

  /** The settings in the kernel, or undefined before configure(). */
  settings(): VtepSettings | undefined {
    const c = this.config.get(0);
    if (!c || c.layoutVersion === 0) return undefined;
    const v4 = !c.localIp4.equals(Buffer.alloc(4));
    const df = (Object.keys(DfPolicy) as Array<keyof typeof DfPolicy>).find((k) => DfPolicy[k] === c.dfPolicy) ?? 'unset';
    return {
      underlayIfindex: c.underlayIfindex,
      port: c.udpPort,
      localAddress: v4 ? formatIPv4(c.localIp4) : formatIPv6(c.localIp6),
      underlayMtu: c.underlayMtu,
      srcPortMin: c.srcPortMin,
      srcPortMax: c.srcPortMax,
      ttl: c.ttl,
      tos: c.tos,
      tosInherit: c.tosInherit === 1,
      df,
      udp6ZeroChecksum: c.udp6ZeroCsum === 1,
      udp6ZeroChecksumRx: c.udp6ZeroCsumRx === 1,
      fdbRefreshMs: c.fdbRefreshMs,
      epChecksumComplete: c.epCsumComplete === 1,
      nhCacheMs: c.nhCacheMs,
      learnMaxTotal: c.learnMaxTotal,
      learnEvents: c.learnEvents === 1,
    };
  }

  /**
   * Writes a VNI and rewrites the copies of its slot and flags held by its
   * endpoints and peers, then invalidates cached decisions.
   */
  setVni(vni: number, s: VniSettings): void {
    this.vnis.set(vni, s);
    const info = vniInfoOf(s);
    for (const ep of this.endpoints.list()) if (ep.vni === vni) this.endpoints.set(ep.ifindex, vni, info);
    const peers = this.peers.list().filter((p) => p.vni === vni);
    if (peers.length) this.peers.addMany(peers, () => info);
    this.bumpGeneration();
  }

  /** Deletes a VNI with its peers (they would keep a stale copy of it). */
  deleteVni(vni: number): boolean {
    const peers = this.peers.list().filter((p) => p.vni === vni);
    if (peers.length) this.peers.deleteMany(peers);
    const had = this.vnis.delete(vni);
    this.bumpGeneration();
    return had;
  }

  /**
   * Deletes learned FDB entries not refreshed for longer than their VNI's
   * ageing time (seconds; 0 = never). Timestamps are CLOCK_MONOTONIC, which
   * is what process.hrtime reads. Returns what was removed.
   */
  ageLearned(ageingSeconds: (vni: number) => number, nowNs: bigint = process.hrtime.bigint()): FdbRecord[] {
    const kept = new Map<number, number>();
    const old = this.fdb.learnedOlderThan(ageingSeconds, Number(nowNs), kept);
    if (old.length) {
      this.fdb.deleteMany(old);
      this.bumpGeneration();
    }
    this.setLearnedCounts(kept);
    return old;
  }

  /**
   * Replaces the data path's learned counts (per VNI and total) with a count
   * from one FDB walk. The data path only counts up; entries leave through
   * the control plane (ageing, `fdb del`, VNI removal), so a recount after
   * each sweep is what keeps the caps honest. Learns that land between the
   * walk and this write are not counted until the next sweep: the caps can
   * be exceeded by what one VNI learns in that window, never for longer,
   * and the static reserve absorbs it. Never drifts: each sweep starts over.
   */
  setLearnedCounts(counts: ReadonlyMap<number, number>): void {
    const total = this.vnis.setLearned(counts);
    const cur = this.config.get(0);
    if (cur && cur.learnedTotal !== total) this.config.set(0, { ...cur, learnedTotal: total });
  }

  /** Recounts learned entries from a walk of the FDB (after deleting some outside a sweep). */
  recountLearned(): void {
    this.ageLearned(() => 0);
  }

  /**
   * A program of this data path: one loaded at the start, else the one
   * pinned since (another process loaded it), else loaded now into these
   * maps and pinned beside the others. Each program costs its verification
   * (0.05-0.4 s here): a start loads only what a config usually attaches.
   */
  program(name: string): Program {
    const p = this.#programs.get(name) ?? this.#pinnedProgram(name) ?? this.#loadProgram(name);
    this.#programs.set(name, p);
    return p;
  }

  /** A program's id without loading it: undefined when it was never loaded (so nothing runs it). */
  programId(name: string): number | undefined {
    const p = this.#programs.get(name) ?? this.#pinnedProgram(name);
    if (p) this.#programs.set(name, p);
    return p?.id;
  }

  #pinnedProgram(name: string): Program | undefined {
    if (!this.#pinDir) return undefined;
    const path = join(this.#pinDir, 'progs', name);
    if (!pinExists(path)) return undefined;
    const p = Program.open(path);
    this.#later.push(p);
    return p;
  }

  /**
   * Loads one program of the object into this data path: every map it
   * uses is one this data path already has (the pinned ones by name, the
   * unpinned per-CPU caches and .rodata by id, from the programs loaded
   * before), so it shares state with them exactly as if loaded with them.
   * Synchronous: attaching happens in the middle of an apply.
   */
  #loadProgram(name: string): Program {
    const spec = ObjectSpec.open(this.objectPath, 'xvtep');
    const opened: Array<MapBase<unknown>> = [];
    let coll: Collection | undefined;
    try {
      if (!spec.programs.some((p) => p.name === name)) throw new BpfError('find', constants.errno.ENOENT, `program ${name}`, 'not in this data path');
      for (const p of spec.programs) spec.setAutoload(p.name, p.name === name);
      spec.setConstant('xv_xdp_meta', u32, hasXdpAdjustMeta() ? 1 : 0); // only if .rodata is not found below
      const byName = new Map<string, MapBase<unknown>>();
      for (const id of new Set([...this.#programs.values()].flatMap((p) => p.mapIds()))) {
        const m = openMapById(id);
        opened.push(m);
        byName.set(m.info.name, m);
      }
      for (const m of spec.maps) {
        // kernel map names keep 15 characters
        const have = this.rawMaps.get(m.name) ?? byName.get(m.name.slice(0, 15));
        if (have) spec.reuseMap(m.name, have);
      }
      coll = spec.loadSync();
      const p = Program.fromId(coll.program(name).id);
      this.#later.push(p);
      if (!this.#pinDir) return p;
      const path = join(this.#pinDir, 'progs', name);
      try {
        p.pin(path);
        return p;
      } catch (e) {
        // another process loaded and pinned it first: that one is the data path's
        if (!(e instanceof BpfError) || e.errno !== constants.errno.EEXIST) throw e;
        return this.#pinnedProgram(name) ?? p;
      }
    } finally {
      coll?.close();
      spec.close();
      for (const m of opened) m.close();
    }
  }

  /**
   * Invalidates every cached forwarding decision. Call after any change that
   * can alter an existing decision (see xv_gen in xvtep_maps.h). A random
   * value, not +1: two writers bumping at once must never agree on "new".
   * Math.random (48 bits, seeded per process from the OS) is enough for that
   * and, unlike node:crypto, costs a CLI edit nothing to load.
   */
  bumpGeneration(): void {
    this.gen.set(0, Math.floor(Math.random() * 2 ** 48));
  }

  /**
   * Makes ifindex (resolved in the calling thread's netns, like every
   * devmap entry) the underlay device the XDP encap fast path redirects to
   * through xv_uplink, and drops any earlier one. The new entry goes in
   * first, so a flow cached for the old device keeps its entry until the
   * generation bump retires it. Returns false, changing nothing, on a data
   * path adopted from pins that have no xv_uplink.
   */
  setUplink(ifindex: number): boolean {
    const m = this.uplink;
    if (!m) return false;
    m.set(ifindex, ifindex);
    for (const [k] of m.lookupBatch()) if (k !== ifindex) m.delete(k);
    this.bumpGeneration();
    return true;
  }

  /**
   * Turns the receive path's GRO hand-off on for the underlay ifindex (0 =
   * off): its XDP program then passes unicast TCP up to the device's GRO,
   * and xv_tc_underlay, which must be on that device's tcx ingress first,
   * sends each aggregate to its endpoint (bpf/lib/gro.h). Kept across
   * configure().
   */
  setRxGro(ifindex: number): void {
    const cur = this.config.get(0);
    if (cur) this.config.set(0, { ...cur, rxGroIfindex: ifindex });
  }

  /**
   * The underlay's MTU (the ICMP too-big threshold) alone, for the daemon
   * to follow an MTU change at once instead of after a whole reload.
   */
  setUnderlayMtu(mtu: number): void {
    const cur = this.config.get(0);
    if (!cur || cur.layoutVersion === 0 || cur.underlayMtu === mtu) return;
    this.config.set(0, { ...cur, underlayMtu: mtu });
    this.bumpGeneration();
  }

  /**
   * The kernel vxlan device (external mode) that GSO frames to IPv6 peers
   * are handed to when the outer UDP checksum is on (0 = none: they leave
   * with a zero checksum). Kept across configure().
   */
  setGso6Device(ifindex: number): void {
    const cur = this.config.get(0);
    if (cur) this.config.set(0, { ...cur, gso6Ifindex: ifindex });
  }

  /** Replaces a VNI's set of local flood ports atomically (a new inner devmap, swapped in). */
  setFloodPorts(vni: number, ifindexes: readonly number[]): void {
    this.setFloodPortsMany([{ vni, ports: ifindexes }]);
  }

  /**
   * setFloodPorts for many VNIs, each swapped atomically as there. The swaps
   * go into xv_bcast in batches: the kernel waits for an RCU grace period
   * after every syscall that writes a map-in-map (so no program still sees
   * the old inner map), ~12 ms each here, once per batch instead of per VNI.
   * Nothing is written when a set is too large.
   */
  setFloodPortsMany(sets: ReadonlyArray<{ vni: number; ports: readonly number[] }>): void {
    const big = sets.find((s) => s.ports.length > BCAST_PORTS);
    if (big) throw new BpfError('flood ports', constants.errno.E2BIG, `VNI ${big.vni}`, `at most ${BCAST_PORTS} endpoints per VNI`);
    // a chunk's inner maps are open at once: bounded, whatever the number of VNIs
    for (let i = 0; i < sets.length; i += BCAST_CHUNK) {
      const chunk = sets.slice(i, i + BCAST_CHUNK);
      const inners: Array<BpfMap<number, number>> = [];
      try {
        for (const { ports } of chunk) {
          const inner = BpfMap.create({ type: MapType.DEVMAP_HASH, name: 'xv_bcast_in', keySize: 4, valueSize: 4, maxEntries: BCAST_PORTS }).typed(u32, u32);
          inners.push(inner);
          for (const p of ports) inner.set(p, p);
        }
        this.bcast.updateBatch(chunk.map((s, j) => [s.vni, inners[j]!.fd] as const));
      } finally {
        for (const m of inners) m.close(); // the outer map holds its own references
      }
    }
  }

  /** Each VNI's local flood ports, read through the inner devmaps (a user-space lookup yields their ids). */
  floodPorts(): Map<number, number[]> {
    const out = new Map<number, number[]>();
    for (const [vni, id] of this.bcast.lookupBatch()) {
      const inner = BpfMap.fromId(id).typed(u32, u32);
      try {
        out.set(vni, [...inner.keys()].sort((a, b) => a - b));
      } finally {
        inner.close();
      }
    }
    return out;
  }

  clearFloodPorts(vni: number): boolean {
    return this.bcast.delete(vni);
  }

  /** clearFloodPorts for many VNIs, one grace period per batch (see setFloodPortsMany); every VNI must have a set. */
  clearFloodPortsMany(vnis: readonly number[]): number {
    return vnis.length === 0 ? 0 : this.bcast.deleteBatch([...vnis]);
  }

  /** Counters of one xv_stats row, summed over CPUs. */
  readStats(slot: number): StatsValue {
    return sumPerCpu(this.stats.get(slot)!);
  }

  /** Every row, summed over CPUs, in one batch walk. */
  readAllStats(): Map<number, StatsValue> {
    return new Map(this.stats.lookupBatch().map(([slot, perCpu]) => [slot, sumPerCpu(perCpu)]));
  }

  /** Zeroes a row on every CPU: before a slot is given to a new VNI. */
  zeroStats(slot: number): void {
    if (slot === GLOBAL_STATS_SLOT) throw new RangeError('slot 0 holds the global counters');
    this.stats.set(slot, zeroStats());
  }

  /**
   * Static and learned FDB entries, counted in the kernel. The counting
   * program is loaded on first use and kept until close().
   */
  async fdbCounts(): Promise<FdbCounts> {
    if (!this.#counter) {
      const loading = FdbCounter.load(this.rawMaps.get(MapName.fdb)!);
      this.#counter = loading;
      // A failed load is tried again by the next call, not remembered.
      loading.catch(() => {
        if (this.#counter === loading) this.#counter = undefined;
      });
    }
    return (await this.#counter).count();
  }

  close(): void {
    this.#counter?.then((c) => c.close(), () => {});
    this.#counter = undefined;
    const later = new Set(this.#later.splice(0));
    for (const p of later) p.close();
    if (this.collection) this.collection.close();
    else {
      for (const p of this.#programs.values()) if (!later.has(p)) p.close();
      for (const m of this.rawMaps.values()) m.close();
    }
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

export function zeroStats(): StatsValue {
  return { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, drop: new Array(16).fill(0), event: new Array(16).fill(0) };
}
