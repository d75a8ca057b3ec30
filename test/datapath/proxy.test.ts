// Proxy ARP and proxy ND: a request from an endpoint for an address in
// xv_neigh is answered in place (XDP_TX / redirect back to the endpoint),
// every byte of the reply checked; what must reach everybody is not answered.
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { ADDR, DEFAULT_SLOT, DpEnv, MAC, TC, XDP } from '../helpers/dpenv.js';
import { EtherType, Proto, arp, eth, hex, icmp6, ip6, ipv6, ndNa, ndNs, solicitedNode } from '../helpers/packets.js';

const VNI = 1024;
const SLOT = DEFAULT_SLOT;
const NEIGH_MAC = '02:aa:bb:cc:dd:77';
const T4 = '198.51.100.77', T6 = '2001:db8:100::77', ME4 = '198.51.100.1', ME6 = '2001:db8:100::1';

const arpReq = (o: { spa?: string; tpa?: string; op?: 1 | 2; dst?: string } = {}) => eth(o.dst ?? 'ff:ff:ff:ff:ff:ff', MAC.ep1c, EtherType.ARP,
  arp({ op: o.op ?? 1, sha: MAC.ep1c, spa: o.spa ?? ME4, tha: '00:00:00:00:00:00', tpa: o.tpa ?? T4 }));

function ns(o: { src?: string; target?: string; hop?: number; noOption?: boolean } = {}): Buffer {
  const target = o.target ?? T6, src = o.src ?? ME6;
  const sn = solicitedNode(target);
  const msg = o.noOption ? icmp6(src, sn.ip, 135, 0, Buffer.concat([Buffer.alloc(4), ip6(target)])) : ndNs(src, sn.ip, target, MAC.ep1c);
  return eth(sn.mac, MAC.ep1c, EtherType.IPV6, ipv6({ src, dst: sn.ip, nextHeader: Proto.ICMPV6, hopLimit: o.hop ?? 255, payload: msg }));
}

describeKernel('proxy ARP / ND', () => {
  let env: DpEnv;
  beforeAll(async () => {
    env = await DpEnv.create('prx');
  });
  afterAll(() => env?.destroy());
  beforeEach(() => {
    env.configureRaw();
    env.vni(VNI, { proxyArp: true, proxyNd: true, endpoints: [env.ifx.ep1, env.ifx.ep2], peers: [ADDR.peer4] });
    env.dp.neighbors.set({ vni: VNI, ip: T4, mac: NEIGH_MAC });
    env.dp.neighbors.set({ vni: VNI, ip: T6, mac: NEIGH_MAC });
    env.dp.flood.set({ vni: VNI, remotes: [], locals: [env.ifx.ep1] }); // flooding goes nowhere, but is not a drop
  });

  const both = (f: Buffer) => [
    ['xv_xdp_endpoint', env.xdp('xv_xdp_endpoint', f, env.ifx.ep1), XDP.TX],
    ['xv_xdp_ep_frags', env.xdp('xv_xdp_ep_frags', f, env.ifx.ep1), XDP.TX],
    ['xv_tc_endpoint', env.tc('xv_tc_endpoint', f, env.ifx.ep1), TC.REDIRECT],
  ] as const;

  it('ARP request -> ARP reply from the neighbour MAC, every byte', () => {
    const want = eth(MAC.ep1c, NEIGH_MAC, EtherType.ARP, arp({ op: 2, sha: NEIGH_MAC, spa: T4, tha: MAC.ep1c, tpa: ME4 }));
    env.counting({ [SLOT]: { event: { proxy_arp: 3 } } }, () => {
      for (const [p, r, v] of both(arpReq())) expect([p, r.retval, hex(r.data)]).toEqual([p, v, hex(want)]);
    });
  });

  it('NS -> solicited NA (S|O) from the target with its link-layer address, checksum valid, every byte', () => {
    const na = ndNa(T6, ME6, T6, NEIGH_MAC, 0x60);
    const want = eth(MAC.ep1c, NEIGH_MAC, EtherType.IPV6, ipv6({ src: T6, dst: ME6, nextHeader: Proto.ICMPV6, hopLimit: 255, payload: na }));
    env.counting({ [SLOT]: { event: { proxy_nd: 3 } } }, () => {
      for (const [p, r, v] of both(ns())) expect([p, r.retval, hex(r.data)]).toEqual([p, v, hex(want)]);
    });
  });

  it('not answered (flooded instead): unknown targets, gratuitous ARP, ARP probes, replies, DAD, bad hop limit, NS without option, proxy off', () => {
    const flooded: Array<[string, Buffer]> = [
      ['ARP for an unknown address', arpReq({ tpa: '198.51.100.78' })],
      ['gratuitous ARP', arpReq({ spa: T4, tpa: T4 })],
      ['ARP probe (sender 0.0.0.0)', arpReq({ spa: '0.0.0.0' })],
      ['ARP reply', arpReq({ op: 2 })],
      ['NS for an unknown target', ns({ target: '2001:db8:100::78' })],
      ['DAD NS (source ::)', ns({ src: '::' })],
      ['NS with hop limit 64', ns({ hop: 64 })],
      ['NS without source link-layer option', ns({ noOption: true })],
    ];
    for (const [name, f] of flooded) {
      const x = env.counting({ [SLOT]: { event: { xdp_to_tc: 1 } } }, () => env.xdp('xv_xdp_endpoint', f, env.ifx.ep1));
      expect([name, x.retval, hex(x.data)]).toEqual([name, XDP.PASS, hex(f)]);
      const t = env.counting({ [SLOT]: { event: { flood: 1 } } }, () => env.tc('xv_tc_endpoint', f, env.ifx.ep1));
      expect([name, t.retval]).toEqual([name, TC.SHOT]);
    }
    env.vni(VNI, { proxyArp: false, proxyNd: false, endpoints: [env.ifx.ep1, env.ifx.ep2], peers: [ADDR.peer4] });
    for (const f of [arpReq(), ns()]) {
      expect(env.counting({ [SLOT]: { event: { xdp_to_tc: 1 } } }, () => env.xdp('xv_xdp_endpoint', f, env.ifx.ep1)).retval).toBe(XDP.PASS);
      expect(env.counting({ [SLOT]: { event: { flood: 1 } } }, () => env.tc('xv_tc_endpoint', f, env.ifx.ep1)).retval).toBe(TC.SHOT);
    }
  });

  it('only ARP is answered by proxy ARP and only NS by proxy ND (flags are independent)', () => {
    env.vni(VNI, { proxyArp: true, proxyNd: false, endpoints: [env.ifx.ep1, env.ifx.ep2], peers: [ADDR.peer4] });
    expect(env.xdp('xv_xdp_endpoint', arpReq(), env.ifx.ep1).retval).toBe(XDP.TX);
    expect(env.xdp('xv_xdp_endpoint', ns(), env.ifx.ep1).retval).toBe(XDP.PASS);
    env.vni(VNI, { proxyArp: false, proxyNd: true, endpoints: [env.ifx.ep1, env.ifx.ep2], peers: [ADDR.peer4] });
    expect(env.xdp('xv_xdp_endpoint', arpReq(), env.ifx.ep1).retval).toBe(XDP.PASS);
    expect(env.xdp('xv_xdp_endpoint', ns(), env.ifx.ep1).retval).toBe(XDP.TX);
    // an all-zero MAC in xv_neigh means "not known"
    env.dp.neighbors.set({ vni: VNI, ip: T6, mac: '00:00:00:00:00:00' });
    expect(env.xdp('xv_xdp_endpoint', ns(), env.ifx.ep1).retval).toBe(XDP.PASS);
  });
});
