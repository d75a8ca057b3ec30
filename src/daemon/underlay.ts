// xvtep run: the underlay NIC changing under the daemon. What the data path
// holds of it is the ifindex (xv_config, xv_uplink, the XDP and tcx links),
// its MTU (the ICMP too-big threshold) and, when the file leaves
// underlay.address empty, its address. Each edge is logged once and counted,
// and whatever a reload can redo is redone by one (the reload reconciles the
// file against the interface as it is now):
//  - link down/up: nothing to redo, status and metrics say it;
//  - deleted: nothing to do until it is back; status says gone;
//  - renamed: ours under another name, treated as gone (the file names the
//    interface by name); status names the new name;
//  - re-created under its name (new ifindex): reload, which re-attaches XDP
//    and the tcx hook, rewrites xv_config and xv_uplink; learned entries
//    stay (they hold remote VTEPs and endpoint ifindexes, not the underlay);
//  - MTU changed (the file has no underlay.mtu): reload;
//  - addresses changed (the file has no underlay.address): reload, which
//    takes the new one or fails with a clear line if there is none.
// Event-driven through one `ip -o monitor link address`,
// plus a scan every UNDERLAY_SCAN_MS that bounds detection (netlink may drop
// notifications): the MTU follows within a second either way.
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { ifnameOf } from '../bpf/index.js';
import { hostResolver, writeUnderlayState, type UnderlayChange, type UnderlayState } from '../reconcile/index.js';
import type { Log } from './bringup.js';
import { ipMonitor, type IpMonitor } from './ipmonitor.js';

export const UNDERLAY_SCAN_MS = 500;

export interface UnderlayConfigured {
  iface: string;
  /** underlay.address from the file; null: taken from the interface. */
  address: string | null;
  /** underlay.mtu from the file; null: taken from the interface. */
  mtu: number | null;
}

export interface UnderlayWatcherOptions {
  pinDir: string;
  configured: () => UnderlayConfigured;
  reload: (trigger: string) => Promise<void>;
  /** Writes a new MTU into the data path at once (the reload that follows would take a second). */
  setMtu: (mtu: number) => void;
  log: Log;
  scanMs?: number;
}

interface Seen {
  ifindex: number | null;
  up: boolean;
  mtu: number | null;
  addresses: string[];
}

function look(name: string): Seen {
  const ifindex = hostResolver.lookup(name);
  if (ifindex === null) return { ifindex, up: false, mtu: null, addresses: [] };
  const read = (f: string) => {
    try {
      return readFileSync(`/sys/class/net/${name}/${f}`, 'utf8').trim();
    } catch {
      return null;
    }
  };
  const oper = read('operstate');
  const mtu = Number(read('mtu'));
  const addresses = (networkInterfaces()[name] ?? []).filter((a) => !a.internal && !a.address.startsWith('fe80:')).map((a) => a.address).sort();
  // veths report "up", real NICs "up"/"down"; "unknown" is a driver that does not say: take it as up
  return { ifindex, up: oper !== 'down' && oper !== 'lowerlayerdown' && oper !== 'notpresent', mtu: Number.isFinite(mtu) && mtu > 0 ? mtu : null, addresses };
}

const nameOf = (ifindex: number): string | null => {
  try {
    return ifnameOf(ifindex);
  } catch {
    return null;
  }
};

export class UnderlayWatcher {
  readonly #o: UnderlayWatcherOptions;
  readonly #monitors: IpMonitor[];
  readonly #timer: NodeJS.Timeout;
  #seen: Seen;
  #iface: string;
  #state: UnderlayState;

  constructor(o: UnderlayWatcherOptions) {
    this.#o = o;
    this.#iface = o.configured().iface;
    this.#seen = look(this.#iface);
    const changes = Object.fromEntries((['down', 'up', 'gone', 'renamed', 'recreated', 'mtu', 'address'] as const).map((k) => [k, 0])) as Record<UnderlayChange, number>;
    this.#state = {
      daemonPid: process.pid, iface: this.#iface, state: this.#seen.ifindex === null ? 'gone' : this.#seen.up ? 'up' : 'down',
      ifindex: this.#seen.ifindex, renamedTo: null, mtu: this.#seen.mtu, addresses: this.#seen.addresses, since: new Date().toISOString(), changes,
    };
    if (this.#state.state !== 'up') o.log(`underlay ${this.#iface} is ${this.#state.state}`);
    this.#write();
    const meanwhile = `underlay changes are seen by the ${(o.scanMs ?? UNDERLAY_SCAN_MS) / 1000} s scan`;
    this.#monitors = [ipMonitor('link address', () => this.sync(), o.log, meanwhile, () => this.sync())];
    this.#timer = setInterval(() => this.sync(), o.scanMs ?? UNDERLAY_SCAN_MS);
    this.#timer.unref();
  }

