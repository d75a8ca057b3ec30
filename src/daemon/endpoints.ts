// xvtep run: endpoint interfaces that vanish and come back while it serves.
// Endpoints are ifindexes in the maps and their tcx links die with the
// interface, so a container restart (veth deleted, re-created under the same
// name with a new ifindex) would leave a dead row and a dead pin, and the new
// interface unattached. The watcher notices both edges and has the daemon
// reconcile the file again (a reload like SIGHUP, which tolerates missing
// endpoints): going away removes the stale ifindex state, coming back
// attaches the new ifindex.
//
// Event-driven: `ip -o monitor link` (RTM_NEWLINK/RTM_DELLINK of this netns)
// says within milliseconds that something changed; the watcher then checks
// the affected names (and ifindexes, for renames) against the kernel, so it
// never trusts its parsing of the event text. Netlink drops notifications
// when a listener's socket overflows, and `ip` may die: a scan of every name
// every ENDPOINT_SCAN_MS bounds the detection time in those cases. Name to
// ifindex is one ioctl, so even 4096 endpoints cost ~20 ms per scan.
import type { Datapath } from '../datapath/index.js';
import { Attachments, hostResolver, readEndpointStates, writeEndpointStates, type EndpointState } from '../reconcile/index.js';
import { alive } from './alive.js';
import type { Log } from './bringup.js';
import { ipMonitor, type IpMonitor } from './ipmonitor.js';

export interface WatchedEndpoint {
  name: string;
  vni: number;
}

export const ENDPOINT_SCAN_MS = 5000;

export interface EndpointWatcherOptions {
  pinDir: string;
  dp: Datapath;
  /** The endpoints of the file being served (changes with reloads). */
  configured: () => readonly WatchedEndpoint[];
  /** Queues a config reload in the daemon; resolves once it has run, successful or not. */
  reload: (trigger: string) => Promise<void>;
  log: Log;
  scanMs?: number;
}

interface Entry extends EndpointState {
  /** The ifindex a reload was asked for and the watcher-reload number that serves it. */
  asked: { ifindex: number; reload: number } | null;
  /** That reload ran and did not attach it: wait for the interface to change again. */
  failed: boolean;
}

export class EndpointWatcher {
  readonly #o: EndpointWatcherOptions;
  readonly #att: Attachments;
  readonly #entries = new Map<string, Entry>();
  #reattachments = 0;
  #started = 0;
  #finished = 0;
  #inflight: Promise<void> | null = null;
  #again: string | null = null;
  readonly #monitor: IpMonitor;
  #scanTimer: NodeJS.Timeout | undefined;
  #pending: Set<string> | null = null;
  #closed = false;
  /** A previous daemon's record of endpoints that were missing: they keep the time they went. */
  readonly #prevMissing = new Map<string, EndpointState>();

  constructor(o: EndpointWatcherOptions) {
    this.#o = o;
    this.#att = new Attachments(o.pinDir, o.dp);
    for (const e of readEndpointStates(o.pinDir)?.endpoints ?? []) if (e.state === 'missing') this.#prevMissing.set(e.name, e);
    this.sync();
    const scanS = (o.scanMs ?? ENDPOINT_SCAN_MS) / 1000;
    this.#monitor = ipMonitor('link', (l) => this.#onEvent(l), o.log, `endpoint changes are seen by the ${scanS} s scan`, () => this.sync());
    this.#scanTimer = setInterval(() => this.sync(), o.scanMs ?? ENDPOINT_SCAN_MS);
    this.#scanTimer.unref();
  }

