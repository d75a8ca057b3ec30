// Attaching the data path to interfaces, and the two kernel conditions it
// depends on that no program can fix from inside:
//  - bpf_fib_lookup answers FWD_DISABLED unless forwarding is on for the
//    underlay interface (even for output lookups);
//  - XDP_REDIRECT into a veth delivers nothing unless the veth's peer has
//    NAPI (GRO on, or an XDP program), and the frames vanish without a trace.
// Both are checked on attach. Forwarding is switched on for the underlay
// interface only, and said so; a veth peer whose GRO cannot be verified is
// refused with the command that fixes it.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { BpfError, type TcFilter, hasAdjustRoomDecap, hasTcx, hasXdpAdjustMeta, ifDriverOf, ifindexOf, type Program, type XdpLink, type XdpMode } from '../bpf/index.js';
import type { Datapath } from './datapath.js';
import { ensureGso6Device } from './gso6dev.js';
import { ProgName } from './layout.js';
import { NO_XDP_METADATA_NOTE } from './probe.js';

export type UnderlayMode = 'native' | 'skb' | 'tc';
export type EndpointXdp = 'none' | 'xdp' | 'frags';

/** How TC programs attach: tcx links (linux 6.6) or netlink clsact filters; auto probes for tcx. */
export type TcMode = 'auto' | 'tcx' | 'netlink';
export type TcKind = 'tcx' | 'netlink';
/** 'tc-ingress' is a netlink filter, 'tcx-ingress' a tcx link. */
export type HookName = 'xdp' | 'tcx-ingress' | 'tc-ingress';

/**
 * How TC hooks attach. Netlink filters are found again by (handle,
 * priority) on the interface's clsact ingress and the program id there;
 * the priority is per instance so two instances never touch each other's.
 */
export interface TcChoice {
  mode: TcMode;
  priority: number;
}
/** The cls_bpf handle of every xvtep filter ("xv"). */
export const TC_HANDLE = 0x7876;
export const DEFAULT_TC: TcChoice = { mode: 'auto', priority: 0xc000 };

/** The kind `mode` resolves to on this kernel; tcx asked for where there is none fails here, before anything is attached. */
export function tcKindOf(mode: TcMode): TcKind {
  if (mode === 'netlink') return 'netlink';
  if (hasTcx()) return 'tcx';
  if (mode === 'tcx') {
    throw new BpfError('attach', constants.errno.EOPNOTSUPP, 'tcMode tcx', 'this kernel has no tcx (linux 6.6); use tcMode auto or netlink (or --tc-mode)');
  }
  return 'netlink';
}

/**
 * What keeps one hook attached. A bpf_link (xdp, tcx) detaches when its last
 * fd closes unless pinned. A netlink filter stays until removed; pinning
 * pins its program under the hook's name, which marks the filter as xvtep's.
 */
export interface Hook {
  pin(path: string): void;
  close(): void;
  detach(): void;
}

export class NetlinkHook implements Hook {
  constructor(readonly filter: TcFilter, readonly prog: Program) {}
  pin(path: string): void {
    this.prog.pin(path);
  }
  /** The filter stays: close() only lets go of this object. */
  close(): void {}
  detach(): void {
    this.filter.detach();
  }
}

/** The TC ingress hook of `prog` on ifindex, as `tc` says. */
export function attachTcIngress(prog: Program, ifindex: number, tc: TcChoice): [HookName, Hook] {
  if (tcKindOf(tc.mode) === 'tcx') return ['tcx-ingress', prog.attachTcx(ifindex, 'ingress')];
  return ['tc-ingress', new NetlinkHook(prog.attachTcNetlink(ifindex, 'ingress', { handle: TC_HANDLE, priority: tc.priority }), prog)];
}

