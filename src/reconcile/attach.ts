// Program attachments, each pinned under <pinDir>/links (named by datapath's
// linkPinName: <role>-<iface>-<hook>) so traffic keeps flowing with no xvtep
// process alive. XDP and tcx hooks are bpf_links, pinned. A netlink TC
// filter (kernels without tcx) is no link: it lives on the interface's
// clsact until removed, and its pin is the program under the hook's name
// (<role>-<iface>-tc-ingress). The filter is xvtep's when the interface of
// that name has, at (TC_HANDLE, this instance's priority), that program's
// id: adopting it is that query, nothing reloaded or re-attached.
// Attaching is datapath's attach.ts; which interfaces get what, adoption of
// live hooks and their removal are here.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AttachType, BpfError, Link, Program, TcFilter, attachedProgramIds, ifindexOf, ifnameOf, unpinPath, xdpModeOf, xdpProgIdOf } from '../bpf/index.js';
import {
  TC_HANDLE, attachEndpoint, attachEndpointXdp, attachUnderlay, endpointXdpProgram, ensureGso6Device, linkPinName, tcKindOf,
  type Attachment, type Datapath, type EndpointKind, type EndpointXdp, type HookName, type TcChoice, type TcKind, type TcMode,
} from '../datapath/index.js';
import type { EndpointXdpSetting } from '../config/index.js';
import type { Journal } from './apply.js';
import { system } from './errors.js';
import { faultPoint } from './fault.js';
import { STATE_DIR } from './state.js';

export type Role = 'underlay' | 'endpoint';
export type { HookName };

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
  /** TC hooks: a tcx link or a netlink clsact filter. */
  tcKind?: TcKind;
}

const PIN_RE = /^(underlay|endpoint)-(.+)-(xdp|tcx-ingress|tc-ingress)$/;
const TC_HOOKS = ['tcx-ingress', 'tc-ingress'] as const;

/**
 * This instance's netlink filter priority: from its pin directory, so two
 * instances on one machine (one pin dir each) never replace or remove each
 * other's filters, and a restarted one finds its own again. 0xc000..0xffff.
 */
export function tcPriority(pinDir: string): number {
  return 0xc000 | (createHash('sha256').update(pinDir).digest().readUInt16BE(0) & 0x3fff);
}

