// The checks of `xvtep doctor`: what the kernel, the privileges, the pin dir,
// the underlay NIC, the endpoints and the metrics port look like to xvtep,
// each ok / warn / fail with the fix. Read-only: nothing is attached,
// switched on or written, except the trial XDP attach of --probe-attach.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { release } from 'node:os';
import { dirname } from 'node:path';
import { Datapath, inspectInterface, type TcKind } from '../../datapath/index.js';
import { BpfError, isBpffs, probeFeatures, probeNativeXdp, ifindexOf } from '../../bpf/index.js';
import type { Config } from '../../config/index.js';
import { Attachments, readState } from '../../reconcile/index.js';
import { alive } from '../../daemon/index.js';

export type Verdict = 'ok' | 'warn' | 'fail';
export interface Check {
  check: string;
  status: Verdict;
  message: string;
  /** When not ok: what to do about it. */
  fix?: string;
}

const ok = (check: string, message: string): Check => ({ check, status: 'ok', message });
const warn = (check: string, message: string, fix: string): Check => ({ check, status: 'warn', message, fix });
const fail = (check: string, message: string, fix: string): Check => ({ check, status: 'fail', message, fix });

// capability numbers (linux/capability.h)
const CAP = { NET_ADMIN: 12, SYS_ADMIN: 21, BPF: 39 } as const;

function effectiveCaps(): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

export function privilegeChecks(): Check[] {
  const caps = effectiveCaps();
  const has = (n: number) => (caps >> BigInt(n)) & 1n ? true : false;
  const out: Check[] = [];
  const bpf = has(CAP.BPF) || has(CAP.SYS_ADMIN);
  out.push(bpf ? ok('privileges: CAP_BPF', has(CAP.BPF) ? 'CAP_BPF held' : 'CAP_SYS_ADMIN held (covers CAP_BPF)')
    : fail('privileges: CAP_BPF', 'neither CAP_BPF nor CAP_SYS_ADMIN is effective: programs and maps cannot be loaded',
      'run as root, or grant the capabilities (systemd: AmbientCapabilities=CAP_BPF CAP_NET_ADMIN CAP_SYS_ADMIN)'));
  out.push(has(CAP.NET_ADMIN) ? ok('privileges: CAP_NET_ADMIN', 'CAP_NET_ADMIN held')
    : fail('privileges: CAP_NET_ADMIN', 'CAP_NET_ADMIN is not effective: XDP and TC hooks cannot be attached',
      'run as root, or grant CAP_NET_ADMIN (systemd: AmbientCapabilities=)'));
  return out;
}

/** The kernel and its features; tcMode says whether a missing tcx is fatal. */
export function kernelChecks(tcMode: Config['underlay']['tcMode'] | undefined): Check[] {
  const out: Check[] = [ok('kernel', `linux ${release()}`)];
  let features;
  try {
    features = probeFeatures();
  } catch (e) {
    const code = e instanceof BpfError ? e.code : (e as Error).message;
    out.push(fail('kernel features', `cannot probe (${code})`, 'probing loads tiny programs: run doctor with CAP_BPF (as root)'));
    return out;
  }
  for (const f of features) {
    const name = `feature: ${f.name}`;
    if (f.present) {
      out.push(ok(name, `present (linux ${f.since})`));
      continue;
    }
    const msg = `absent${f.detail ? ` (${f.detail})` : ''}; first in linux ${f.since}; without it ${f.without}`;
    const fatal = f.without === 'the data path programs do not load' || (f.key === 'tcx' && tcMode === 'tcx');
    if (f.key === 'btf') out.push(warn(name, msg, 'a kernel built with CONFIG_DEBUG_INFO_BTF=y'));
    else if (fatal) out.push(fail(name, msg, f.key === 'tcx' ? 'set underlay.tcMode: auto (or netlink), or run linux >= 6.6' : `run linux >= ${f.since}`));
    else if (f.key === 'helper:bpf_xdp_adjust_meta') out.push(warn(name, msg, 'a kernel that lets XDP call bpf_xdp_adjust_meta (mainline has since 4.15; this one refuses it) for the GRO hand-off'));
    else out.push(warn(name, msg, `linux >= ${f.since} for the full data path`));
  }
  return out;
}

/** Nearest existing ancestor of `p` (itself if it exists). */
function existing(p: string): string {
  let d = p;
  while (!existsSync(d) && d !== '/') d = dirname(d);
  return d;
}

