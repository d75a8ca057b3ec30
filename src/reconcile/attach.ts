// Program attachments, each a bpf_link pinned under <pinDir>/links (named by
// datapath's linkPinName: <role>-<iface>-<hook>) so traffic keeps flowing
// with no xvtep process alive. Attaching is datapath's attach.ts; which
// interfaces get what, adoption of live links and their removal are here.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BpfError, Link, ifindexOf, ifnameOf, xdpModeOf } from '../bpf/index.js';
import { attachEndpoint, attachUnderlay, linkPinName, type Attachment } from '../datapath/attach.js';
import { ensureGso6Device } from '../datapath/index.js';
import type { Datapath } from '../datapath/datapath.js';
import type { Journal } from './apply.js';

export type Role = 'underlay' | 'endpoint';
export type HookName = 'xdp' | 'tcx-ingress';

export interface HookStatus {
  role: Role;
  hook: HookName;
  /** The interface named in the pin. */
  iface: string;
  /** From the link; 0 when the interface is gone (the kernel keeps a defunct link). */
  ifindex: number;
  pin: string;
  linkId: number | null;
  progId: number | null;
  attached: boolean;
  /** XDP hooks: the mode the kernel reports in use on the interface. */
  xdpMode?: string | null;
}

const PIN_RE = /^(underlay|endpoint)-(.+)-(xdp|tcx-ingress)$/;
const xdpModeName = { native: 'driver', skb: 'skb' } as const;

export class Attachments {
  readonly dir: string;
  /** What attaching changed on the host (forwarding, GRO), for the operator. */
  readonly notes: string[] = [];

  /**
   * assumePeerNapi: endpoints are veths whose peers sit in namespaces xvtep
   * cannot enter (containers); the operator vouches that those peers have GRO
   * or XDP on, which XDP redirects into a veth need.
   */
  constructor(pinDir: string, private readonly dp?: Datapath, private readonly opts: { assumePeerNapi?: boolean } = {}) {
    this.dir = join(pinDir, 'links');
  }

  list(): HookStatus[] {
    if (!existsSync(this.dir)) return [];
    const out: HookStatus[] = [];
    for (const name of readdirSync(this.dir).sort()) {
      const m = PIN_RE.exec(name);
      if (!m) continue;
      const pin = join(this.dir, name);
      let linkId: number | null = null, progId: number | null = null, ifindex = 0;
      try {
        const link = Link.open(pin);
        try {
          const info = link.info();
          linkId = info.id;
          progId = info.progId;
          ifindex = info.ifindex;
        } finally {
          link.close();
        }
      } catch {
        // an unreadable pin is reported as not attached
      }
      const st: HookStatus = { role: m[1] as Role, iface: m[2]!, hook: m[3] as HookName, ifindex, pin, linkId, progId, attached: ifindex !== 0 };
      if (st.hook === 'xdp') st.xdpMode = st.attached ? (xdpModeOf(ifindex) ?? null) : null;
      out.push(st);
    }
    return out;
  }

  #live(pin: string): number {
    if (!existsSync(pin)) return 0;
    const link = Link.open(pin);
    try {
      return link.info().ifindex;
    } finally {
      link.close();
    }
  }

  #pinAll(a: Attachment, journal?: Journal): void {
    this.notes.push(...a.notes);
    try {
      for (const [hook, link] of a.links) {
        const pin = join(this.dir, linkPinName(a, hook));
        if (existsSync(pin)) this.#drop(pin); // defunct: the interface was recreated
        link.pin(pin);
        journal?.record(`detach ${pin}`, () => this.#drop(pin));
      }
    } finally {
      for (const link of a.links.values()) link.close();
    }
  }

  /** Detaches (even if another process holds an fd) and removes the pin. */
  #drop(pin: string): void {
    if (!existsSync(pin)) return;
    const link = Link.open(pin);
    try {
      try {
        link.detach();
      } catch (e) {
        // a defunct link has nothing left to detach
        if (!(e instanceof BpfError) || !['ENOLINK', 'EINVAL', 'ENOENT'].includes(e.code)) throw e;
      }
      link.unpin(pin);
    } finally {
      link.close();
    }
  }

  #dp(): Datapath {
    if (!this.dp) throw new Error('attaching needs the data path');
    return this.dp;
  }

  /** Adopts a live underlay link in the right mode, else attaches; drops underlay links on other interfaces. */
  /** `known`: a list() taken earlier in the same operation, to spare another walk over every pin. */
  ensureUnderlay(iface: string, mode: 'native' | 'skb', family: 4 | 6, journal?: Journal, known: HookStatus[] = this.list()): void {
    const pin = join(this.dir, linkPinName({ role: 'underlay', iface }, 'xdp'));
    const ifindex = this.#live(pin);
    // The mode from `known` when it saw this link: each query dumps every
    // interface over netlink, tens of ms with 1,000 endpoints.
    const seen = known.find((h) => h.pin === pin && h.attached && h.ifindex === ifindex);
    const inUse = ifindex === 0 ? undefined : seen ? seen.xdpMode : xdpModeOf(ifindex);
    if (ifindex !== 0 && inUse !== xdpModeName[mode]) this.#drop(pin); // an XDP link cannot change mode
    if (this.#live(pin) === 0) this.#pinAll(attachUnderlay(this.#dp(), iface, mode, family), journal);
    else ensureGso6Device(this.#dp()); // adopted links: the settings may have changed since
    // native mode's tcx half of the GRO hand-off, left over from before a switch to skb mode
    if (mode !== 'native') this.#drop(join(this.dir, linkPinName({ role: 'underlay', iface }, 'tcx-ingress')));
    for (const h of known) if (h.role === 'underlay' && h.iface !== iface) this.#drop(h.pin);
  }

  ensureEndpoint(iface: string, journal?: Journal): void {
    const pin = join(this.dir, linkPinName({ role: 'endpoint', iface }, 'tcx-ingress'));
    const live = this.#live(pin);
    // adopted: no reattach, no reload. A live link on another ifindex belongs
    // to an interface that was renamed away; #pinAll replaces it.
    if (live !== 0 && live === ifindexOf(iface)) return;
    this.#pinAll(attachEndpoint(this.#dp(), iface, { assumePeerNapi: this.opts.assumePeerNapi }), journal);
  }

  /** The ifindex iface's endpoint tcx link is live on; 0 when none is pinned or it is defunct. */
  endpointIfindex(iface: string): number {
    return this.#live(join(this.dir, linkPinName({ role: 'endpoint', iface }, 'tcx-ingress')));
  }

  endpoints(): HookStatus[] {
    return this.list().filter((h) => h.role === 'endpoint');
  }

  removeEndpoint(iface: string): void {
    for (const h of this.list()) if (h.role === 'endpoint' && h.iface === iface) this.#drop(h.pin);
  }

  removeAll(): number {
    const all = this.list();
    // XDP first: until its tcx half is gone too, frames it hands to GRO still reach their endpoint
    for (const h of [...all.filter((x) => x.hook === 'xdp'), ...all.filter((x) => x.hook !== 'xdp')]) this.#drop(h.pin);
    return all.length;
  }
}

export function ifaceName(ifindex: number): string {
  return ifnameOf(ifindex);
}
