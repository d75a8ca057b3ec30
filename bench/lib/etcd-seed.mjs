// Simulated cluster members written straight into etcd, for the start-up
// bench (issue 14: 1,000 members × 10 MACs applied at daemon start in ≤ 2 s).
// The records follow the cluster key schema (src/cluster/records.ts):
//   <prefix>members/<node>      { v, name, address, family, port, vnis, software, layout }
//   <prefix>vnis/<vni>/<node>   { v, macs, neighbors }
// all under one lease, in transactions of at most 128 operations (etcd's
// default --max-txn-ops): one revision per batch, so the daemon's first list
// sees a finished cluster and its watch starts after it.

export const RECORD_VERSION = 1;
export const MAX_TXN_OPS = 128;

const hex2 = (n) => (n & 0xff).toString(16).padStart(2, '0');

/** Node name of simulated member i. */
export const simName = (i) => `sim-${String(i).padStart(5, '0')}`;

/** Underlay address of simulated member i: 2001:db8:5eed::/48, never reached by any frame. */
export const simAddress6 = (i) => `2001:db8:5eed::${(i + 1).toString(16)}`;

/** MAC j behind simulated member i: locally administered unicast, unique per (i, j). */
export const simMac = (i, j) => `02:5e:${hex2(i >>> 8)}:${hex2(i)}:${hex2(j >>> 8)}:${hex2(j)}`;

/**
 * The records of `members` simulated members, each with `macsPerMember`
 * MACs in every VNI of `vnis`. Returns [key, value] pairs (strings).
 */
export function simRecords({ prefix = '/xvtep/v1/', members = 1000, macsPerMember = 10, vnis = [100],
  address = simAddress6, port = 4789, software = 'xvtep-bench-sim' } = {}) {
  if (!prefix.endsWith('/')) throw new Error(`etcd-seed: prefix ${JSON.stringify(prefix)} must end with /`);
  const out = [];
  for (let i = 0; i < members; i++) {
    const name = simName(i);
    const addr = address(i);
    out.push([`${prefix}members/${name}`, JSON.stringify({
      v: RECORD_VERSION, name, address: addr, family: addr.includes(':') ? 6 : 4, port, vnis, software, layout: 0,
    })]);
    for (const vni of vnis) {
      const macs = Array.from({ length: macsPerMember }, (_, j) => simMac(i, j));
      out.push([`${prefix}vnis/${vni}/${name}`, JSON.stringify({ v: RECORD_VERSION, macs, neighbors: [] })]);
    }
  }
  return out;
}

/**
 * Writes simRecords(opts) into etcd through an etcd3 client, under one new
 * lease of ttlSeconds (kept alive by the client until the caller revokes or
 * releases it), in transactions of batch ≤ 128 puts.
 * Returns { lease, leaseId, keys, txns, revision, seconds }.
 */
export async function seedMembers(client, opts = {}) {
  const { ttlSeconds = 60, batch = MAX_TXN_OPS } = opts;
  if (!(batch >= 1 && batch <= MAX_TXN_OPS)) throw new Error(`etcd-seed: batch ${batch} is not 1..${MAX_TXN_OPS}`);
  const records = simRecords(opts);
  const t0 = process.hrtime.bigint();
  const lease = client.lease(ttlSeconds);
  const leaseId = await lease.grant();
  let revision = 0;
  let txns = 0;
  for (let i = 0; i < records.length; i += batch) {
    const success = records.slice(i, i + batch).map(([k, v]) => ({ request_put: { key: Buffer.from(k), value: Buffer.from(v), lease: leaseId } }));
    const r = await client.kv.txn({ compare: [], success, failure: [] });
    if (!r.succeeded) throw new Error(`etcd-seed: transaction ${txns} did not succeed`);
    revision = Number(r.header.revision);
    txns++;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { lease, leaseId, keys: records.length, txns, revision, seconds };
}
