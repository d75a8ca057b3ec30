// Caps on learned FDB entries. All VNIs share one FDB map, so one tenant
// sending random source MACs could otherwise fill it for every tenant and
// leave no room for static entries. As the Linux bridge's fdb_max_learned
// (kernel 6.8) but on by default: each VNI may learn a share of the map, and
// all learned entries together leave a reserve that static entries (the
// file's, `xvtep fdb add`'s, a cluster's) always fit in.

/** Default per-VNI cap: capacity.fdb / LEARN_SHARE (4096 of the default 65,536). */
export const LEARN_SHARE = 16;
/** The reserve kept free of learned entries: capacity.fdb / RESERVE_SHARE, or the static entries if more. */
export const RESERVE_SHARE = 8;

export function defaultMaxLearned(fdbCapacity: number): number {
  return Math.max(1, Math.floor(fdbCapacity / LEARN_SHARE));
}

/**
 * Learned entries allowed over all VNIs: what the reserve leaves. Never 0
 * (0 means "no cap" in the map); a map that statics fill learns nothing anyway.
 */
export function learnMaxTotal(fdbCapacity: number, staticEntries: number): number {
  const reserve = Math.max(Math.ceil(fdbCapacity / RESERVE_SHARE), staticEntries);
  return Math.max(1, fdbCapacity - reserve);
}
