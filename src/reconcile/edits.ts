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
import { manageNeighbours, type Datapath, type FdbDest } from '../datapath/index.js';
import { checkFloodList, SlotAllocator } from './desired.js';
import { system, usage } from './errors.js';
import { converge } from './manager.js';
import { ZERO_MAC, addrKey, type FdbRecord, type Tables } from './model.js';
import { readLive } from './store.js';
import type { Diff } from './diff.js';

function clone(t: Tables): Tables {
  return {
    settings: t.settings, vnis: new Map(t.vnis), endpoints: new Map(t.endpoints), devs: new Set(t.devs), peers: new Map(t.peers),
    neighbors: new Map(t.neighbors), fdb: new Map(t.fdb), flood: new Map([...t.flood].map(([k, f]) => [k, { ...f, remotes: [...f.remotes], locals: [...f.locals] }])),
    floodPorts: new Map([...t.floodPorts].map(([k, p]) => [k, [...p]])), staleCopies: new Set(t.staleCopies), endpointXdp: new Map(t.endpointXdp),
  };
}

function requireVni(dp: Datapath, vni: number): void {
  if (!dp.vnis.get(vni)) throw usage(`VNI ${vni} is not configured (xvtep vni add ${vni} ...)`);
}

function checkRemoteFamily(dp: Datapath, remote: string): void {
  const local = dp.settings()?.localAddress;
  if (local && parseIP(local).family !== parseIP(remote).family) {
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
export function fdbSet(dp: Datapath, vni: number, mac: string, dest: FdbDest, mode: FdbMode): void {
  requireVni(dp, vni);
  if (mac === ZERO_MAC) throw usage(`${ZERO_MAC} is the flood entry: use \`xvtep fdb append ${ZERO_MAC} vni ${vni} dst IP\``);
  if (dest.kind === 'remote') checkRemoteFamily(dp, dest.remote);
  else if (dp.endpoints.get(dest.ifindex) !== vni) {
    const owner = dp.endpoints.get(dest.ifindex);
    throw usage(`dev ${ifaceText(dest.ifindex)}: not an endpoint of VNI ${vni}${owner === undefined ? '' : ` (it belongs to VNI ${owner})`}`);
  }
  const rec: FdbRecord = { vni, mac, dest, static: true, updatedNs: 0 };
  const before = dp.fdb.get(vni, mac);
  if (mode === 'add' && before) {
    throw system(`fdb ${mac} vni ${vni}: EEXIST (already exists${before.static ? '' : ', learned'}): use \`xvtep fdb replace\``);
  }
  dp.fdb.set(rec, mode === 'add' ? UpdateFlag.NOEXIST : UpdateFlag.ANY);
  // A rewrite can change a decision the data path has cached; a new key cannot.
  if (before) dp.bumpGeneration();
}

/** `fdb append 00:00:00:00:00:00 vni N dst IP`: one more flood destination; returns notes for the operator. */
export function fdbAppend(dp: Datapath, vni: number, mac: string, remote: string): string[] {
  requireVni(dp, vni);
  if (mac !== ZERO_MAC) throw usage(`append adds flood destinations (MAC ${ZERO_MAC}); an FDB entry has one destination: use add or replace`);
  checkRemoteFamily(dp, remote);
  const f = dp.flood.get(vni) ?? { vni, remotes: [], locals: [] };
  if (f.remotes.includes(remote)) throw system(`fdb ${ZERO_MAC} vni ${vni} dst ${remote}: EEXIST (already a flood destination)`);
  const next = { ...f, remotes: [...f.remotes, remote] };
  checkFloodList(vni, next.remotes, next.locals, 'append');
  const notes = dp.settings() ? manageNeighbours([remote]).notes : [];
  dp.flood.set(next);
  return notes;
}

/** `fdb del MAC vni N [dst IP]`. */
export function fdbDel(dp: Datapath, vni: number, mac: string, remote?: string): void {
  if (mac === ZERO_MAC) {
    if (!remote) throw usage(`fdb del ${ZERO_MAC} needs dst IP (which flood destination)`);
    if (dp.peers.has(vni, remote)) throw usage(`${remote} is a peer of VNI ${vni}: remove it with \`xvtep peer del ${remote} vni ${vni}\``);
    const f = dp.flood.get(vni);
    if (!f || !f.remotes.includes(remote)) throw system(`fdb ${ZERO_MAC} vni ${vni} dst ${remote}: ENOENT (no such flood destination)`);
    dp.flood.set({ ...f, remotes: f.remotes.filter((r) => r !== remote) });
    return;
  }
  const r = dp.fdb.get(vni, mac);
  if (!r || (remote && (r.dest.kind !== 'remote' || r.dest.remote !== remote))) {
    throw system(`fdb ${mac} vni ${vni}${remote ? ` dst ${remote}` : ''}: ENOENT (no such entry)`);
  }
  dp.fdb.delete(vni, mac);
  dp.bumpGeneration();
}

export type FlushWhich = 'dynamic' | 'static' | 'all';

export function fdbFlush(dp: Datapath, which: FlushWhich, vni?: number): number {
  const doomed = dp.fdb.list().filter((r) => (vni === undefined || r.vni === vni) &&
    (which === 'all' || (which === 'static') === r.static));
  if (doomed.length) {
    dp.fdb.deleteMany(doomed);
    dp.bumpGeneration();
  }
  return doomed.length;
}

export interface VniAdd {
  vni: number;
  /** Endpoint interfaces: name → ifindex (resolved by the caller in its netns). */
  endpoints: Map<string, number>;
  learning: boolean;
  allowUnknownPeers: boolean;
  proxy: boolean;
}

export function vniAdd(dp: Datapath, pinDir: string, a: VniAdd, notes?: string[], assumePeerNapi?: boolean): Diff {
  const live = readLive(dp);
  if (live.vnis.has(a.vni)) throw system(`vni ${a.vni}: EEXIST (already configured; xvtep vni del first)`);
  for (const [name, ifindex] of a.endpoints) {
    const other = live.endpoints.get(ifindex);
    if (other) throw usage(`endpoint ${name} already belongs to VNI ${other.vni}`);
    if (ifindex === live.settings?.underlayIfindex) throw usage(`endpoint ${name} is the underlay interface`);
  }
  const t = clone(live);
  const statsSlot = new SlotAllocator(live, dp.stats.info.maxEntries).allocate(a.vni);
  t.vnis.set(a.vni, { learning: a.learning, allowUnknownPeers: a.allowUnknownPeers, proxyArp: a.proxy, proxyNd: a.proxy, statsSlot });
  const locals = [...a.endpoints.values()];
  for (const ifindex of locals) {
    t.endpoints.set(ifindex, { ifindex, vni: a.vni });
    t.devs.add(ifindex);
  }
  checkFloodList(a.vni, [], locals, 'endpoint');
  t.flood.set(a.vni, { vni: a.vni, remotes: [], locals });
  t.floodPorts.set(a.vni, [...locals].sort((x, y) => x - y));
  return converge(dp, pinDir, t, live, { notes, assumePeerNapi });
}

export function vniDel(dp: Datapath, pinDir: string, vni: number): Diff {
  const live = readLive(dp);
  if (!live.vnis.has(vni)) throw system(`vni ${vni}: ENOENT (not configured)`);
  const t = clone(live);
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
  return converge(dp, pinDir, t, live);
}

export function peerAdd(dp: Datapath, pinDir: string, vni: number, address: string): Diff {
  const live = readLive(dp);
  if (!live.vnis.has(vni)) throw usage(`VNI ${vni} is not configured (xvtep vni add ${vni} ...)`);
  checkRemoteFamily(dp, address);
  if (live.peers.has(addrKey(vni, address))) throw system(`peer ${address} vni ${vni}: EEXIST (already a peer)`);
  const t = clone(live);
  t.peers.set(addrKey(vni, address), { vni, address });
  const f = t.flood.get(vni) ?? { vni, remotes: [], locals: [] };
  if (!f.remotes.includes(address)) f.remotes.push(address);
  checkFloodList(vni, f.remotes, f.locals, 'peer');
  t.flood.set(vni, f);
  return converge(dp, pinDir, t, live);
}

export function peerDel(dp: Datapath, pinDir: string, vni: number, address: string): Diff {
  const live = readLive(dp);
  if (!live.peers.has(addrKey(vni, address))) throw system(`peer ${address} vni ${vni}: ENOENT (not a peer)`);
  const t = clone(live);
  t.peers.delete(addrKey(vni, address));
  const f = t.flood.get(vni);
  if (f) f.remotes = f.remotes.filter((r) => r !== address);
  return converge(dp, pinDir, t, live);
}

export function neighSet(dp: Datapath, vni: number, ip: string, mac: string, mode: 'add' | 'replace'): void {
  requireVni(dp, vni);
  const before = dp.neighbors.get(vni, ip);
  if (mode === 'add' && before) throw system(`neigh ${ip} vni ${vni}: EEXIST (already answers with ${before}): use replace`);
  dp.neighbors.set({ vni, ip, mac });
}

export function neighDel(dp: Datapath, vni: number, ip: string): void {
  if (!dp.neighbors.delete(vni, ip)) throw system(`neigh ${ip} vni ${vni}: ENOENT (no such entry)`);
}

