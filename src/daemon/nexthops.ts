// xvtep run: keeps the underlay next hops of the remote VTEPs managed as
// routes change. Applying a config makes the next hops of new flood
// destinations managed neighbours (datapath/nexthops.ts says why the data
// path needs them resolved); when a route moves a peer behind another
// router, that router is a next hop nobody resolved, and a flooded ARP
// request could not reach the peer through it until unicast IP traffic
// happened to resolve it. Route notifications (`ip -o monitor route`) are
// debounced (a routing daemon changes many routes at once), then every flood
// destination's next hop is looked up again (one `ip -batch`) and the new
// ones are made managed; a check every NEXTHOP_CHECK_MS covers lost
// notifications.
import { type Datapath, manageNeighbours } from '../datapath/index.js';
import { errMessage } from '../reconcile/index.js';
import type { Log } from './bringup.js';
import { ipMonitor, type IpMonitor } from './ipmonitor.js';

export const NEXTHOP_DEBOUNCE_MS = 200;
export const NEXTHOP_CHECK_MS = 30_000;

export class NextHopKeeper {
  readonly #dp: Datapath;
  readonly #log: Log;
  readonly #monitor: IpMonitor;
  readonly #check: NodeJS.Timeout;
  #debounce: NodeJS.Timeout | undefined;
  readonly #first: NodeJS.Immediate;
  /** Notes already logged (a peer without a route), so each is said once while it lasts. */
  #said = new Set<string>();

  constructor(dp: Datapath, log: Log) {
    this.#dp = dp;
    this.#log = log;
    this.#monitor = ipMonitor('route', () => this.#soon(), log, `route changes are seen by the ${NEXTHOP_CHECK_MS / 1000} s check`, () => this.refresh());
    this.#check = setInterval(() => this.refresh(), NEXTHOP_CHECK_MS);
    this.#check.unref();
    // Routes may have moved while no daemon ran. Not before the daemon is
    // ready: the first apply made its new flood destinations' next hops
    // managed already, and this walk of every one (an `ip -batch` of route
    // lookups, an `ip neigh` dump) took 50-85 ms of a 1,000-peer start, loaded.
    this.#first = setImmediate(() => this.refresh());
  }

  #soon(): void {
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => this.refresh(), NEXTHOP_DEBOUNCE_MS);
    this.#debounce.unref();
  }

  refresh(): void {
    try {
      const remotes = [...new Set(this.#dp.flood.list().flatMap((f) => f.remotes))];
      const r = manageNeighbours(remotes);
      for (const h of r.added) this.#log(`underlay next hop ${h.nextHop} dev ${h.dev} (towards ${h.peers.join(', ')}) is now a managed neighbour`);
      const notes = new Set(r.notes);
      for (const n of notes) if (!this.#said.has(n)) this.#log(n);
      this.#said = notes;
    } catch (e) {
      this.#log(`underlay next hops: ${errMessage(e)}`);
    }
  }

  close(): void {
    clearImmediate(this.#first);
    clearTimeout(this.#debounce);
    clearInterval(this.#check);
    this.#monitor.close();
  }
}
