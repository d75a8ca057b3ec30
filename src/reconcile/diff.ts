// Desired vs live: what to add, rewrite and remove in each map. Learned FDB
// entries are the data path's, not the file's: a diff never removes one
// unless its VNI goes away, its endpoint does, or a static entry takes its key.
import type { EndpointEntry, FdbRecord, FloodList, NeighborRecord, PeerRecord, Settings, Tables, VniSettings } from './model.js';

export interface Change<V> {
  add: V[];
  change: Array<{ from: V; to: V }>;
  remove: V[];
}

export interface VniEntry { vni: number; settings: VniSettings }
export interface PortsEntry { vni: number; ports: number[] }

export interface Diff {
  settings: { from: Settings | undefined; to: Settings } | undefined;
  vnis: Change<VniEntry>;
  endpoints: Change<EndpointEntry>;
  devs: { add: number[]; remove: number[] };
  peers: Change<PeerRecord>;
  neighbors: Change<NeighborRecord>;
  fdb: Change<FdbRecord>;
  flood: Change<FloodList>;
  floodPorts: Change<PortsEntry>;
  /** Stats rows handed to a VNI that did not own them: zeroed before use. */
  newSlots: number[];
}

function change<K, V>(desired: Map<K, V>, live: Map<K, V>, equal: (a: V, b: V) => boolean, keepLive?: (v: V) => boolean): Change<V> {
  const c: Change<V> = { add: [], change: [], remove: [] };
  for (const [k, to] of desired) {
    const from = live.get(k);
    if (from === undefined) c.add.push(to);
    else if (!equal(from, to)) c.change.push({ from, to });
  }
  for (const [k, from] of live) if (!desired.has(k) && !keepLive?.(from)) c.remove.push(from);
  return c;
}

const sameList = (a: readonly (string | number)[], b: readonly (string | number)[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

export const sameVni = (a: VniSettings, b: VniSettings): boolean =>
  a.statsSlot === b.statsSlot && a.learning === b.learning && a.allowUnknownPeers === b.allowUnknownPeers &&
  a.proxyArp === b.proxyArp && a.proxyNd === b.proxyNd && (a.maxLearned ?? 0) === (b.maxLearned ?? 0);

export const sameFdb = (a: FdbRecord, b: FdbRecord): boolean =>
  a.static === b.static && a.dest.kind === b.dest.kind &&
  (a.dest.kind === 'remote' ? a.dest.remote === (b.dest as { remote: string }).remote : a.dest.ifindex === (b.dest as { ifindex: number }).ifindex);

const sameSettings = (a: Settings, b: Settings): boolean =>
  (Object.keys(b) as Array<keyof Settings>).every((k) => a[k] === b[k]);

export function diffTables(desired: Tables, live: Tables): Diff {
  const wrap = (m: Map<number, VniSettings>) => new Map([...m].map(([vni, settings]) => [vni, { vni, settings }]));
  const vnis = change(wrap(desired.vnis), wrap(live.vnis), (a, b) => sameVni(a.settings, b.settings));
  // xv_ep and xv_peer values carry copies of their VNI's slot and flags:
  // rewrite them when the VNI changes, or when an interrupted apply left them stale.
  const rewritten = new Set([...vnis.change.map((c) => c.to.vni), ...[...live.staleCopies].filter((v) => desired.vnis.has(v))]);
  const endpoints = change(desired.endpoints, live.endpoints, (a, b) => a.vni === b.vni && !rewritten.has(b.vni));
  const peers = change(desired.peers, live.peers, (_a, b) => !rewritten.has(b.vni));
  const neighbors = change(desired.neighbors, live.neighbors, (a, b) => a.mac === b.mac);
  // A learned entry is kept unless its VNI goes, or it points to an endpoint
  // that is no longer this VNI's (deleted, or gone from the host): traffic
  // to it would be redirected into nothing until the MAC is heard again.
  const learnedStays = (r: FdbRecord) => !r.static && desired.vnis.has(r.vni) &&
    (r.dest.kind === 'remote' || desired.endpoints.get(r.dest.ifindex)?.vni === r.vni);
  const fdb = change(desired.fdb, live.fdb, sameFdb, learnedStays);
  const sorted = <T extends string | number>(xs: readonly T[]) => [...xs].sort();
  const flood = change(desired.flood, live.flood, (a, b) => sameList(sorted(a.remotes), sorted(b.remotes)) && sameList(sorted(a.locals), sorted(b.locals)));
  const ports = (m: Map<number, number[]>) => new Map([...m].map(([vni, p]) => [vni, { vni, ports: p }]));
  const floodPorts = change(ports(desired.floodPorts), ports(live.floodPorts), (a, b) => sameList(sorted(a.ports), sorted(b.ports)));
  const liveSlotOf = new Map([...live.vnis].map(([v, s]) => [v, s.statsSlot]));
  const newSlots = [...vnis.add, ...vnis.change.map((c) => c.to)]
    .filter((v) => liveSlotOf.get(v.vni) !== v.settings.statsSlot).map((v) => v.settings.statsSlot);
  const settings = desired.settings && (!live.settings || !sameSettings(live.settings, desired.settings))
    ? { from: live.settings, to: desired.settings } : undefined;
  return {
    settings, vnis, endpoints, peers, neighbors, fdb, flood, floodPorts, newSlots,
    devs: { add: [...desired.devs].filter((d) => !live.devs.has(d)), remove: [...live.devs].filter((d) => !desired.devs.has(d)) },
  };
}

export function changeCount(d: Diff): number {
  const n = (c: Change<unknown>) => c.add.length + c.change.length + c.remove.length;
  return (d.settings ? 1 : 0) + n(d.vnis) + n(d.endpoints) + d.devs.add.length + d.devs.remove.length + n(d.peers) +
    n(d.neighbors) + n(d.fdb) + n(d.flood) + n(d.floodPorts);
}

/** Whether applying d can alter a forwarding decision already cached by the data path. */
export function needsGenerationBump(d: Diff): boolean {
  const n = (c: Change<unknown>) => c.add.length + c.change.length + c.remove.length;
  return !!d.settings || n(d.vnis) > 0 || n(d.endpoints) > 0 || d.devs.add.length + d.devs.remove.length > 0 ||
    n(d.peers) > 0 || d.fdb.change.length + d.fdb.remove.length > 0 || n(d.flood) > 0 || n(d.floodPorts) > 0;
}