export function pinDirChecks(pinDir: string): Check[] {
  const out: Check[] = [];
  const at = existing(pinDir);
  if (!isBpffs(at)) {
    out.push(fail('pin dir', `${pinDir}: ${at === pinDir ? 'not' : `${at} is not`} on a bpffs, so it cannot hold pins`,
      `mount -t bpf bpf ${at === '/' ? '/sys/fs/bpf' : at}, or choose state.pinDir / --pin-dir under a bpffs (usually /sys/fs/bpf)`));
    return out;
  }
  out.push(ok('pin dir', `${pinDir} ${at === pinDir ? 'exists' : 'can be created'} on a bpffs`));
  if (!Datapath.isPinned(pinDir)) {
    out.push(ok('instance', `nothing attached from ${pinDir}`));
    return out;
  }
  const hooks = new Attachments(pinDir).list();
  const defunct = hooks.filter((h) => !h.attached);
  const kinds = [...new Set(hooks.filter((h) => h.tcKind && h.attached).map((h) => h.tcKind as TcKind))];
  const st = readState(pinDir);
  const daemon = alive(st.daemonPid) ? `, xvtep run pid ${st.daemonPid}` : ', no daemon';
  const what = `an instance is attached from ${pinDir}: ${hooks.length - defunct.length} live hook(s)${kinds.length ? ` (TC: ${kinds.join(' + ')})` : ''}${daemon}`;
  out.push(defunct.length
    ? warn('instance', `${what}; defunct: ${defunct.map((h) => `${h.iface} ${h.hook}`).join(', ')}`, 'xvtep attach (or the running daemon) re-attaches interfaces that came back; xvtep detach removes it all')
    : ok('instance', what));
  return out;
}

const VXLAN_OVERHEAD = { 4: 50, 6: 70 } as const;
// Drivers with native XDP in mainline (a sample; others may have it too: --probe-attach tells).
const NATIVE_XDP_DRIVERS = new Set(['veth', 'virtio_net', 'tun', 'mlx5_core', 'mlx4_en', 'i40e', 'ice', 'ixgbe', 'ixgbevf', 'igb', 'igc',
  'bnxt_en', 'ena', 'nfp', 'qede', 'sfc', 'thunder-nicvf', 'dpaa2-eth', 'stmmaceth', 'netsec', 'mvneta', 'mvpp2', 'hv_netvsc', 'gve', 'idpf', 'atlantic', 'bond', 'lan966x-switch', 'fec', 'tsnep', 'xen-netfront']);

export function underlayChecks(cfg: Config, opts: { probeAttach: boolean }): Check[] {
  const u = cfg.underlay;
  const name = `underlay ${u.interface}`;
  let nic: ReturnType<typeof inspectInterface>;
  try {
    nic = inspectInterface(u.interface);
  } catch {
    return [fail(name, 'does not exist', `create it, or set underlay.interface to the NIC that carries VXLAN (ip link)`)];
  }
  const out: Check[] = [];
  out.push(nic.up ? ok(name, `exists, up, driver ${nic.driver ?? 'unknown'}, mtu ${nic.mtu}`)
    : fail(name, `exists but is down`, `ip link set dev ${u.interface} up`));
  const xname = `${name}: native XDP`;
  if (u.xdpMode === 'skb') {
    out.push(ok(xname, 'xdpMode skb (generic XDP): not needed'));
  } else if (opts.probeAttach) {
    const r = probeNativeXdp(ifindexOf(u.interface));
    out.push(r.ok ? ok(xname, 'a trial XDP_PASS attach in driver mode worked (detached again)')
      : fail(xname, `driver ${nic.driver ?? '?'} refused a driver-mode XDP attach (${r.code})`, 'set underlay.xdpMode: skb (generic XDP, slower), or use a NIC whose driver has native XDP'));
  } else if (nic.driver && NATIVE_XDP_DRIVERS.has(nic.driver)) {
    out.push(ok(xname, `driver ${nic.driver} has native XDP`));
  } else {
    out.push(warn(xname, `driver ${nic.driver ?? 'unknown'} is not known to have native XDP`,
      'xvtep doctor --probe-attach tries a driver-mode attach (briefly attaches an XDP_PASS program), or set underlay.xdpMode: skb'));
  }
  const family: 4 | 6 = u.family === 6 || (u.address ?? '').includes(':') ? 6 : 4;
  const mtu = u.mtu ?? nic.mtu;
  const need = VXLAN_OVERHEAD[family];
  const endpoints = [...new Set(cfg.vnis.flatMap((v) => v.endpoints))];
  const tooBig: string[] = [];
  for (const ep of endpoints) {
    try {
      // a veth endpoint carries what its peer (the container side) sends
      const e = inspectInterface(ep);
      const epMtu = e.peer && e.peer !== 'unreachable' ? e.peer.mtu : e.mtu;
      if (epMtu + need > mtu) tooBig.push(`${ep} (mtu ${epMtu}${e.peer && e.peer !== 'unreachable' ? ` on its peer ${e.peer.ifname}` : ''})`);
    } catch {
      // reported by the endpoint check
    }
  }
  const mname = `${name}: MTU headroom`;
  out.push(tooBig.length
    ? fail(mname, `underlay MTU ${mtu} leaves less than the ${need} bytes of VXLAN over IPv${family} for ${tooBig.join(', ')}: full-size frames cannot be sent`,
      `set the endpoint's MTU (its container side) to ${mtu - need}, or raise the underlay MTU to ${Math.max(...tooBig.map((t) => Number(/mtu (\d+)/.exec(t)![1]))) + need}`)
    : ok(mname, `MTU ${mtu} carries every endpoint's frames plus ${need} bytes of VXLAN over IPv${family}`));
  if (nic.kind === 'veth' && u.xdpMode === 'native') {
    const cname = `${name}: veth peer checksums`;
    if (nic.peer === 'unreachable' || nic.peer === null) {
      out.push(warn(cname, 'the underlay is a veth whose peer xvtep cannot see', 'on the peer: ethtool -K <peer> tx off (native XDP cannot carry a pending checksum)'));
    } else if (nic.peer.features.get('tx-checksumming')) {
      const where = nic.peer.netns ? `ip netns exec ${nic.peer.netns} ` : '';
      out.push(warn(cname, `the underlay is a veth and its peer ${nic.peer.ifname}${nic.peer.netns ? ` (netns ${nic.peer.netns})` : ''} offloads checksums: TCP it sends arrives with partial checksums after native XDP`,
        `${where}ethtool -K ${nic.peer.ifname} tx off, or set underlay.xdpMode: skb`));
    } else {
      out.push(ok(cname, `peer ${nic.peer.ifname} computes its checksums (tx off)`));
    }
  }
  if (family === 6) {
    // what the TC encap does today (bpf_skb_adjust_room cannot ask for a checksummed UDP tunnel GSO)
    out.push(ok(`${name}: IPv6 UDP checksums`, (u.udpChecksumV6
      ? 'udpChecksumV6 true: xvtep fills the outer UDP6 checksum where it computes the frame (XDP, ICMP) but sends zero on GSO and partial-checksum frames from the TC path'
      : 'udpChecksumV6 false: xvtep sends a zero outer UDP6 checksum on every frame') +
      '; kernel vxlan peers therefore need udp6zerocsumrx (ip link add ... type vxlan ... udp6zerocsumrx)'));
  }
  return out;
}