export interface Attachment {
  iface: string;
  ifindex: number;
  role: 'underlay' | 'endpoint';
  /** What is attached, by hook: 'xdp' and/or 'tcx-ingress' or 'tc-ingress'. */
  links: Map<HookName, Hook>;
  /** What attach changed or found, for the operator's log. */
  notes: string[];
}

/** Runs `ip` (or another tool) in the calling thread's netns (spawn inherits it). */
function run(cmd: string, args: string[]): { ok: boolean; out: string; err: string } {
  // maxBuffer: a detailed dump of 1,000 bridges is ~2 MB of JSON, past spawnSync's 1 MB default
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000, maxBuffer: 256 << 20 });
  return { ok: r.status === 0, out: r.stdout ?? '', err: (r.stderr ?? '').trim() };
}

function sysctlPath(family: 4 | 6, iface: string): string {
  return `/proc/sys/net/${family === 4 ? 'ipv4' : 'ipv6'}/conf/${iface}/forwarding`;
}

/** Turns on forwarding for one interface if it is off; returns a note when it changed something. */
export function ensureForwarding(iface: string, family: 4 | 6): string | undefined {
  const path = sysctlPath(family, iface);
  let cur: string;
  try {
    cur = readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new BpfError('check forwarding', constants.errno.ENOENT, iface, `cannot read ${path}: ${(e as Error).message}`);
  }
  if (cur !== '0') return undefined;
  try {
    writeFileSync(path, '1');
  } catch (e) {
    throw new BpfError('enable forwarding', constants.errno.EPERM, iface,
      `bpf_fib_lookup needs forwarding on the underlay: sysctl -w net.${family === 4 ? 'ipv4' : 'ipv6'}.conf.${iface}.forwarding=1 (${(e as Error).message})`);
  }
  return `enabled IPv${family} forwarding on ${iface} (bpf_fib_lookup refuses to resolve next hops without it)`;
}

interface IpLink { ifname: string; ifindex: number; link_index?: number; link_netnsid?: number; linkinfo?: { info_kind?: string } }

function linkInfo(iface: string, netns?: string): IpLink {
  const r = run('ip', [...(netns ? ['-n', netns] : []), '-j', '-d', 'link', 'show', 'dev', iface]);
  if (!r.ok) throw new BpfError('inspect', constants.errno.ENODEV, `interface ${iface}`, r.err || 'ip link show failed');
  return (JSON.parse(r.out) as IpLink[])[0]!;
}

/**
 * What an endpoint interface is, for endpointXdp: auto, from sysfs (two
 * stat calls, so a reload with 1,000 endpoints pays nothing; a detailed
 * netlink dump of 1,000 bridges is ~2 MB and ~1 s here):
 *  - 'tap': a tun/tap device (it has tun_flags), a VM's NIC;
 *  - 'hardware': a device with a parent device (PCI, virtio, SR-IOV: a NIC);
 *  - 'virtual': anything else (veth, bridge, vlan, macvlan, ...).
 * sysfs is the calling process's netns's (ip netns exec mounts it so).
 */
export type EndpointKind = 'tap' | 'hardware' | 'virtual';

export function endpointKind(iface: string): EndpointKind {
  const dir = `/sys/class/net/${iface}`;
  if (existsSync(`${dir}/tun_flags`)) return 'tap';
  if (existsSync(`${dir}/device`)) return 'hardware';
  return 'virtual';
}

/** Named netns (ip netns add) by the nsid this netns knows it as. */
function netnsByNsid(nsid: number): string | undefined {
  const r = run('ip', ['-j', 'netns', 'list']);
  if (!r.ok || !r.out.trim()) return undefined;
  return (JSON.parse(r.out) as Array<{ name: string; id?: number }>).find((n) => n.id === nsid)?.name;
}

/**
 * Read-only look at an interface for `xvtep doctor`: its kind and MTU, and
 * for a veth its peer's ethtool features (read in the peer's named netns).
 * peer: null when not a veth; 'unreachable' when the peer is in a namespace
 * xvtep cannot enter.
 */
