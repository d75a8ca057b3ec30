// Live edits from the CLI (`xvtep fdb|vni|peer|neigh ...`), worded like
// `bridge fdb` / `ip neigh`. Single FDB and neighbor entries are one map
// write (visible to the data path when the syscall returns); edits that
// touch several maps (VNIs, peers) go through the same diff + make-before-
// break apply as a config reload, on a copy of the live state.
//
// A config reload makes the maps equal to the file again: static entries,
// VNIs, peers and flood destinations added here and not in the file are
// removed by the next reload (`xvtep config diff` shows them first).
import { UpdateFlag, ifnameOf, parseIP } from '../bpf/index.js';
import { defaultMaxLearned } from '../config/index.js';
import { manageNeighbours, type Datapath, type FdbDest } from '../datapath/index.js';
import { checkFloodList, SlotAllocator } from './desired.js';
import { system, usage } from './errors.js';
import { converge } from './manager.js';
import { ZERO_MAC, addrKey, fdbKey, type FdbRecord, type FloodList, type NeighborRecord, type Settings, type Tables, type VniSettings } from './model.js';
import { readLive } from './store.js';
import type { Diff } from './diff.js';

/** A copy of t that edits can change without touching t. */
export function cloneTables(t: Tables): Tables {
  return {
    settings: t.settings, vnis: new Map(t.vnis), endpoints: new Map(t.endpoints), devs: new Set(t.devs), peers: new Map(t.peers),
    neighbors: new Map(t.neighbors), fdb: new Map(t.fdb), flood: new Map([...t.flood].map(([k, f]) => [k, { ...f, remotes: [...f.remotes], locals: [...f.locals] }])),
    floodPorts: new Map([...t.floodPorts].map(([k, p]) => [k, [...p]])), staleCopies: new Set(t.staleCopies), endpointXdp: new Map(t.endpointXdp),
  };
}

/**
 * What a single edit reads and writes: the live maps (each write one
 * syscall, visible when it returns) or a staged copy of them (a batch, which
 * is applied whole by converge at the end). One set of checks serves both.
 */
export interface EditState {
  vni(vni: number): VniSettings | undefined;
  settings(): Settings | undefined;
  endpointVni(ifindex: number): number | undefined;
  fdbGet(vni: number, mac: string): FdbRecord | undefined;
  fdbSet(r: FdbRecord, mode: FdbMode): void;
  fdbDelete(vni: number, mac: string): void;
  fdbList(): FdbRecord[];
  fdbDeleteMany(rs: readonly FdbRecord[]): void;
  floodGet(vni: number): FloodList | undefined;
  floodSet(f: FloodList): void;
  peerHas(vni: number, address: string): boolean;
  neighGet(vni: number, ip: string): string | undefined;
  neighSet(n: NeighborRecord): void;
  neighDelete(vni: number, ip: string): boolean;
  /** Cached forwarding decisions may be stale (a staged copy bumps once, when applied). */
  bump(): void;
}

export function liveEdits(dp: Datapath): EditState {
  return {
    vni: (v) => dp.vnis.get(v),
    settings: () => dp.settings(),
    endpointVni: (i) => dp.endpoints.get(i),
    fdbGet: (v, m) => dp.fdb.get(v, m),
    fdbSet: (r, mode) => dp.fdb.set(r, mode === 'add' ? UpdateFlag.NOEXIST : UpdateFlag.ANY),
    fdbDelete: (v, m) => void dp.fdb.delete(v, m),
    fdbList: () => dp.fdb.list(),
    fdbDeleteMany: (rs) => void dp.fdb.deleteMany(rs),
    floodGet: (v) => dp.flood.get(v),
    floodSet: (f) => dp.flood.set(f),
    peerHas: (v, a) => dp.peers.has(v, a),
    neighGet: (v, ip) => dp.neighbors.get(v, ip),
    neighSet: (n) => dp.neighbors.set(n),
    neighDelete: (v, ip) => dp.neighbors.delete(v, ip),
    bump: () => dp.bumpGeneration(),
  };
}

