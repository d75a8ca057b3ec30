// The cluster's new FDB entries, written straight into the maps the moment
// a view arrives, ahead of the full apply (which runs in a worker process:
// ~0.1-0.8 s on a loaded machine). Only what the full apply would write the
// same way and nothing it might refuse: a MAC of a member that is already a
// peer of the VNI, where the map has no entry or a learned one. Static
// entries (the file's, or the cluster's toward another member: a move) and
// removals wait for the full apply, which follows at once and then finds
// nothing left to change.
import type { ClusterView } from '../cluster/index.js';
import type { Datapath } from '../datapath/index.js';

export interface FastFdbResult {
  written: number;
  /** The view's entries not in the maps as it says (left to the full apply). */
  pending: number;
  /** Learned local entries replaced by a member's claim: no longer this host's to publish. */
  replacedLocal: Array<{ vni: number; mac: string }>;
}

export class ClusterFdbWriter {
  /** `${vni}/${mac}` → remote already written or found in place. */
  #done = new Map<string, string>();

  constructor(private readonly dp: Datapath) {}

  write(view: ClusterView): FastFdbResult {
    const out: FastFdbResult = { written: 0, pending: 0, replacedLocal: [] };
    const next = new Map<string, string>();
    let rewrote = false;
    for (const [v, vv] of Object.entries(view.vnis)) {
      const vni = Number(v);
      // one lookup per member, not per MAC (1,000 members x 10 MACs at start-up, none a peer yet)
      const isPeer = new Map<string, boolean>();
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
    return out;
  }
}
