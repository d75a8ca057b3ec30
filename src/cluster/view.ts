// The others' records → what this node's maps should get from the cluster,
// per VNI: peers (flood list and decap allow-list), FDB entries toward their
// VTEPs, proxy ARP/ND entries. Pure, so the daemon can compare two views
// and apply only when the result differs.
import type { MemberRecord, VniRecord } from './records.js';

export interface Stored<T> {
  rec: T;
  /** etcd mod_revision of the key: the newest claim of a MAC or an IP wins. */
  rev: number;
}

export interface Members {
  members: Map<string, Stored<MemberRecord>>;
  /** `${vni}/${node}` → record */
  vnis: Map<string, Stored<VniRecord> & { vni: number; node: string }>;
}

export interface VniView {
  peers: string[];
  fdb: Array<{ mac: string; remote: string }>;
  neighbors: Array<{ ip: string; mac: string }>;
}

/** What the cluster adds to this node's file, per VNI (keys are VNIs as decimal strings). */
export interface ClusterView {
  vnis: Record<string, VniView>;
}

export interface Self {
  name: string;
  address: string;
  vnis: readonly number[];
}

/**
 * A MAC (or IP) claimed by several nodes goes to the newest claim: the
 * record written last is the host that saw it last (a moved container). A
 * claim of this node's own that is newer keeps the entry local here.
 */
export function viewOf(m: Members, self: Self): ClusterView {
  const out: ClusterView = { vnis: {} };
  const byVni = new Map<number, Array<Stored<VniRecord> & { node: string }>>();
  for (const r of m.vnis.values()) {
    let l = byVni.get(r.vni);
    if (!l) byVni.set(r.vni, (l = []));
    l.push(r);
  }
  for (const vni of self.vnis) {
    const peerOf = new Map<string, string>();
    for (const [node, s] of m.members) {
      if (node !== self.name && s.rec.address !== self.address && s.rec.vnis.includes(vni)) peerOf.set(node, s.rec.address);
    }
    const macs = new Map<string, { node: string; rev: number }>();
    const ips = new Map<string, { node: string; rev: number; mac: string }>();
    const newer = (a: { node: string; rev: number }, b: { node: string; rev: number } | undefined) => !b || a.rev > b.rev || (a.rev === b.rev && a.node < b.node);
    for (const r of byVni.get(vni) ?? []) {
      if (r.node !== self.name && !peerOf.has(r.node)) continue; // no member record (yet, or any more)
      const claim = { node: r.node, rev: r.rev };
      for (const mac of r.rec.macs) if (newer(claim, macs.get(mac))) macs.set(mac, claim);
      for (const n of r.rec.neighbors) if (newer(claim, ips.get(n.ip))) ips.set(n.ip, { ...claim, mac: n.mac });
    }
    const fdb = [...macs].filter(([, c]) => c.node !== self.name).map(([mac, c]) => ({ mac, remote: peerOf.get(c.node)! }));
    const neighbors = [...ips].filter(([, c]) => c.node !== self.name).map(([ip, c]) => ({ ip, mac: c.mac }));
    const peers = [...new Set(peerOf.values())].sort();
    if (!peers.length && !fdb.length && !neighbors.length) continue;
    fdb.sort((a, b) => (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0));
    neighbors.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
    out.vnis[String(vni)] = { peers, fdb, neighbors };
  }
  return out;
}

export function viewStats(v: ClusterView): { peers: number; fdb: number; neighbors: number } {
  const all = Object.values(v.vnis);
  return { peers: all.reduce((n, x) => n + x.peers.length, 0), fdb: all.reduce((n, x) => n + x.fdb.length, 0), neighbors: all.reduce((n, x) => n + x.neighbors.length, 0) };
}