export function inspectInterface(iface: string): {
  kind: string | null; mtu: number; up: boolean; driver: string | null;
  peer: null | 'unreachable' | { ifname: string; mtu: number; netns?: string; features: Map<string, boolean> };
} {
  const r = run('ip', ['-j', '-d', 'link', 'show', 'dev', iface]);
  if (!r.ok) throw new BpfError('inspect', constants.errno.ENODEV, `interface ${iface}`, r.err || 'ip link show failed');
  const l = (JSON.parse(r.out) as Array<IpLink & { mtu: number; flags: string[] }>)[0]!;
  const drv = /^driver: (.*)$/m.exec(run('ethtool', ['-i', iface]).out)?.[1] ?? null;
  const base = { kind: l.linkinfo?.info_kind ?? null, mtu: l.mtu, up: l.flags.includes('UP'), driver: drv };
  if (base.kind !== 'veth') return { ...base, peer: null };
  const ns = l.link_netnsid === undefined ? undefined : netnsByNsid(l.link_netnsid);
  if (l.link_index === undefined || (l.link_netnsid !== undefined && ns === undefined)) return { ...base, peer: 'unreachable' };
  const all = run('ip', [...(ns ? ['-n', ns] : []), '-j', 'link', 'show']);
  const peer = (JSON.parse(all.out || '[]') as Array<IpLink & { mtu: number }>).find((x) => x.ifindex === l.link_index);
  if (!peer) return { ...base, peer: 'unreachable' };
  const k = ns ? run('ip', ['netns', 'exec', ns, 'ethtool', '-k', peer.ifname]) : run('ethtool', ['-k', peer.ifname]);
  const features = new Map<string, boolean>();
  for (const m of k.out.matchAll(/^([a-z0-9-]+): (on|off)/gm)) features.set(m[1]!, m[2] === 'on');
  return { ...base, peer: { ifname: peer.ifname, mtu: peer.mtu, ...(ns ? { netns: ns } : {}), features } };
}

/**
 * For a veth endpoint: makes sure its peer has GRO on (so XDP redirects into
 * it are delivered). Peers in a named namespace are fixed; any other peer must
 * be vouched for by the caller (assumePeerNapi), as we cannot see into it.
 */
export function ensureVethPeerNapi(iface: string, opts: { assumePeerNapi?: boolean } = {}): string | undefined {
  // A veth by its driver, one ioctl: `ip -d link show` for every endpoint
  // attached cost a process spawn each (2-15 ms here, 40 of them at a start-up).
  if (ifDriverOf(iface) !== 'veth') return undefined;
  if (opts.assumePeerNapi) return `assuming the peer of ${iface} has GRO or XDP (not verified)`;
  const l = linkInfo(iface);
  const peerIndex = l.link_index;
  const ns = l.link_netnsid === undefined ? undefined : netnsByNsid(l.link_netnsid);
  if (peerIndex === undefined || (l.link_netnsid !== undefined && ns === undefined)) {
    throw new BpfError('attach', constants.errno.EOPNOTSUPP, `endpoint ${iface}`,
      'its veth peer is in a namespace xvtep cannot enter: run `ethtool -K <peer> gro on` on the container side, then attach with assumePeerNapi');
  }
  const all = run('ip', [...(ns ? ['-n', ns] : []), '-j', 'link', 'show']);
  const peer = (JSON.parse(all.out || '[]') as IpLink[]).find((x) => x.ifindex === peerIndex);
  if (!peer) throw new BpfError('attach', constants.errno.ENODEV, `endpoint ${iface}`, `veth peer ifindex ${peerIndex} not found`);
  const exec = (args: string[]) => (ns ? run('ip', ['netns', 'exec', ns, 'ethtool', ...args]) : run('ethtool', args));
  const k = exec(['-k', peer.ifname]);
  if (!k.ok) throw new BpfError('attach', constants.errno.EOPNOTSUPP, `endpoint ${iface}`, `ethtool -k ${peer.ifname} failed: ${k.err}`);
  if (/^generic-receive-offload: on/m.test(k.out)) return undefined;
  const set = exec(['-K', peer.ifname, 'gro', 'on']);
  if (!set.ok) {
    throw new BpfError('attach', constants.errno.EOPNOTSUPP, `endpoint ${iface}`,
      `XDP redirects into a veth need GRO on its peer, and \`ethtool -K ${peer.ifname} gro on\` failed: ${set.err}`);
  }
  return `enabled GRO on ${peer.ifname}${ns ? ` in netns ${ns}` : ''}, the peer of ${iface} (XDP redirects into a veth need it)`;
}