  /** Compares the interface with what was seen last; logs, counts and reloads on each edge. */
  sync(): void {
    try {
      this.#sync();
    } catch (e) {
      this.#o.log(`underlay watcher: ${(e as Error).message}`);
    }
  }

  #sync(): void {
    const want = this.#o.configured();
    if (want.iface !== this.#iface) {
      // a reload named another NIC: start over from it
      this.#iface = want.iface;
      this.#seen = look(want.iface);
      this.#set(this.#seen.ifindex === null ? 'gone' : this.#seen.up ? 'up' : 'down', null);
      return;
    }
    const name = this.#iface;
    const prev = this.#seen;
    const now = look(name);
    this.#seen = now;
    const reasons: string[] = [];
    if (prev.ifindex !== null && now.ifindex !== prev.ifindex) {
      const other = nameOf(prev.ifindex);
      if (other !== null && other !== name) {
        this.#count('renamed');
        this.#o.log(`underlay ${name} (ifindex ${prev.ifindex}) was renamed to ${other}: treated as gone, the file names ${name}`);
        this.#set('renamed', other);
      } else {
        this.#count('gone');
        this.#o.log(`underlay ${name} is gone (ifindex ${prev.ifindex}): no VXLAN traffic until an interface of that name is back`);
        this.#set('gone', null);
      }
    }
    if (now.ifindex === null) {
      this.#write();
      return;
    }
    if (now.ifindex !== prev.ifindex) {
      this.#count('recreated');
      this.#o.log(`underlay ${name} is back as ifindex ${now.ifindex}: re-attaching`);
      reasons.push('underlay re-created');
      this.#set(now.up ? 'up' : 'down', null);
    } else if (now.up !== prev.up) {
      this.#count(now.up ? 'up' : 'down');
      this.#o.log(`underlay ${name} link ${now.up ? 'up' : 'down'}`);
      this.#set(now.up ? 'up' : 'down', null);
    }
    if (now.ifindex === prev.ifindex && now.mtu !== prev.mtu && now.mtu !== null) {
      this.#count('mtu');
      const follows = want.mtu === null;
      this.#o.log(`underlay ${name} MTU ${prev.mtu ?? '?'} -> ${now.mtu}${follows ? '' : ` (underlay.mtu ${want.mtu} in the file stays in force)`}`);
      if (follows) {
        this.#o.setMtu(now.mtu);
        reasons.push('underlay MTU');
      }
    }
    if (now.ifindex === prev.ifindex && now.addresses.join() !== prev.addresses.join()) {
      this.#count('address');
      const follows = want.address === null;
      this.#o.log(`underlay ${name} addresses ${prev.addresses.join(',') || 'none'} -> ${now.addresses.join(',') || 'none'}${follows ? '' : ` (underlay.address ${want.address} in the file stays in force)`}`);
      if (follows) reasons.push('underlay address');
    }
    this.#state.mtu = now.mtu;
    this.#state.addresses = now.addresses;
    this.#state.ifindex = now.ifindex;
    this.#write();
    if (reasons.length) void this.#o.reload(reasons.join(', '));
  }

  #count(k: UnderlayChange): void {
    this.#state.changes[k]++;
  }

  #set(state: UnderlayState['state'], renamedTo: string | null): void {
    if (this.#state.state !== state || this.#state.renamedTo !== renamedTo) this.#state.since = new Date().toISOString();
    this.#state.iface = this.#iface;
    this.#state.state = state;
    this.#state.renamedTo = renamedTo;
  }

  #written = '';
  #write(): void {
    const text = JSON.stringify(this.#state);
    if (text === this.#written) return;
    try {
      writeUnderlayState(this.#o.pinDir, this.#state);
      this.#written = text;
    } catch (e) {
      this.#o.log(`underlay state: cannot write: ${(e as Error).message}`);
    }
  }

  close(): void {
    clearInterval(this.#timer);
    for (const m of this.#monitors) m.close();
  }
}