/** Edits of a staged copy (`xvtep -batch`): t changes only when an edit's checks pass. */
export function stagedEdits(t: Tables): EditState {
  return {
    vni: (v) => t.vnis.get(v),
    settings: () => t.settings,
    endpointVni: (i) => t.endpoints.get(i)?.vni,
    fdbGet: (v, m) => t.fdb.get(fdbKey(v, m)),
    fdbSet: (r) => void t.fdb.set(fdbKey(r.vni, r.mac), r),
    fdbDelete: (v, m) => void t.fdb.delete(fdbKey(v, m)),
    fdbList: () => [...t.fdb.values()],
    fdbDeleteMany: (rs) => {
      for (const r of rs) t.fdb.delete(fdbKey(r.vni, r.mac));
    },
    floodGet: (v) => t.flood.get(v),
    floodSet: (f) => void t.flood.set(f.vni, f),
    peerHas: (v, a) => t.peers.has(addrKey(v, a)),
    neighGet: (v, ip) => t.neighbors.get(addrKey(v, ip))?.mac,
    neighSet: (n) => void t.neighbors.set(addrKey(n.vni, n.ip), n),
    neighDelete: (v, ip) => t.neighbors.delete(addrKey(v, ip)),
    bump: () => {},
  };
}

const isLive = (x: Datapath | EditState): x is Datapath => 'fdb' in x;
const asState = (x: Datapath | EditState): EditState => (isLive(x) ? liveEdits(x) : x);

function requireVni(s: EditState, vni: number): void {
  if (!s.vni(vni)) throw usage(`VNI ${vni} is not configured (xvtep vni add ${vni} ...)`);
}

function checkRemoteFamily(s: EditState, remote: string): void {
  const local = s.settings()?.localAddress;
  if (local && local.includes(':') !== remote.includes(':')) {
    throw usage(`dst ${remote}: the underlay is IPv${parseIP(local).family} (local address ${local})`);
  }
}

function ifaceText(ifindex: number): string {
  try {
    return ifnameOf(ifindex);
  } catch {
    return `ifindex ${ifindex}`;
  }
}

export type FdbMode = 'add' | 'replace';

/** `fdb add|replace MAC vni N dst IP|dev IFINDEX`: one map write. */
export function fdbSet(dp: Datapath | EditState, vni: number, mac: string, dest: FdbDest, mode: FdbMode): void {
  const s = asState(dp);
  requireVni(s, vni);
  if (mac === ZERO_MAC) throw usage(`${ZERO_MAC} is the flood entry: use \`xvtep fdb append ${ZERO_MAC} vni ${vni} dst IP\``);
  if (dest.kind === 'remote') checkRemoteFamily(s, dest.remote);
  else if (s.endpointVni(dest.ifindex) !== vni) {
    const owner = s.endpointVni(dest.ifindex);
    throw usage(`dev ${ifaceText(dest.ifindex)}: not an endpoint of VNI ${vni}${owner === undefined ? '' : ` (it belongs to VNI ${owner})`}`);
  }
  const rec: FdbRecord = { vni, mac, dest, static: true, updatedNs: 0 };
  const before = s.fdbGet(vni, mac);
  if (mode === 'add' && before) {
    throw system(`fdb ${mac} vni ${vni}: EEXIST (already exists${before.static ? '' : ', learned'}): use \`xvtep fdb replace\``);
  }
  s.fdbSet(rec, mode);
  // A rewrite can change a decision the data path has cached; a new key cannot.
  if (before) s.bump();
  // a learned entry made static leaves the learned count (live maps; a staged batch recounts at the next sweep)
  if (before && !before.static && isLive(dp)) dp.recountLearned();
}

/**
 * `fdb append 00:00:00:00:00:00 vni N dst IP`: one more flood destination;
 * returns notes for the operator (on the live maps: a staged copy gets its
 * next hops managed when it is applied).
 */