/**
 * GRO on the underlay, which the native-mode GRO hand-off feeds (NICs have
 * it on by default, a veth off). Turned on if it is off; false, with the
 * reason, if it cannot be.
 */
function ensureUnderlayGro(iface: string): { on: boolean; note?: string } {
  const k = run('ethtool', ['-k', iface]);
  if (!k.ok) return { on: false, note: `ethtool -k ${iface} failed (${k.err})` };
  const m = /^generic-receive-offload: (on|off)( \[fixed\])?/m.exec(k.out);
  if (m?.[1] === 'on') return { on: true };
  if (!m || m[2]) return { on: false, note: `GRO cannot be turned on for ${iface}` };
  const set = run('ethtool', ['-K', iface, 'gro', 'on']);
  if (!set.ok) return { on: false, note: `\`ethtool -K ${iface} gro on\` failed: ${set.err}` };
  return { on: true, note: `enabled GRO on underlay ${iface} (TCP to endpoints is aggregated there before delivery)` };
}

/**
 * A veth underlay in native XDP mode receives the sender's pending
 * checksums (CHECKSUM_PARTIAL crosses a veth, and an XDP redirect drops that
 * state): TCP then arrives with bad checksums. A NIC never does this.
 */
function vethUnderlayNote(iface: string, mode: UnderlayMode): string | undefined {
  if (mode === 'tc') return undefined;
  if (ifDriverOf(iface) !== 'veth') return undefined;
  return `underlay ${iface} is a veth: its peer must not offload checksums (ethtool -K <peer> tx off), ` +
    'or TCP it sends arrives with partial checksums; mode tc does not have this limit';
}

/**
 * Receive side on the underlay NIC: XDP in the mode asked for, or the tcx
 * program; and the NIC becomes the XDP encap fast path's uplink. In native
 * mode the tcx program goes on too, as the second half of the GRO hand-off
 * (Datapath.setRxGro), switched on once both are in place.
 */