/** The ifindex of a netlink filter pinned at `pin` (its program's id is live there), else 0. */
function liveFilter(pin: string, iface: string, priority: number): { ifindex: number; progId: number | null } {
  let progId: number | null = null;
  try {
    const prog = Program.open(pin);
    try {
      progId = prog.id;
    } finally {
      prog.close();
    }
    const ifindex = ifindexOf(iface);
    return { ifindex: TcFilter.query(ifindex, 'ingress', TC_HANDLE, priority) === progId ? ifindex : 0, progId };
  } catch {
    // the interface is gone (its filters with it), or the pin is unreadable
    return { ifindex: 0, progId };
  }
}
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
  readonly tc: TcChoice;

  /** tcMode: how new TC hooks attach (default auto); live ones of either kind are adopted. */
  constructor(pinDir: string, private readonly dp?: Datapath, private readonly opts: { assumePeerNapi?: boolean; tcMode?: TcMode } = {}) {
    this.dir = join(pinDir, 'links');
    this.tc = { mode: opts.tcMode ?? 'auto', priority: tcPriority(pinDir) };
  }

  list(): HookStatus[] {
    if (!existsSync(this.dir)) return [];
    const out: HookStatus[] = [];
    for (const name of readdirSync(this.dir).sort()) {
      const m = PIN_RE.exec(name);
      if (!m) continue;
      const pin = join(this.dir, name);
      let linkId: number | null = null, progId: number | null = null, ifindex = 0;
      if (m[3] === 'tc-ingress') {
        ({ ifindex, progId } = liveFilter(pin, m[2]!, this.tc.priority));
        out.push({ role: m[1] as Role, iface: m[2]!, hook: 'tc-ingress', ifindex, pin, linkId, progId, attached: ifindex !== 0, tcKind: 'netlink' });
        continue;
      }
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
      else st.tcKind = 'tcx';
      out.push(st);
    }
    return out;
  }

  /**
   * Another xvtep instance (another pin directory, found through the state
   * files every instance keeps in STATE_DIR) with a program on iface:
   * refused, naming it. XDP would refuse a second program itself, less
   * clearly; tcx would stack a second one silently and both would act.
   * Matched by program id, which is global: ifindexes and names are per
   * network namespace, and labs run many instances, each in its own.
   */
  #refuseShared(iface: string): void {
    let here: Set<number>;
    let ifindex: number;
    try {
      ifindex = ifindexOf(iface);
      here = new Set([xdpProgIdOf(ifindex), ...attachedProgramIds(ifindex, AttachType.TCX_INGRESS)].filter((id) => id > 0));
    } catch {
      return; // attaching reports the missing interface
    }
    // Netlink filters (kernels without tcx) are not in BPF_PROG_QUERY: each
    // instance's sits at its own priority (tcPriority of its pin dir), so
    // they are looked up per instance below, and the clsact may hold only them.
    const refuse = (pinDir: string) => system(`${iface} is already attached by the xvtep instance pinned at ${pinDir}: one interface, one instance (xvtep detach --pin-dir ${pinDir} there first, or use another interface)`);
    const own = dirname(this.dir);
    let files: string[];
    try {
      files = readdirSync(STATE_DIR).filter((f) => /^[0-9a-f]{16}\.json$/.test(f));
    } catch {
      return;
    }
    for (const f of files) {
      let pinDir: string;
      try {
        pinDir = (JSON.parse(readFileSync(join(STATE_DIR, f), 'utf8')) as { pinDir: string }).pinDir;
      } catch {
        continue;
      }
      if (pinDir === own) continue;
      const links = join(pinDir, 'links');
      let pins: string[];
      try {
        pins = readdirSync(links).filter((n) => PIN_RE.test(n));
      } catch {
        continue; // not in this mount namespace, or gone
      }
      for (const p of pins) {
        let progId: number;
        if (p.endsWith('-tc-ingress')) {
          // a pinned program, not a link: on this interface if the filter at that instance's priority runs it
          let filterProg: number;
          try {
            filterProg = TcFilter.query(ifindex, 'ingress', TC_HANDLE, tcPriority(pinDir));
          } catch {
            continue;
          }
          if (filterProg === 0) continue;
          try {
            const prog = Program.open(join(links, p));
            try {
              progId = prog.id;
            } finally {
              prog.close();
            }
          } catch {
            continue;
          }
          if (progId === filterProg) throw refuse(pinDir);
          continue;
        }
        try {
          const link = Link.open(join(links, p));
          try {
            progId = link.info().progId;
          } finally {
            link.close();
          }
        } catch {
          continue;
        }
        if (here.has(progId)) throw refuse(pinDir);
      }
    }
  }

  #live(pin: string): number {
    if (!existsSync(pin)) return 0;
    const m = PIN_RE.exec(pin.slice(this.dir.length + 1));
    if (m?.[3] === 'tc-ingress') return liveFilter(pin, m[2]!, this.tc.priority).ifindex;
    const link = Link.open(pin);
    try {
      return link.info().ifindex;
    } finally {
      link.close();
    }
  }

  #pinAll(a: Attachment, journal?: Journal): void {
    this.notes.push(...a.notes);
    const auto = 'TC hooks attach as netlink clsact filters: this kernel has no tcx (linux 6.6)';
    if (this.tc.mode === 'auto' && a.links.has('tc-ingress') && !this.notes.includes(auto)) this.notes.push(auto);
    try {
      faultPoint('pin links'); // attached, not pinned yet: a kill here must leave no hook behind
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
    const m = PIN_RE.exec(pin.slice(this.dir.length + 1));
    if (m?.[3] === 'tc-ingress') {
      // only the filter with our handle, priority and program id: never another's
      const { ifindex } = liveFilter(pin, m[2]!, this.tc.priority);
      if (ifindex !== 0) new TcFilter(ifindex, 'ingress', TC_HANDLE, this.tc.priority, 0).detach();
      unpinPath(pin);
      return;
    }
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

  #tcPins(role: Role, iface: string): string[] {
    return TC_HOOKS.map((h) => join(this.dir, linkPinName({ role, iface }, h)));
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
    if (this.#live(pin) === 0) {
      // the TC half of a previous attach (either kind) goes with the XDP link it belonged to
      for (const p of this.#tcPins('underlay', iface)) this.#drop(p);
      this.#refuseShared(iface);
      this.#pinAll(attachUnderlay(this.#dp(), iface, mode, family, this.tc), journal);
    } else {
      ensureGso6Device(this.#dp()); // adopted links: the settings may have changed since
    }
    // native mode's TC half of the GRO hand-off, left over from before a switch to skb mode
    if (mode !== 'native') for (const p of this.#tcPins('underlay', iface)) this.#drop(p);
    for (const h of known) if (h.role === 'underlay' && h.iface !== iface) this.#drop(h.pin);
  }

  /**
   * The endpoint's tcx program, plus XDP as `xdp` says (`none`: any XDP link
   * goes). Adopted when already live on this ifindex with the right program:
   * no reattach, no reload. A live link on another ifindex belongs to an
   * interface that was renamed away or re-created; #pinAll replaces it.
   * `optional`: an XDP attach the kernel refuses (a driver without native
   * XDP) leaves the endpoint on tcx alone, with a note (endpointXdp: auto).
   */
  ensureEndpoint(iface: string, journal?: Journal, xdp: EndpointXdp = 'none', optional = false): void {
    const ifindex = ifindexOf(iface);
    const tcPins = this.#tcPins('endpoint', iface);
    const xdpPin = join(this.dir, linkPinName({ role: 'endpoint', iface }, 'xdp'));
    // the TC hook adopted whichever kind it is (tcx link or netlink filter)
    if (!tcPins.some((p) => this.#live(p) === ifindex)) {
      for (const p of tcPins) this.#drop(p);
      this.#drop(xdpPin);
      this.#refuseShared(iface);
      const opts = { assumePeerNapi: this.opts.assumePeerNapi, tc: this.tc };
      try {
        this.#pinAll(attachEndpoint(this.#dp(), iface, { ...opts, xdp }), journal);
      } catch (e) {
        if (xdp === 'none' || !(e instanceof BpfError)) throw e;
        if (!optional) throw xdpFailed(iface, xdp, e);
        this.notes.push(xdpRefused(iface, e));
        this.#pinAll(attachEndpoint(this.#dp(), iface, opts), journal);
      }
      return;
    }
    const had = this.endpointXdpOf(iface, ifindex);
    if (had === xdp) return;
    // a rollback puts the previous program back (after it detached the new one, recorded later)
    if (had === 'xdp' || had === 'frags') journal?.record(`restore XDP on endpoint ${iface}`, () => this.ensureEndpoint(iface, undefined, had));
    this.#drop(xdpPin);
    this.notes.push(`endpoint ${iface}: XDP ${xdpWords[had]} -> ${xdpWords[xdp]} (endpointXdp)`);
    if (xdp === 'none') return;
    try {
      this.#pinAll(attachEndpointXdp(this.#dp(), iface, xdp), journal);
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      if (!optional) throw xdpFailed(iface, xdp, e);
      this.notes.push(xdpRefused(iface, e));
    }
  }

  /**
   * Which endpoint XDP program is live on iface at ifindex: by the pinned
   * link's program id. `other`: a program this data path did not load (a
   * previous layout); `known` spares reading the pin again.
   */
  endpointXdpOf(iface: string, ifindex: number, known?: HookStatus[]): EndpointXdp | 'other' {
    const pin = join(this.dir, linkPinName({ role: 'endpoint', iface }, 'xdp'));
    let progId: number | null;
    const seen = known?.find((h) => h.pin === pin);
    if (seen) {
      if (!seen.attached || seen.ifindex !== ifindex) return 'none';
      progId = seen.progId;
    } else if (known === undefined && existsSync(pin)) {
      const link = Link.open(pin);
      try {
        const info = link.info();
        if (info.ifindex !== ifindex) return 'none';
        progId = info.progId;
      } finally {
        link.close();
      }
    } else {
      return 'none';
    }
    // by id only: a program this data path never loaded is not the one attached (nothing is loaded to compare)
    const dp = this.#dp();
    if (progId !== null && progId === dp.programId(endpointXdpProgram('xdp'))) return 'xdp';
    if (progId !== null && progId === dp.programId(endpointXdpProgram('frags'))) return 'frags';
    return 'other';
  }

  /** The ifindex iface's endpoint TC hook is live on; 0 when none is pinned or it is defunct. */
  endpointIfindex(iface: string): number {
    for (const p of this.#tcPins('endpoint', iface)) {
      const i = this.#live(p);
      if (i !== 0) return i;
    }
    return 0;
  }

  /**
   * Live TC hooks of the other kind than an explicit tcMode asks for: kept
   * (switching would cut traffic), and said so.
   */
  kindNotes(known: HookStatus[] = this.list()): string[] {
    if (this.tc.mode === 'auto') return [];
    return known.filter((h) => h.attached && h.tcKind && h.tcKind !== this.tc.mode)
      .map((h) => `${h.role} ${h.iface}: kept its live ${h.tcKind} hook although tcMode is ${this.tc.mode} (detach + attach to switch)`);
  }

  /** The kind new TC hooks get here (auto resolved by probing). */
  tcKind(): TcKind {
    return tcKindOf(this.tc.mode);
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

/** An asked-for endpoint XDP attach the kernel refused: named by endpoint and setting, errno kept. */
function xdpFailed(iface: string, xdp: EndpointXdp, e: BpfError): BpfError {
  const hint = e.notSupported ? 'the driver has no native XDP: set endpointXdp to auto or off for its VNI' : e.hint;
  return new BpfError('attach XDP', e.errno, `endpoint ${iface} (endpointXdp: ${xdp === 'frags' ? 'frags' : 'on'})`, hint, { cause: e });
}

function xdpRefused(iface: string, e: BpfError): string {
  return `endpoint ${iface}: the kernel refused XDP (${e.code}${e.notSupported ? ', no native XDP in its driver' : ''}); endpointXdp is auto, so it runs on tcx alone`;
}

/**
 * What an endpointXdp setting attaches on an interface of `kind` (see
 * endpointKind). auto: XDP where it costs nothing and the driver has it
 * natively: a tap (a VM's NIC) and a hardware NIC (one whose driver refuses
 * native XDP stays on tcx, said in a note). Not on a veth: any XDP program
 * there clears TSO on its peer, and a container's bulk TCP then leaves in
 * MTU-sized skbs. Not on other virtual kinds (bridge, vlan, macvlan, ...):
 * no native XDP there, nothing to gain and nothing to try.
 */
const xdpWords = { none: 'off', xdp: 'on', frags: 'frags', other: 'another program' } as const;

export function endpointXdpFor(setting: EndpointXdpSetting, kind: EndpointKind): EndpointXdp {
  switch (setting) {
    case 'on': return 'xdp';
    case 'frags': return 'frags';
    case 'off': return 'none';
    case 'auto': return kind === 'virtual' ? 'none' : 'xdp';
  }
}

export function ifaceName(ifindex: number): string {
  return ifnameOf(ifindex);
}
