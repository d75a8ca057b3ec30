// The cluster's new FDB entries, written straight into the maps the moment
// a view arrives, ahead of the full apply (which runs in a worker process:
// ~0.1-0.8 s on a loaded machine). Only what the full apply would write the
// same way and nothing it might refuse: a MAC of a member that is already a
// peer of the VNI, where the map has no entry or a learned one. Static
// entries (the file's, or the cluster's toward another member: a move) and
// removals wait for the full apply, which follows at once and then finds
// nothing left to change.
// A new member's address goes into the decap allow-list (xv_peer) here too,
// so its first frames are taken: it floods to us as soon as its own first
// apply is done, and our full apply (flood list, managed next hop) took long
// enough for its first ARP request to be dropped as from an unknown peer
// (a 1 s ARP retransmission). Allowing a validated member's address is what
// the apply does anyway; the flood list waits for it.
import type { ClusterView } from '../cluster/index.js';
import type { Datapath } from '../datapath/index.js';

export interface FastFdbResult {
  written: number;
  /** Members' addresses added to the decap allow-list ahead of the apply. */
  allowed: number;
  /** The view's entries not in the maps as it says (left to the full apply). */
  pending: number;
  /** Learned local entries replaced by a member's claim: no longer this host's to publish. */
  replacedLocal: Array<{ vni: number; mac: string }>;
}

export class ClusterFdbWriter {
  /** `${vni}/${mac}` → remote already written or found in place. */
  #done = new Map<string, string>();
  /** `${vni}/${address}` of members already in the allow-list (written or found): no lookup per view. */
  #allowed = new Set<string>();

  constructor(private readonly dp: Datapath) {}

  write(view: ClusterView): FastFdbResult {
    const out: FastFdbResult = { written: 0, allowed: 0, pending: 0, replacedLocal: [] };
    const next = new Map<string, string>();
    const allowed = new Set<string>();
    let rewrote = false;
    for (const [v, vv] of Object.entries(view.vnis)) {
      const vni = Number(v);
      // one lookup per member, not per MAC (1,000 members x 10 MACs at start-up, none a peer yet)
      const isPeer = new Map<string, boolean>();
      const info = this.dp.vnis.map.get(vni);
      for (const address of info ? vv.peers : []) {
        const id = `${vni}/${address}`;
        isPeer.set(address, true);
        allowed.add(id);
        if (this.#allowed.has(id) || this.dp.peers.has(vni, address)) continue;
        this.dp.peers.add(vni, address, info!);
        out.allowed++;
      }
      for (const { mac, remote } of vv.fdb) {
        const id = `${vni}/${mac}`;
        if (this.#done.get(id) === remote) {
          next.set(id, remote);
          continue;
        }
        let peer = isPeer.get(remote);
        if (peer === undefined) isPeer.set(remote, (peer = this.dp.peers.has(vni, remote)));
        if (!peer) {
          out.pending++; // a new member: peers first, by the full apply
          continue;
        }
        const cur = this.dp.fdb.get(vni, mac);
        if (cur?.static) {
          if (cur.dest.kind === 'remote' && cur.dest.remote === remote) next.set(id, remote);
          else out.pending++;
          continue;
        }
        this.dp.fdb.set({ vni, mac, dest: { kind: 'remote', remote }, static: true, updatedNs: 0 });
        out.written++;
        next.set(id, remote);
        if (cur) {
          rewrote = true;
          if (cur.dest.kind === 'local') out.replacedLocal.push({ vni, mac });
        }
      }
    }
    // a cached forwarding decision may point where a replaced entry did
    if (rewrote) this.dp.bumpGeneration();
    this.#done = next;
    this.#allowed = allowed;
    return out;
  }
}