  /**
   * Compares the configured endpoints (all, or only `only`) with the kernel
   * and acts on the differences. Cheap when nothing changed: one name lookup each.
   */
  sync(only?: ReadonlySet<string>): void {
    if (this.#closed) return;
    try {
      this.#sync(only);
    } catch (e) {
      this.#o.log(`endpoint watcher: ${(e as Error).message}`);
    }
  }

  #sync(only?: ReadonlySet<string>): void {
    const want = this.#o.configured();
    let dirty = false;
    const reasons: string[] = [];
    if (!only) {
      const names = new Set(want.map((w) => w.name));
      for (const name of this.#entries.keys()) {
        if (!names.has(name)) {
          this.#entries.delete(name);
          dirty = true;
        }
      }
    }
    for (const w of want) {
      if (only && !only.has(w.name)) continue;
      const cur = hostResolver.lookup(w.name);
      const now = new Date().toISOString();
      let e = this.#entries.get(w.name);
      if (!e) {
        e = { name: w.name, vni: w.vni, state: 'attached', ifindex: null, since: null, lostIfindex: null, asked: null, failed: false };
        this.#entries.set(w.name, e);
        dirty = true;
        if (cur === null) {
          const prev = this.#prevMissing.get(w.name);
          Object.assign(e, { state: 'missing', since: prev?.since ?? now, lostIfindex: prev?.lostIfindex ?? null });
          this.#o.log(`endpoint ${w.name} (VNI ${w.vni}) does not exist${prev?.since ? ` (missing since ${prev.since})` : ''}: not attached, waiting for it`);
        } else if (this.#attachedAs(w.name, cur)) {
          e.ifindex = cur;
        }
        // present but not attached yet (it appeared after the apply): handled below like a comeback
      }
      if (e.vni !== w.vni) {
        e.vni = w.vni;
        dirty = true;
      }
      if (e.ifindex !== null && cur !== e.ifindex) {
        this.#o.log(`endpoint ${w.name} (VNI ${e.vni}) is gone: ifindex ${e.ifindex} no longer exists`);
        Object.assign(e, { state: 'missing', since: now, lostIfindex: e.ifindex, ifindex: null, asked: null, failed: false });
        reasons.push(`endpoint ${w.name} gone`);
        dirty = true;
      }
      if (e.ifindex === null && cur !== null) {
        if (this.#attachedAs(w.name, cur)) {
          const back = e.state === 'missing';
          Object.assign(e, { ifindex: cur, asked: null, failed: false });
          if (back && e.lostIfindex !== null) {
            Object.assign(e, { state: 'reattached', since: now });
            this.#reattachments++;
            this.#o.log(`endpoint ${w.name} is back as ifindex ${cur}: re-attached`);
          } else if (back) {
            Object.assign(e, { state: 'attached', since: now });
            this.#o.log(`endpoint ${w.name} (VNI ${e.vni}) appeared as ifindex ${cur}: attached`);
          }
          dirty = true;
        } else if (e.asked?.ifindex !== cur) {
          if (e.state !== 'missing') Object.assign(e, { state: 'missing', since: now });
          e.asked = { ifindex: cur, reload: this.#started + 1 };
          e.failed = false;
          reasons.push(`endpoint ${w.name} back`);
          dirty = true;
        } else if (!e.failed && this.#finished >= e.asked.reload) {
          e.failed = true;
          this.#o.log(`endpoint ${w.name} is back as ifindex ${cur} but attaching it failed (see the reload above); retrying when the interface changes`);
        }
      }
    }
    if (dirty) this.#write();
    if (reasons.length) this.#requestReload(reasons.join(', '));
  }

  /** Whether the kernel has iface's tcx link pinned on exactly this ifindex and its xv_ep row. */
  #attachedAs(iface: string, ifindex: number): boolean {
    return this.#att.endpointIfindex(iface) === ifindex && this.#o.dp.endpoints.get(ifindex) !== undefined;
  }

  #requestReload(trigger: string): void {
    if (this.#inflight) {
      this.#again = this.#again ? `${this.#again}, ${trigger}` : trigger;
      return;
    }
    this.#started++;
    this.#inflight = this.#o.reload(trigger).finally(() => {
      this.#inflight = null;
      this.#finished++;
      const again = this.#again;
      this.#again = null;
      if (again && !this.#closed) this.#requestReload(again);
      this.sync();
    });
  }

  /** What the metrics show of the record #write() keeps in the state directory. */
  counts(): { missing: number; reattachments: number } {
    let missing = 0;
    for (const e of this.#entries.values()) if (e.state === 'missing') missing++;
    return { missing, reattachments: this.#reattachments };
  }

  #write(): void {
    const endpoints = [...this.#entries.values()].map(({ asked: _a, failed: _f, ...e }) => e);
    try {
      writeEndpointStates(this.#o.pinDir, { daemonPid: process.pid, reattachments: this.#reattachments, endpoints });
    } catch (e) {
      this.#o.log(`endpoint states: cannot write: ${(e as Error).message}`);
    }
  }

  /** Names to check for one `ip -o monitor link` line: the name in it, and whoever had its ifindex (renames). */
  #affected(line: string): string[] {
    const m = /^(?:Deleted )?(\d+): ([^:@\s]+)/.exec(line);
    if (!m) return [];
    const ifindex = Number(m[1]);
    const out = [m[2]!];
    for (const e of this.#entries.values()) if (e.ifindex === ifindex || e.asked?.ifindex === ifindex) out.push(e.name);
    return out;
  }

  #onEvent(line: string): void {
    const names = this.#affected(line);
    if (!names.length) return;
    for (const n of names) {
      const e = this.#entries.get(n);
      if (e?.failed) Object.assign(e, { failed: false, asked: null });
    }
    // One check per burst: creating a veth and setting it up are several events.
    if (this.#pending) {
      for (const n of names) this.#pending.add(n);
      return;
    }
    this.#pending = new Set(names);
    setImmediate(() => {
      const p = this.#pending!;
      this.#pending = null;
      this.sync(p);
    });
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#scanTimer);
    this.#monitor.close();
  }
}

/** The daemon's record, if that daemon is still running. */
export function liveEndpointStates(pinDir: string) {
  const r = readEndpointStates(pinDir);
  return r && alive(r.daemonPid) ? r : null;
}
