// The one lab every scenario runs in, and the VTEP-host modes it swaps:
//
//   gen ns            vtep ns (the VTEP host)            sink ns
//   g0 192.0.2.1 ---- u0 192.0.2.2   [mode]   e0 ------ s0 198.51.100.2/24
//   vxr 198.51.100.1 (kernel VXLAN: the remote VTEP for TCP/latency)
//
// Modes of the VTEP host: kernel (vxlan + bridge), xvtep, ceiling (minimal
// XDP; TC encap for TCP), bare (plain IP router, no overlay: TCP/latency baseline). Only the
// VTEP host changes between modes; everything else stays as built here.
import { ObjectSpec, ifindexOf, u8, u32, u64, sumPerCpu } from '../../dist/bpf/index.js';
import { Lab, sh } from './lab.mjs';
import { outerHeader } from './packets.mjs';

export const T = {
  vni: 100,
  port: 4789,
  gen: { if: 'g0', mac: '02:b0:00:00:00:01', ip: '192.0.2.1' },
  uly: { if: 'u0', mac: '02:b0:00:00:00:02', ip: '192.0.2.2' },
  ep: { if: 'e0', mac: '02:b0:00:00:00:03', bareIp: '203.0.113.1' },
  sink: { if: 's0', mac: '02:b0:00:00:00:04', ip: '198.51.100.2', bareIp: '203.0.113.2' },
  remote: { if: 'vxr', mac: '02:b0:00:00:01:01', ip: '198.51.100.1' },
};

export const BUILD = new URL('../../build/', import.meta.url).pathname;

export function buildLab() {
  const lab = new Lab();
  const gen = lab.host('gen'), vtep = lab.host('vtep'), sink = lab.host('sink');
  lab.link(gen, T.gen.if, T.gen.mac, vtep, T.uly.if, T.uly.mac);
  lab.link(vtep, T.ep.if, T.ep.mac, sink, T.sink.if, T.sink.mac);
  lab.batch(gen, [
    `addr add ${T.gen.ip}/24 dev g0`,
    `neigh replace ${T.uly.ip} lladdr ${T.uly.mac} dev g0 nud permanent`,
    `link add vxr address ${T.remote.mac} type vxlan id ${T.vni} local ${T.gen.ip} remote ${T.uly.ip} dstport ${T.port} dev g0`,
    `link set vxr up`,
    `addr add ${T.remote.ip}/24 dev vxr`,
    `neigh replace ${T.sink.ip} lladdr ${T.sink.mac} dev vxr nud permanent`,
    `route add 203.0.113.0/24 via ${T.uly.ip}`,
  ]);
  lab.batch(vtep, [
    `addr add ${T.uly.ip}/24 dev u0`,
    `neigh replace ${T.gen.ip} lladdr ${T.gen.mac} dev u0 nud permanent`,
  ]);
  lab.sysctl(vtep, 'net.ipv4.ip_forward=1');
  // br_netfilter, if the host has it loaded, hooks every netns' bridges:
  // the kernel baseline is the bridge without it.
  for (const k of ['iptables', 'ip6tables', 'arptables']) lab.tryExec(vtep, 'sysctl', '-qw', `net.bridge.bridge-nf-call-${k}=0`);
  lab.batch(sink, [
    `link set s0 mtu 1450`,
    `addr add ${T.sink.ip}/24 dev s0`,
    `addr add ${T.sink.bareIp}/24 dev s0`,
    `neigh replace ${T.remote.ip} lladdr ${T.remote.mac} dev s0 nud permanent`,
    `route add 192.0.2.0/24 via ${T.ep.bareIp}`,
  ]);
  // GRO gives a veth the NAPI context XDP frames (XDP_TX of the generators,
  // redirects) need to be received at all; the same on every mode.
  for (const [ns, ifc] of [[gen, 'g0'], [vtep, 'u0'], [vtep, 'e0'], [sink, 's0']]) lab.exec(ns, 'ethtool', '-K', ifc, 'gro', 'on');
  // g0 plays the remote host's NIC: what it sends is what a wire carries,
  // MTU-sized frames with complete checksums (a veth would otherwise hand
  // over GSO super-frames and CHECKSUM_PARTIAL state, which no real
  // underlay delivers). The same for every mode.
  lab.exec(gen, 'ethtool', '-K', 'g0', 'tx', 'off', 'gso', 'off', 'tso', 'off');
  const ifx = {
    g0: lab.in(gen, () => ifindexOf('g0')), u0: lab.in(vtep, () => ifindexOf('u0')),
    e0: lab.in(vtep, () => ifindexOf('e0')), s0: lab.in(sink, () => ifindexOf('s0')),
  };
  return { lab, gen, vtep, sink, ifx };
}

/** Kernel VTEP: vxlan device + bridge, static FDB entries for the two MACs used. */
export function kernelMode(env) {
  const { lab, vtep } = env;
  return {
    name: 'kernel',
    up() {
      lab.batch(vtep, [
        `link add vx0 type vxlan id ${T.vni} local ${T.uly.ip} remote ${T.gen.ip} dstport ${T.port} dev u0`,
        `link add br0 type bridge`,
        `link set vx0 master br0`,
        `link set e0 master br0`,
        `link set vx0 up`,
        `link set br0 up`,
      ]);
      lab.exec(vtep, 'bridge', 'fdb', 'replace', T.sink.mac, 'dev', 'e0', 'master', 'static');
      lab.exec(vtep, 'bridge', 'fdb', 'replace', T.remote.mac, 'dev', 'vx0', 'master', 'static');
    },
    down() {
      lab.batch(vtep, ['link del vx0', 'link del br0'], { force: true, allowFail: true });
    },
  };
}