export function attachUnderlay(dp: Datapath, iface: string, mode: UnderlayMode, family: 4 | 6, tc: TcChoice = DEFAULT_TC): Attachment {
  const ifindex = ifindexOf(iface);
  const notes: string[] = [];
  const fwd = ensureForwarding(iface, family);
  if (fwd) notes.push(fwd);
  const veth = vethUnderlayNote(iface, mode);
  if (veth) notes.push(veth);
  const links = new Map<HookName, Hook>();
  if (mode === 'tc') {
    if (!hasAdjustRoomDecap()) {
      throw new BpfError('attach', constants.errno.EOPNOTSUPP, `underlay ${iface}`,
        'tc mode decapsulates with bpf_skb_adjust_room\'s DECAP_L3 flags, which this kernel lacks (linux 6.3); use xdpMode native or skb');
    }
    links.set(...attachTcIngress(dp.program(ProgName.tcUnderlay), ifindex, tc));
    notes.push(`underlay ${iface}: tc mode (skb path), slower than XDP`);
  } else {
    const xdpMode: XdpMode = mode === 'native' ? 'driver' : 'skb';
    const link: XdpLink = dp.program(ProgName.xdpUnderlay).attachXdp(ifindex, { mode: xdpMode });
    links.set('xdp', link);
    if (mode === 'skb') notes.push(`underlay ${iface}: generic (skb) XDP, as configured`);
  }
  try {
    // generic XDP runs after GRO: nothing to hand off to
    let handOff = false;
    if (mode === 'native' && !hasXdpAdjustMeta()) {
      notes.push(`underlay ${iface}: ${NO_XDP_METADATA_NOTE}`);
    } else if (mode === 'native' && !hasAdjustRoomDecap()) {
      notes.push(`underlay ${iface}: this kernel lacks bpf_skb_adjust_room's DECAP_L3 flags (linux 6.3), so the GRO hand-off is off: ` +
        'TCP to endpoints is redirected segment by segment');
    } else if (mode === 'native') {
      const gro = ensureUnderlayGro(iface);
      if (gro.note) notes.push(gro.on ? gro.note : `${gro.note}: TCP to endpoints is redirected segment by segment`);
      handOff = gro.on;
    }
    if (handOff) links.set(...attachTcIngress(dp.program(ProgName.tcUnderlay), ifindex, tc));
    dp.setRxGro(handOff ? ifindex : 0);
    const gso6 = ensureGso6Device(dp);
    if (gso6) notes.push(gso6);
    if (!dp.setUplink(ifindex)) {
      notes.push(`underlay ${iface}: the pinned data path predates xv_uplink, so the XDP encap fast path ` +
        'redirects by ifindex (~7 ns more per packet); detach and attach again to load the current programs');
    }
  } catch (e) {
    for (const l of links.values()) l.close();
    throw e;
  }
  return { iface, ifindex, role: 'underlay', links, notes };
}

/**
 * Transmit side on an endpoint's host interface: tcx ingress always (the
 * full path), XDP only when asked — on a veth any XDP program clears TSO on
 * the peer, which costs bulk TCP about 4x (measured 12 vs 3 Gbit/s).
 */
export function attachEndpoint(dp: Datapath, iface: string, opts: { xdp?: EndpointXdp; assumePeerNapi?: boolean; tc?: TcChoice } = {}): Attachment {
  const ifindex = ifindexOf(iface);
  const notes: string[] = [];
  const napi = ensureVethPeerNapi(iface, opts);
  if (napi) notes.push(napi);
  const links = new Map<HookName, Hook>();
  links.set(...attachTcIngress(dp.program(ProgName.tcEndpoint), ifindex, opts.tc ?? DEFAULT_TC));
  const xdp = opts.xdp ?? 'none';
  if (xdp !== 'none') {
    try {
      links.set('xdp', dp.program(endpointXdpProgram(xdp)).attachXdp(ifindex, { mode: 'driver' }));
    } catch (e) {
      for (const l of links.values()) l.close();
      throw e;
    }
  }
  return { iface, ifindex, role: 'endpoint', links, notes };
}

/**
 * XDP alone on an endpoint whose tcx program is already in place (a setting
 * changed, or an adopted endpoint lacks it): the xdp link only.
 */
export function attachEndpointXdp(dp: Datapath, iface: string, xdp: Exclude<EndpointXdp, 'none'>): Attachment {
  const ifindex = ifindexOf(iface);
  const links = new Map<HookName, Hook>();
  links.set('xdp', dp.program(endpointXdpProgram(xdp)).attachXdp(ifindex, { mode: 'driver' }));
  return { iface, ifindex, role: 'endpoint', links, notes: [] };
}

export function endpointXdpProgram(xdp: Exclude<EndpointXdp, 'none'>): string {
  return xdp === 'frags' ? ProgName.xdpEndpointFrags : ProgName.xdpEndpoint;
}

/** Where a pinned link lives: pinDir/links/<role>-<iface>-<hook>. */
export function linkPinName(a: Pick<Attachment, 'role' | 'iface'>, hook: HookName): string {
  return `${a.role}-${a.iface}-${hook}`;
}
