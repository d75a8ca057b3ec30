// The one place that knows how the datapath tables are called: reading every
// control-plane map back from the kernel into `Tables`, and the batch writes
// apply.ts needs. When the datapath API moves, only this file follows.
import { BpfError } from '../bpf/index.js';
import { type Datapath, vniInfoOf } from '../datapath/index.js';
import { addrKey, emptyTables, fdbKey, type EndpointEntry, type FdbRecord, type FloodList, type NeighborRecord, type PeerRecord, type Settings, type Tables, type VniSettings } from './model.js';

/** Reads every control-plane map (batch walks, nothing cached). */
export function readLive(dp: Datapath): Tables {
  const t = emptyTables();
  t.settings = dp.settings();
  t.vnis = dp.vnis.list();
  const stale = (vni: number, copy: { statsSlot: number; flags: number }) => {
    const s = t.vnis.get(vni);
    const want = s && vniInfoOf(s);
    if (!want || want.statsSlot !== copy.statsSlot || want.flags !== copy.flags) t.staleCopies.add(vni);
  };
  for (const e of dp.endpoints.listWithCopies()) {
    t.endpoints.set(e.ifindex, { ifindex: e.ifindex, vni: e.vni });
    stale(e.vni, e.copy);
  }
  for (const [k] of dp.devs.lookupBatch()) t.devs.add(k);
  for (const p of dp.peers.listWithCopies()) {
    t.peers.set(addrKey(p.vni, p.address), { vni: p.vni, address: p.address });
    stale(p.vni, p.copy);
  }
  for (const n of dp.neighbors.list()) t.neighbors.set(addrKey(n.vni, n.ip), n);
  for (const r of dp.fdb.list()) t.fdb.set(fdbKey(r.vni, r.mac), r);
  for (const f of dp.flood.list()) t.flood.set(f.vni, f);
  t.floodPorts = dp.floodPorts();
  return t;
}

export interface Store {
  configure(s: Settings): void;
  setVnis(v: ReadonlyArray<readonly [number, VniSettings]>): void;
  deleteVnis(v: readonly number[]): void;
  zeroStats(slot: number): void;
  setEndpoints(e: readonly EndpointEntry[], vnis: (vni: number) => VniSettings | undefined): void;
  deleteEndpoints(ifindexes: readonly number[]): void;
  addDevs(ifindexes: readonly number[]): void;
  deleteDevs(ifindexes: readonly number[]): void;
  setPeers(p: readonly PeerRecord[], vnis: (vni: number) => VniSettings | undefined): void;
  deletePeers(p: readonly PeerRecord[]): void;
  setNeighbors(n: readonly NeighborRecord[]): void;
  deleteNeighbors(n: readonly NeighborRecord[]): void;
  setFdb(r: readonly FdbRecord[]): void;
  deleteFdb(r: ReadonlyArray<{ vni: number; mac: string }>): void;
  setFlood(f: FloodList): void;
  deleteFlood(vni: number): void;
  setFloodPorts(p: ReadonlyArray<{ vni: number; ports: readonly number[] }>): void;
  deleteFloodPorts(vnis: readonly number[]): void;
  bumpGeneration(): void;
}

export function storeOf(dp: Datapath): Store {
  // xv_ep and xv_peer values carry a copy of their VNI's slot and flags:
  // the VNI as being written if it changes in this apply, else as live.
  const infoOf = (vni: number, pending: (vni: number) => VniSettings | undefined) => {
    const s = pending(vni) ?? dp.vnis.get(vni);
    if (!s) throw new Error(`VNI ${vni} is not in xv_vni`);
    return vniInfoOf(s);
  };
  return {
    configure: (s) => dp.configure(s),
    setVnis: (v) => {
      for (const [vni, s] of v) dp.vnis.set(vni, s);
    },
    deleteVnis: (v) => {
      for (const vni of v) dp.vnis.delete(vni);
    },
    zeroStats: (slot) => dp.zeroStats(slot),
    setEndpoints: (e, vnis) => {
      for (const x of e) dp.endpoints.set(x.ifindex, x.vni, infoOf(x.vni, vnis));
    },
    deleteEndpoints: (i) => {
      for (const x of i) dp.endpoints.delete(x);
    },
    addDevs: (i) => {
      for (const x of i) dp.devs.set(x, x);
    },
    deleteDevs: (i) => {
      for (const x of i) dp.devs.delete(x);
    },
    setPeers: (p, vnis) => {
      if (p.length) dp.peers.addMany(p, (vni) => infoOf(vni, vnis));
    },
    deletePeers: (p) => lenient(p, (xs) => dp.peers.deleteMany(xs), (x) => dp.peers.delete(x.vni, x.address)),
    setNeighbors: (n) => {
      if (n.length) dp.neighbors.setMany(n);
    },
    deleteNeighbors: (n) => lenient(n, (xs) => dp.neighbors.deleteMany(xs), (x) => dp.neighbors.delete(x.vni, x.ip)),
    setFdb: (r) => {
      if (r.length) dp.fdb.setMany(r);
    },
    deleteFdb: (r) => lenient(r, (xs) => dp.fdb.deleteMany(xs), (x) => dp.fdb.delete(x.vni, x.mac)),
    setFlood: (f) => dp.flood.set(f),
    deleteFlood: (vni) => void dp.flood.delete(vni),
    setFloodPorts: (p) => dp.setFloodPortsMany(p),
    deleteFloodPorts: (v) => lenient(v, (xs) => dp.clearFloodPortsMany(xs), (x) => dp.clearFloodPorts(x)),
    bumpGeneration: () => dp.bumpGeneration(),
  };
}

/**
 * Deleting what is already gone is not an error for the manager (rollbacks
 * and concurrent ageing race with it), but the kernel's batch delete stops
 * at the first missing key: finish one by one.
 */
function lenient<T>(xs: readonly T[], batch: (xs: T[]) => number, one: (x: T) => boolean): void {
  if (xs.length === 0) return;
  try {
    batch([...xs]);
  } catch (e) {
    if (!(e instanceof BpfError) || e.code !== 'ENOENT') throw e;
    for (const x of xs) one(x);
  }
}