/**
 * The kernel's path (kernel, a kernelMode) with an XDP_PASS program on u0: with
 * any XDP program attached a veth copies every arriving skb into an XDP
 * buffer (veth_convert_skb_to_xdp_buff), which a NIC does not; what that lab
 * cost alone leaves of the kernel's rate. close() unloads the program.
 */
export async function kernelXdpPassMode(env, kernel) {
  const floor = await ObjectSpec.open(`${BUILD}bench/floor.bpf.o`, 'floor-pass').load();
  let links = [];
  return {
    name: 'kernel+xdp-pass',
    up() {
      kernel.up();
      links = env.lab.in(env.vtep, () => [floor.program('xdp_pass').attachXdp('u0', { mode: 'driver' })]);
    },
    down() {
      for (const l of links) l.close();
      links = [];
      kernel.down();
    },
    close: () => floor.close(),
  };
}

/** Bare underlay: the VTEP host routes between g0 and s0, no overlay. */
export function bareMode(env) {
  const { lab, vtep, sink } = env;
  return {
    name: 'bare',
    up() {
      lab.exec(vtep, 'ip', 'addr', 'add', `${T.ep.bareIp}/24`, 'dev', 'e0');
      lab.exec(sink, 'ip', 'link', 'set', 's0', 'mtu', '1500');
    },
    down() {
      lab.tryExec(vtep, 'ip', 'addr', 'flush', 'dev', 'e0');
      lab.tryExec(sink, 'ip', 'link', 'set', 's0', 'mtu', '1450');
    },
  };
}

/**
 * Ceiling: minimal programs, no lookups. profile({ decap, encap }):
 *  - decap 'xdp': ceil_decap on u0 (-> e0); 'gro': ceil_decap_gro + tcx
 *    ceil_tc_gro on u0, xvtep's GRO hand-off without lookups (TCP profile);
 *  - encap 'xdp': XDP ceil_encap on e0 (-> u0), the XDP encap ceiling; 'tc':
 *    tcx ceil_tc_encap on e0, the TC encap ceiling (pushes the 50 bytes,
 *    keeps GSO), what xvtep's tcx encap is compared with.
 * The old { endpointXdp } profile maps to { xdp, xdp } / { gro, tc }.
 */
export async function ceilingMode(env) {
  const { lab, vtep, ifx } = env;
  const load = (meta) => {
    const spec = ObjectSpec.open(`${BUILD}bench/ceiling.bpf.o`, 'ceiling');
    spec.setConstant('ceil_decap_ifindex', u32, ifx.e0);
    spec.setConstant('ceil_encap_ifindex', u32, ifx.u0);
    if (!meta) spec.setConstant('ceil_xdp_meta', u8, 0);
    spec.setRodata('ceil_outer', outerHeader({ dmac: T.gen.mac, smac: T.uly.mac, src: T.uly.ip, dst: T.gen.ip, vni: T.vni }));
    return spec.load();
  };
  let coll;
  const notes = [];
  try {
    coll = await load(true);
  } catch (e) {
    if (!/cannot use helper bpf_xdp_adjust_meta/.test(e?.log ?? '')) throw e;
    coll = await load(false);
    notes.push('ceiling: this kernel refuses bpf_xdp_adjust_meta to XDP; ceil_decap_gro redirects like xvtep does here');
  }
  let links = [];
  let profile = { decap: 'xdp', encap: 'xdp' };
  return {
    name: 'ceiling',
    coll,
    notes,
    /** Sets the attach profile used by the next up(). */
    profile(p) {
      if ('endpointXdp' in p) p = p.endpointXdp ? { decap: 'xdp', encap: 'xdp' } : { decap: 'gro', encap: 'tc' };
      profile = { ...profile, ...p };
      return this;
    },
    up() {
      links = lab.in(vtep, () => [
        ...(profile.decap === 'xdp' ? [coll.program('ceil_decap').attachXdp('u0', { mode: 'driver' })]
          : [coll.program('ceil_decap_gro').attachXdp('u0', { mode: 'driver' }), coll.program('ceil_tc_gro').attachTcx('u0', 'ingress')]),
        profile.encap === 'xdp' ? coll.program('ceil_encap').attachXdp('e0', { mode: 'driver' }) : coll.program('ceil_tc_encap').attachTcx('e0', 'ingress'),
      ]);
    },
    down() {
      for (const l of links) l.close();
      links = [];
    },
    close() {
      this.down();
      coll.close();
    },
  };
}

/** A counting XDP sink (test/fixtures/traffic.bpf.c `sink_arp`: ARP passes) on one interface. */
export async function sinkOn(lab, ns, ifc) {
  const coll = await ObjectSpec.open(`${BUILD}fixtures/traffic.bpf.o`, `sink-${ifc}`).load();
  const stats = coll.perCpuMap('sink_stats', u32, u64);
  let link;
  return {
    attach() {
      // ARP passes: xvtep keeps its underlay next hops resolved (managed neighbours)
      if (!link) link = lab.in(ns, () => coll.program('sink_arp').attachXdp(ifc, { mode: 'driver' }));
    },
    detach() {
      link?.close();
      link = undefined;
    },
    packets: () => Number(sumPerCpu(stats.get(0))),
    close() {
      this.detach();
      coll.close();
    },
  };
}

/** Runs every closer, last registered first; one that throws does not stop the rest. */
export function closeAll(closers) {
  for (const c of closers.reverse()) {
    try {
      c();
    } catch {
      // cleanup: the rest must still run
    }
  }
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

export { sh };
