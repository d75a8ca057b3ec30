// Every drop reason the programs can reach under BPF_PROG_TEST_RUN, each
// with its verdict and exactly its counter (in the right slot) moving.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { ADDR, DEFAULT_SLOT, DpEnv, MAC, TC, XDP } from '../helpers/dpenv.js';
import { EtherType, Proto, checksum, eth, fill, icmpEcho, ipv4, ipv6, pseudo4, pseudo6, tcp, udp, vxlan } from '../helpers/packets.js';
import { DROP_REASONS } from '../../src/datapath/index.js';
import { formatIPv6 } from '../../src/bpf/index.js';

const VNI = 1024;
const SLOT = DEFAULT_SLOT;

const inner = (dst: string = MAC.ep2c, src: string = MAC.rem, size = 64) => eth(dst, src, EtherType.IPV4, ipv4({
  src: '198.51.100.2', dst: '198.51.100.1', proto: Proto.ICMP, df: true, payload: icmpEcho(1, 1, fill(size)),
}));

const vx4 = (i: Buffer, o: { vni?: number; src?: string; tos?: number } = {}) => eth(MAC.uly, MAC.peer, EtherType.IPV4, ipv4({
  src: o.src ?? ADDR.peer4, dst: ADDR.local4, proto: Proto.UDP, tos: o.tos, payload: udp({ sport: 50000, dport: 4789, payload: vxlan(o.vni ?? VNI, i) }),
}));
const vx6 = (i: Buffer, o: { vni?: number; src?: string; tclass?: number } = {}) => eth(MAC.uly, MAC.peer, EtherType.IPV6, ipv6({
  src: o.src ?? ADDR.peer6, dst: ADDR.local6, nextHeader: Proto.UDP, tclass: o.tclass,
  payload: udp({ sport: 50000, dport: 4789, payload: vxlan(o.vni ?? VNI, i), pseudo: { src: o.src ?? ADDR.peer6, dst: ADDR.local6 } }),
}));

/** Frame from the container behind ep1. */
const fromEp1 = (dst: string, size = 64, df = true) => eth(dst, MAC.ep1c, EtherType.IPV4, ipv4({
  src: '198.51.100.1', dst: '198.51.100.2', proto: Proto.UDP, df, payload: udp({ sport: 1, dport: 2, payload: fill(size) }),
}));