export function endpointChecks(cfg: Config): Check[] {
  const out: Check[] = [];
  for (const ep of [...new Set(cfg.vnis.flatMap((v) => v.endpoints))]) {
    const name = `endpoint ${ep}`;
    let e: ReturnType<typeof inspectInterface>;
    try {
      e = inspectInterface(ep);
    } catch {
      out.push(warn(name, 'does not exist', 'xvtep run attaches it when it appears; xvtep attach refuses until it exists'));
      continue;
    }
    if (e.peer === null) {
      out.push(ok(name, `exists (${e.kind ?? 'device'}), mtu ${e.mtu}`));
    } else if (e.peer === 'unreachable') {
      out.push(warn(`${name}: peer GRO`, 'a veth whose peer is in a namespace xvtep cannot enter: its GRO cannot be checked',
        'ethtool -K <peer> gro on inside the container, then attach with --assume-peer-napi'));
    } else if (e.peer.features.get('generic-receive-offload')) {
      out.push(ok(`${name}: peer GRO`, `peer ${e.peer.ifname} has GRO on (XDP redirects into the veth are delivered)`));
    } else {
      const where = e.peer.netns ? `ip netns exec ${e.peer.netns} ` : '';
      out.push(warn(`${name}: peer GRO`, `peer ${e.peer.ifname}${e.peer.netns ? ` (netns ${e.peer.netns})` : ''} has GRO off: XDP redirects into the veth would vanish (attach turns it on)`,
        `${where}ethtool -K ${e.peer.ifname} gro on`));
    }
  }
  return out;
}

/** Whether the metrics listen address can be bound (a daemon of this instance holding it is fine). */
export async function metricsCheck(cfg: Config): Promise<Check> {
  const m = cfg.metrics;
  const addr = `${m.listen.host.includes(':') ? `[${m.listen.host}]` : m.listen.host}:${m.listen.port}`;
  if (!m.enabled) return ok('metrics port', 'metrics disabled');
  const st = readState(cfg.state.pinDir);
  const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    const s = createServer();
    s.once('error', (e) => resolve(e));
    s.listen({ host: m.listen.host, port: m.listen.port, exclusive: true }, () => s.close(() => resolve(null)));
  });
  if (!err) return ok('metrics port', `${addr} is free`);
  if (err.code === 'EADDRINUSE' && alive(st.daemonPid)) return ok('metrics port', `${addr} is taken, by this instance's xvtep run (pid ${st.daemonPid}) presumably`);
  return fail('metrics port', `${addr} cannot be bound: ${err.code ?? err.message}`,
    err.code === 'EADDRINUSE' ? `ss -ltnp 'sport = :${m.listen.port}' names the holder; stop it or set metrics.listen to a free port` : 'set metrics.listen to an address of this host');
}