export function fdbAppend(dp: Datapath | EditState, vni: number, mac: string, remote: string): string[] {
  const s = asState(dp);
  requireVni(s, vni);
  if (mac !== ZERO_MAC) throw usage(`append adds flood destinations (MAC ${ZERO_MAC}); an FDB entry has one destination: use add or replace`);
  checkRemoteFamily(s, remote);
  const f = s.floodGet(vni) ?? { vni, remotes: [], locals: [] };
  if (f.remotes.includes(remote)) throw system(`fdb ${ZERO_MAC} vni ${vni} dst ${remote}: EEXIST (already a flood destination)`);
  const next = { ...f, remotes: [...f.remotes, remote] };
  checkFloodList(vni, next.remotes, next.locals, 'append');
  const notes = isLive(dp) && s.settings() ? manageNeighbours([remote]).notes : [];
  s.floodSet(next);
  return notes;
}

/** `fdb del MAC vni N [dst IP]`. */
export function fdbDel(dp: Datapath | EditState, vni: number, mac: string, remote?: string): void {
  const s = asState(dp);
  if (mac === ZERO_MAC) {
    if (!remote) throw usage(`fdb del ${ZERO_MAC} needs dst IP (which flood destination)`);
    if (s.peerHas(vni, remote)) throw usage(`${remote} is a peer of VNI ${vni}: remove it with \`xvtep peer del ${remote} vni ${vni}\``);
    const f = s.floodGet(vni);
    if (!f || !f.remotes.includes(remote)) throw system(`fdb ${ZERO_MAC} vni ${vni} dst ${remote}: ENOENT (no such flood destination)`);
    s.floodSet({ ...f, remotes: f.remotes.filter((r) => r !== remote) });
    return;
  }
  const r = s.fdbGet(vni, mac);
  if (!r || (remote && (r.dest.kind !== 'remote' || r.dest.remote !== remote))) {
    throw system(`fdb ${mac} vni ${vni}${remote ? ` dst ${remote}` : ''}: ENOENT (no such entry)`);
  }
  s.fdbDelete(vni, mac);
  s.bump();
  if (!r.static && isLive(dp)) dp.recountLearned();
}

export type FlushWhich = 'dynamic' | 'static' | 'all';

export function fdbFlush(dp: Datapath | EditState, which: FlushWhich, vni?: number): number {
  const s = asState(dp);
  const doomed = s.fdbList().filter((r) => (vni === undefined || r.vni === vni) &&
    (which === 'all' || (which === 'static') === r.static));
  if (doomed.length) {
    s.fdbDeleteMany(doomed);
    s.bump();
  }
  if (doomed.some((r) => !r.static) && isLive(dp)) dp.recountLearned();
  return doomed.length;
}

export interface VniAdd {
  vni: number;
  /** Endpoint interfaces: name → ifindex (resolved by the caller in its netns). */
  endpoints: Map<string, number>;
  learning: boolean;
  allowUnknownPeers: boolean;
  proxy: boolean;
  /** Learned entries this VNI may hold (0: no per-VNI cap); default capacity.fdb / 16, as a file's VNI without maxLearned. */
  maxLearned?: number;
}

/**
 * Adds a VNI to t (a copy of the live tables, or a batch's staged copy).
 * maxSlots: rows of the loaded xv_stats; fdbCapacity: max_entries of the
 * loaded FDB, which the default per-VNI learn cap is a share of.
 */
export function stageVniAdd(t: Tables, a: VniAdd, maxSlots: number, fdbCapacity: number): void {
  if (t.vnis.has(a.vni)) throw system(`vni ${a.vni}: EEXIST (already configured; xvtep vni del first)`);
  for (const [name, ifindex] of a.endpoints) {
    const other = t.endpoints.get(ifindex);
    if (other) throw usage(`endpoint ${name} already belongs to VNI ${other.vni}`);
    if (ifindex === t.settings?.underlayIfindex) throw usage(`endpoint ${name} is the underlay interface`);
  }
  const locals = [...a.endpoints.values()];
  checkFloodList(a.vni, [], locals, 'endpoint');
  const statsSlot = new SlotAllocator(t, maxSlots).allocate(a.vni);
  // The cap a VNI of the file gets: without it, one VNI added live could learn the whole total cap.
  const maxLearned = a.maxLearned ?? defaultMaxLearned(fdbCapacity);
  t.vnis.set(a.vni, { learning: a.learning, allowUnknownPeers: a.allowUnknownPeers, proxyArp: a.proxy, proxyNd: a.proxy, statsSlot, maxLearned });
  for (const ifindex of locals) {
    t.endpoints.set(ifindex, { ifindex, vni: a.vni });
    t.devs.add(ifindex);
  }
  t.flood.set(a.vni, { vni: a.vni, remotes: [], locals });
  t.floodPorts.set(a.vni, [...locals].sort((x, y) => x - y));
}

