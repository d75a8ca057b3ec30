// The merge rule: the file and the cluster both contribute peers, FDB
// entries and neighbours per VNI; where they disagree the file wins (a
// static FDB entry of the same MAC, a neighbour of the same IP), and every
// such conflict is reported so the daemon can log and count it. VNIs the
// file does not list take nothing from the cluster.
import type { Config, FdbEntry, NeighborEntry, VniConfig } from '../config/index.js';
import type { ClusterView } from './view.js';

export interface Merged {
  config: Config;
  conflicts: string[];
}

export function mergeCluster(cfg: Config, view: ClusterView): Merged {
  const conflicts: string[] = [];
  const vnis = cfg.vnis.map((v): VniConfig => {
    const c = view.vnis[String(v.vni)];
    if (!c) return v;
    const fileMacs = new Map(v.fdb.map((f) => [f.mac, f]));
    const fileIps = new Map(v.neighbors.map((n) => [n.ip, n]));
    const fdb: FdbEntry[] = [...v.fdb];
    for (const e of c.fdb) {
      const f = fileMacs.get(e.mac);
      if (!f) fdb.push({ kind: 'remote', mac: e.mac, remote: e.remote });
      else if (f.kind !== 'remote' || f.remote !== e.remote) conflicts.push(`VNI ${v.vni} MAC ${e.mac}: the cluster says ${e.remote}, the file ${f.kind === 'remote' ? f.remote : `endpoint ${f.endpoint}`}; the file wins`);
    }
    const neighbors: NeighborEntry[] = [...v.neighbors];
    for (const n of c.neighbors) {
      const f = fileIps.get(n.ip);
      if (!f) neighbors.push({ ip: n.ip, family: n.ip.includes(':') ? 6 : 4, mac: n.mac });
      else if (f.mac !== n.mac) conflicts.push(`VNI ${v.vni} ${n.ip}: the cluster says ${n.mac}, the file ${f.mac}; the file wins`);
    }
    return {
      ...v,
      peers: [...new Set([...v.peers, ...c.peers])],
      fdb,
      neighbors,
      // Proxy ARP/ND follows the entries, as for the file alone (normalize.ts),
      // unless the file said so itself: its flag is then already in v.proxyArp.
      proxyArp: v.proxyArp || (v.neighbors.length === 0 && neighbors.length > 0),
    };
  });
  return { config: { ...cfg, vnis }, conflicts };
}