describeKernel('drop reasons and their counters', () => {
  let env: DpEnv;
  const covered = new Set<string>();
  beforeAll(async () => {
    env = await DpEnv.create('drp');
  });
  afterAll(() => env?.destroy());
  beforeEach(() => {
    env.configureRaw();
    env.vni(VNI, { endpoints: [env.ifx.ep1, env.ifx.ep2], peers: [ADDR.peer4, ADDR.peer6] });
    env.staticLocal(VNI, MAC.ep2c, env.ifx.ep2);
    env.staticLocal(VNI, MAC.ep1c, env.ifx.ep1);
    env.staticRemote(VNI, MAC.rem, ADDR.peer4);
  });

  const rxBoth = (slot: number, reason: string, f: Buffer, extra: Record<string, unknown> = {}) => {
    env.counting({ [slot]: { drop: { [reason]: 2 }, ...extra } }, () => {
      expect(env.xdp('xv_xdp_underlay', f).retval).toBe(XDP.DROP);
      expect(env.tc('xv_tc_underlay', f, env.ifx.uly).retval).toBe(TC.SHOT);
    });
    covered.add(reason);
  };
  const epBoth = (reason: string, f: Buffer, progs = ['xv_xdp_endpoint', 'xv_xdp_ep_frags', 'xv_tc_endpoint']) => {
    env.counting({ [SLOT]: { drop: { [reason]: progs.length } } }, () => {
      for (const p of progs) {
        const r = p === 'xv_tc_endpoint' ? env.tc(p, f, env.ifx.ep1) : env.xdp(p, f, env.ifx.ep1);
        expect([p, r.retval]).toEqual([p, p === 'xv_tc_endpoint' ? TC.SHOT : XDP.DROP]);
      }
    });
    covered.add(reason);
  };

  describe('receive', () => {
    it('unknown_vni: counted in slot 0 (no VNI to charge)', () => {
      rxBoth(0, 'unknown_vni', vx4(inner(), { vni: 999 }));
      rxBoth(0, 'unknown_vni', vx6(inner(), { vni: 16777215 }));
    });

    it('unknown_peer: counted in the VNI slot; allowUnknownPeers accepts it', () => {
      rxBoth(SLOT, 'unknown_peer', vx4(inner(), { src: '192.0.2.200' }));
      rxBoth(SLOT, 'unknown_peer', vx6(inner(), { src: '2001:db8::200' }));
      // a peer of another VNI is unknown for this one
      env.vni(77, { slot: 6, peers: ['192.0.2.201'] });
      rxBoth(SLOT, 'unknown_peer', vx4(inner(), { src: '192.0.2.201' }));
      env.vni(VNI, { allowUnknownPeers: true, endpoints: [env.ifx.ep1, env.ifx.ep2], peers: [ADDR.peer4] });
      const i = inner();
      env.counting({ [SLOT]: { rxPackets: 1, rxBytes: i.length } }, () => expect(env.xdp('xv_xdp_underlay', vx4(i, { src: '192.0.2.200' })).retval).toBe(XDP.REDIRECT));
    });

    it('malformed: missing I flag (slot 0)', () => {
      const f = vx4(inner());
      f[42] = 0;
      rxBoth(0, 'malformed', f);
    });

    it('bad_src_mac: multicast or broadcast inner source', () => {
      rxBoth(SLOT, 'bad_src_mac', vx4(inner(MAC.ep2c, 'ff:ff:ff:ff:ff:ff')));
      rxBoth(SLOT, 'bad_src_mac', vx6(inner(MAC.ep2c, '01:00:5e:00:00:01')));
    });

    it('ecn_not_ect: outer CE over an inner packet that is not ECN-capable (RFC 6040; test/datapath/ecn.test.ts has the rest)', () => {
      rxBoth(SLOT, 'ecn_not_ect', vx4(inner(), { tos: 3 }));
      rxBoth(SLOT, 'ecn_not_ect', vx6(inner(), { tclass: 3 }));
    });

    // As the kernel's UDP over IPv6: a zero checksum only where agreed
    // (udp6zerocsumrx), a non-zero one must be right. Counted in slot 0: the
    // frame is refused before its VNI and peer are looked at.
    it('udp6_zero_csum: IPv6 VXLAN with a zero UDP checksum, unless udp6ZeroCsumRx allows it', () => {
      const zero = (i: Buffer) => {
        const f = vx6(i);
        f.writeUInt16BE(0, 14 + 40 + 6);
        return f;
      };
      const tcpIn = eth(MAC.ep2c, MAC.rem, EtherType.IPV4, ipv4({ src: '198.51.100.2', dst: '198.51.100.1', proto: Proto.TCP, payload: tcp(80, 4000, fill(200), { src: '198.51.100.2', dst: '198.51.100.1' }) }));
      rxBoth(0, 'udp6_zero_csum', zero(inner()));
      rxBoth(0, 'udp6_zero_csum', zero(tcpIn));
      env.configureRaw({ udp6ZeroCsumRx: 1 });
      for (const i of [inner(), tcpIn]) {
        env.counting({ [SLOT]: { rxPackets: 2, rxBytes: 2 * i.length } }, () => {
          expect(env.xdp('xv_xdp_underlay', zero(i)).retval).toBe(XDP.REDIRECT);
          expect(env.tc('xv_tc_underlay', zero(i), env.ifx.uly).retval).toBe(TC.REDIRECT);
        });
      }
    });

    // TCP/UDP inners are checked through their own checksum (bpf/common.h,
    // udp6_csum_ok): a flip the outer check lets through (in the inner
    // addresses or the payload) breaks the inner checksum, and the receiver of
    // the inner frame drops it. Other inners are summed whole.
    it('udp6_bad_csum: a wrong non-zero one; what it lets through of TCP/UDP inners, their receiver refuses', () => {
      const icmpIn = inner();
      const tcpIn = eth(MAC.ep2c, MAC.rem, EtherType.IPV4, ipv4({ src: '198.51.100.2', dst: '198.51.100.1', proto: Proto.TCP, payload: tcp(80, 4000, fill(200), { src: '198.51.100.2', dst: '198.51.100.1' }) }));
      const udpIn = eth(MAC.ep2c, MAC.rem, EtherType.IPV6, ipv6({ src: '2001:db8:100::2', dst: '2001:db8:100::1', nextHeader: Proto.UDP, payload: udp({ sport: 7, dport: 8, payload: fill(99), pseudo: { src: '2001:db8:100::2', dst: '2001:db8:100::1' } }) }));
      for (const i of [icmpIn, tcpIn, udpIn]) {
        const ok = vx6(i);
        env.counting({ [SLOT]: { rxPackets: 1, rxBytes: i.length } }, () => expect(env.xdp('xv_xdp_underlay', ok).retval).toBe(XDP.REDIRECT));
        // one bit flipped: in the outer UDP checksum, the UDP source port, an inner source address byte, the last payload byte
        const outerOnly = [14 + 40 + 6, 14 + 40], inside = [14 + 40 + 16 + 14 + 12, ok.length - 1];
        for (const at of [...outerOnly, ...inside]) {
          const f = Buffer.from(ok);
          f[at]! ^= 0x10;
          if (i === icmpIn || outerOnly.includes(at)) {
            rxBoth(0, 'udp6_bad_csum', f);
            continue;
          }
          const r = env.counting({ [SLOT]: { rxPackets: 1, rxBytes: i.length } }, () => env.xdp('xv_xdp_underlay', f));
          expect(r.retval).toBe(XDP.REDIRECT);
          const v4 = i === tcpIn, d = r.data;
          const l4 = d.subarray(v4 ? 34 : 54);
          const src = v4 ? `${d[26]}.${d[27]}.${d[28]}.${d[29]}` : formatIPv6(d.subarray(22, 38));
          const dst = v4 ? '198.51.100.1' : '2001:db8:100::1';
          const ph = v4 ? pseudo4(src, dst, Proto.TCP, l4.length) : pseudo6(src, dst, Proto.UDP, l4.length);
          expect(checksum(ph, l4)).not.toBe(0);
        }
      }
    });

    // A local sender's datagram across a veth is CHECKSUM_PARTIAL (the kernel
    // vxlan leaves the outer sum to the device): the field holds the
    // pseudo-header sum, and the kernel takes the skb as it is. Neither hook
    // can see the state, so both take that exact value.
    it('an outer checksum that is still the pseudo-header sum (CHECKSUM_PARTIAL across a veth) is taken, by XDP and TC', () => {
      const i = inner();
      const f = vx6(i);
      const udpLen = f.readUInt16BE(18);
      f.writeUInt16BE(~checksum(pseudo6(ADDR.peer6, ADDR.local6, Proto.UDP, udpLen)) & 0xffff, 14 + 40 + 6);
      env.counting({ [SLOT]: { rxPackets: 2, rxBytes: 2 * i.length } }, () => {
        expect(env.tc('xv_tc_underlay', f, env.ifx.uly).retval).toBe(TC.REDIRECT);
        expect(env.xdp('xv_xdp_underlay', f).retval).toBe(XDP.REDIRECT);
      });
    });

    it('hairpin: the inner destination is behind a remote VTEP', () => {
      rxBoth(SLOT, 'hairpin', vx4(inner(MAC.rem, MAC.rem2)));
    });

    it('no_endpoint: unicast to an endpoint missing from xv_devs (XDP), BUM without flood ports (XDP) or flood list (TC)', () => {
      env.lab.in(env.ns, () => env.dp.devs.delete(env.ifx.ep2));
      env.dp.bumpGeneration();
      const i = inner();
      // rx counts only what is delivered
      env.counting({ [SLOT]: { drop: { no_endpoint: 1 } } },
        () => expect(env.xdp('xv_xdp_underlay', vx4(i)).retval).toBe(XDP.DROP));
      const b = inner('ff:ff:ff:ff:ff:ff');
      rxBoth(SLOT, 'no_endpoint', vx4(b));
      env.dp.flood.set({ vni: VNI, remotes: [ADDR.peer4], locals: [] });
      env.counting({ [SLOT]: { drop: { no_endpoint: 1 } } }, () => expect(env.tc('xv_tc_underlay', vx4(b), env.ifx.uly).retval).toBe(TC.SHOT));
      env.dp.flood.delete(VNI);
    });
  });

  describe('transmit', () => {
    it('bad_src_mac: multicast source from an endpoint', () => {
      epBoth('bad_src_mac', eth(MAC.rem, '03:00:00:00:00:01', EtherType.IPV4, fill(40)));
    });

    it('hairpin: the destination is the ingress endpoint itself', () => {
      epBoth('hairpin', fromEp1(MAC.ep1c));
    });

    it('fib_miss: no route to the remote VTEP', () => {
      env.staticRemote(VNI, '02:aa:bb:cc:dd:09', ADDR.unrouted4);
      epBoth('fib_miss', fromEp1('02:aa:bb:cc:dd:09'));
    });

    it('no_local_addr: a remote of a family the VTEP has no address for', () => {
      env.configure({ localAddress: ADDR.local4 });
      env.staticRemote(VNI, '02:aa:bb:cc:dd:0a', ADDR.peer6);
      epBoth('no_local_addr', fromEp1('02:aa:bb:cc:dd:0a'));
      env.configure({ localAddress: ADDR.local6 });
      epBoth('no_local_addr', fromEp1(MAC.rem));
    });

    it('mtu_exceeded: too big without DF (no ICMP is due)', () => {
      env.configureRaw({ underlayMtu: 1400 });
      epBoth('mtu_exceeded', fromEp1(MAC.rem, 1400, false));
    });

    it('no_endpoint: BUM or unknown unicast with no flood list (TC)', () => {
      for (const dst of ['ff:ff:ff:ff:ff:ff', '02:aa:bb:cc:ee:ee']) {
        env.counting({ [SLOT]: { drop: { no_endpoint: 1 } } }, () => expect(env.tc('xv_tc_endpoint', fromEp1(dst), env.ifx.ep1).retval).toBe(TC.SHOT));
      }
      env.dp.flood.set({ vni: VNI, remotes: [], locals: [] });
      env.counting({ [SLOT]: { drop: { no_endpoint: 1 } } }, () => expect(env.tc('xv_tc_endpoint', fromEp1('ff:ff:ff:ff:ff:ff'), env.ifx.ep1).retval).toBe(TC.SHOT));
      env.dp.flood.delete(VNI);
      covered.add('no_endpoint');
    });

    it('redirect_failed: a flood clone to an interface that does not exist', () => {
      env.dp.flood.set({ vni: VNI, remotes: [], locals: [env.ifx.ep1, 999999] });
      env.counting({ [SLOT]: { drop: { redirect_failed: 1 }, event: { flood: 1 } } },
        () => expect(env.tc('xv_tc_endpoint', fromEp1('ff:ff:ff:ff:ff:ff'), env.ifx.ep1).retval).toBe(TC.SHOT));
      env.dp.flood.delete(VNI);
      covered.add('redirect_failed');
    });
  });

  it('frames from an interface that is not an endpoint pass, counted as unknown_ep in slot 0', () => {
    const f = fromEp1(MAC.rem);
    const r = env.counting({ 0: { event: { unknown_ep: 3 } } }, () => [
      env.xdp('xv_xdp_endpoint', f, env.ifx.ep3), env.xdp('xv_xdp_ep_frags', f, env.ifx.ep3), env.tc('xv_tc_endpoint', f, env.ifx.ep3),
    ]);
    expect(r.map((x) => x.retval)).toEqual([XDP.PASS, XDP.PASS, TC.OK]);
    expect(r.every((x) => x.data.equals(f))).toBe(true);
  });

  it('every drop reason except encap_failed has been produced above', () => {
    // encap_failed needs bpf_xdp_adjust_head / bpf_skb_adjust_room / change_head to
    // fail, which no frame a test run accepts provokes (GSO skbs would, but a test
    // run cannot give an skb a gso_type)
    expect([...covered].sort()).toEqual(DROP_REASONS.filter((r) => r !== 'encap_failed').sort());
  });
});