export function vniAdd(dp: Datapath, pinDir: string, a: VniAdd, notes?: string[], assumePeerNapi?: boolean): Diff {
  const live = readLive(dp);
  const t = cloneTables(live);
  stageVniAdd(t, a, dp.stats.info.maxEntries, dp.fdb.map.info.maxEntries);
  return converge(dp, pinDir, t, live, { notes, assumePeerNapi });
}

export function stageVniDel(t: Tables, vni: number): void {
  if (!t.vnis.has(vni)) throw system(`vni ${vni}: ENOENT (not configured)`);
  t.vnis.delete(vni);
  for (const [k, e] of t.endpoints) {
    if (e.vni !== vni) continue;
    t.endpoints.delete(k);
    t.devs.delete(k);
  }
  for (const m of [t.peers, t.neighbors, t.fdb] as Array<Map<string, { vni: number }>>) {
    for (const [k, v] of m) if (v.vni === vni) m.delete(k);
  }
  t.flood.delete(vni);
  t.floodPorts.delete(vni);
}

export function vniDel(dp: Datapath, pinDir: string, vni: number): Diff {
  const live = readLive(dp);
  const t = cloneTables(live);
  stageVniDel(t, vni);
  return converge(dp, pinDir, t, live);
}

export function stagePeerAdd(t: Tables, vni: number, address: string): void {
  if (!t.vnis.has(vni)) throw usage(`VNI ${vni} is not configured (xvtep vni add ${vni} ...)`);
  checkRemoteFamily(stagedEdits(t), address);
  if (t.peers.has(addrKey(vni, address))) throw system(`peer ${address} vni ${vni}: EEXIST (already a peer)`);
  const f = t.flood.get(vni) ?? { vni, remotes: [], locals: [] };
  const next = { ...f, remotes: f.remotes.includes(address) ? f.remotes : [...f.remotes, address] };
  checkFloodList(vni, next.remotes, next.locals, 'peer');
  t.peers.set(addrKey(vni, address), { vni, address });
  t.flood.set(vni, next);
}

export function peerAdd(dp: Datapath, pinDir: string, vni: number, address: string): Diff {
  const live = readLive(dp);
  const t = cloneTables(live);
  stagePeerAdd(t, vni, address);
  return converge(dp, pinDir, t, live);
}

export function stagePeerDel(t: Tables, vni: number, address: string): void {
  if (!t.peers.has(addrKey(vni, address))) throw system(`peer ${address} vni ${vni}: ENOENT (not a peer)`);
  t.peers.delete(addrKey(vni, address));
  const f = t.flood.get(vni);
  if (f) t.flood.set(vni, { ...f, remotes: f.remotes.filter((r) => r !== address) });
}

export function peerDel(dp: Datapath, pinDir: string, vni: number, address: string): Diff {
  const live = readLive(dp);
  const t = cloneTables(live);
  stagePeerDel(t, vni, address);
  return converge(dp, pinDir, t, live);
}

export function neighSet(dp: Datapath | EditState, vni: number, ip: string, mac: string, mode: 'add' | 'replace'): void {
  const s = asState(dp);
  requireVni(s, vni);
  const before = s.neighGet(vni, ip);
  if (mode === 'add' && before) throw system(`neigh ${ip} vni ${vni}: EEXIST (already answers with ${before}): use replace`);
  s.neighSet({ vni, ip, mac });
}

export function neighDel(dp: Datapath | EditState, vni: number, ip: string): void {
  if (!asState(dp).neighDelete(vni, ip)) throw system(`neigh ${ip} vni ${vni}: ENOENT (no such entry)`);
}
