// Issue 6, hostile packets: a corpus of malformed and borderline frames
// (different from test/datapath/malformed.test.ts, which truncates plain
// frames at every byte and corrupts the length fields), each with its exact
// verdict and exactly the counters it must move, in the right slot.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { ADDR, DpEnv, MAC, TC, XDP, type Delta } from '../helpers/dpenv.js';
import {
  EtherType, Proto, arp, eth, fill, hex, icmp4, icmp6, ip4, ip6, ipv4, ipv6, mac, ndNs, solicitedNode, udp,
} from '../helpers/packets.js';
import {
  MAC_B_REMOTE, NEIGH, SLOT_A, SLOT_B, VNI_A, VNI_B, checkArpReply, checkEncap, classifyRx, hexIp, seed, setupVnis, vx4, vx6,
} from './fuzzlib.js';
import { recordSummary } from './summary.js';

const inner = (dst: string = MAC.ep2c, src: string = MAC.rem) => eth(dst, src, EtherType.IPV4, ipv4({
  src: '198.51.100.2', dst: '198.51.100.1', proto: Proto.UDP, payload: udp({ sport: 1, dport: 2, payload: fill(30) }),
}));

describeKernel('hostile packets: malformed corpus', () => {
  let env: DpEnv;
  let cases = 0;
  const failures: string[] = [];
  beforeAll(async () => {
    env = await DpEnv.create('cor');
  });
  afterAll(() => {
    recordSummary('corpus', { cases, failures });
    env?.destroy();
  });
  beforeEach(() => {
    env.configureRaw();
    setupVnis(env);
  });
  const track = (name: string, fn: () => void) => {
    cases++;
    try {
      fn();
    } catch (e) {
      failures.push(name);
      throw e;
    }
  };

  describe('receive (xv_xdp_underlay and xv_tc_underlay)', () => {
    const rxBoth = (name: string, f: Buffer, o: { xdp: number; tc: number; counters: Record<number, Delta>; out?: Buffer }) => track(name, () => {
      const x = env.counting(o.counters, () => env.xdp('xv_xdp_underlay', f));
      expect([name, 'xdp', x.retval]).toEqual([name, 'xdp', o.xdp]);
      const t = env.counting(o.counters, () => env.tc('xv_tc_underlay', f, env.ifx.uly));
      expect([name, 'tc', t.retval]).toEqual([name, 'tc', o.tc]);
      if (o.out) expect([name, hex(x.data), hex(t.data)]).toEqual([name, hex(o.out), hex(o.out)]);
    });
    const pass = (name: string, f: Buffer) => rxBoth(name, f, { xdp: XDP.PASS, tc: TC.OK, counters: {}, out: f });

    it('what is not VXLAN for us passes untouched and uncounted', () => {
      const v = vx4(inner());
      pass('802.1Q tag cut short', Buffer.concat([v.subarray(0, 12), Buffer.from([0x81, 0, 0, 5])]));
      pass('two VLAN tags (only one is parsed)', Buffer.concat([v.subarray(0, 12), Buffer.from([0x88, 0xa8, 0, 7, 0x81, 0, 0, 8, 0x08, 0]), v.subarray(14)]));
      const ihl15 = Buffer.from(v.subarray(0, 14 + 40));
      ihl15[14] = 0x4f;
      pass('IHL 15, frame ends inside the options', ihl15);
      pass('first fragment (MF)', vx4(inner(), { mf: true }));
      const later = Buffer.from(v);
      later.writeUInt16BE(100, 20); // fragment offset 800: a later fragment that looks like VXLAN
      pass('non-first fragment that looks like VXLAN', later);
      const bcast = Buffer.from(v);
      ip4('192.0.2.255').copy(bcast, 30);
      pass('outer destination is the subnet broadcast', bcast);
      const hbh = eth(MAC.uly, MAC.peer, EtherType.IPV6, ipv6({ src: ADDR.peer6, dst: ADDR.local6, nextHeader: 0,
        payload: Buffer.concat([Buffer.from([Proto.UDP, 0, 1, 4, 0, 0, 0, 0]), vx6(inner()).subarray(54)]) }));
      pass('IPv6 hop-by-hop header before UDP', hbh);
      const frag6 = eth(MAC.uly, MAC.peer, EtherType.IPV6, ipv6({ src: ADDR.peer6, dst: ADDR.local6, nextHeader: Proto.FRAGMENT6,
        payload: Buffer.concat([Buffer.from([Proto.UDP, 0, 0, 1, 0, 0, 0, 9]), vx6(inner()).subarray(54)]) }));
      pass('IPv6 fragment header (atomic fragment)', frag6);
      pass('VXLAN to 8472 while 4789 is configured', vx4(inner(), { dport: 8472 }));
      const badVersion4 = Buffer.from(vx4(inner()));
      badVersion4[14] = (5 << 4) | (badVersion4[14]! & 0xf);
      pass('outer IPv4 header with version 5 (the kernel drops it, not us)', badVersion4);
      const badVersion6 = Buffer.from(vx6(inner()));
      badVersion6[14] = (4 << 4) | (badVersion6[14]! & 0xf);
      pass('outer IPv6 header with version 4', badVersion6);
      pass('VXLAN from the underlay to a multicast MAC, IPv4 not UDP', eth('01:00:5e:00:00:01', MAC.peer, EtherType.IPV4, ipv4({ src: ADDR.peer4, dst: ADDR.local4, proto: 47, payload: fill(40) })));
    });

    it('lengths that cannot be right are malformed (slot 0)', () => {
      const mal = { xdp: XDP.DROP, tc: TC.SHOT, counters: { 0: { drop: { malformed: 1 } } } };
      const short = vx4(inner());
      short.writeUInt16BE(10, 16); // total length below the header length: UDP length from IP would underflow
      rxBoth('IPv4 total length < IHL', short, mal);
      const big = vx4(inner());
      big.writeUInt16BE(0xffff, 16);
      big.writeUInt16BE(0xffff - 20, 38); // IP and UDP agree with each other, not with the frame
      rxBoth('IP and UDP claim 64 KiB', big, mal);
      const zero6 = vx6(inner());
      zero6.writeUInt16BE(0, 18); // jumbogram-style zero lengths
      zero6.writeUInt16BE(0, 58);
      rxBoth('IPv6 payload length and UDP length 0', zero6, mal);
      const gpe = vx4(inner());
      gpe[42] = 0x0c & ~0x08; // VXLAN-GPE style flags without I
      rxBoth('flags without I', gpe, mal);
    });

    it('reserved VXLAN bits are ignored on receipt (RFC 7348 5)', () => {
      const i = inner();
      const all = vx4(i);
      all[42] = 0xff;
      all.writeUIntBE(0xffffff, 43, 3);
      all[49] = 0xff;
      rxBoth('every reserved bit set', all, { xdp: XDP.REDIRECT, tc: TC.REDIRECT, counters: { [SLOT_A]: { rxPackets: 1, rxBytes: i.length } }, out: i });
    });

    it('VNI and sender checks: each drop in the slot it belongs to', () => {
      rxBoth('VNI 0', vx4(inner(), { vni: 0 }), { xdp: XDP.DROP, tc: TC.SHOT, counters: { 0: { drop: { unknown_vni: 1 } } } });
      rxBoth('VNI 2^24-1', vx6(inner(), { vni: 0xffffff }), { xdp: XDP.DROP, tc: TC.SHOT, counters: { 0: { drop: { unknown_vni: 1 } } } });
      rxBoth('outer source = our own address (reflection)', vx4(inner(), { src: ADDR.local4 }), { xdp: XDP.DROP, tc: TC.SHOT, counters: { [SLOT_A]: { drop: { unknown_peer: 1 } } } });
      rxBoth('a peer of VNI B sending for VNI A', vx4(inner(), { src: ADDR.peer4b }), { xdp: XDP.DROP, tc: TC.SHOT, counters: { [SLOT_A]: { drop: { unknown_peer: 1 } } } });
      rxBoth('inner source broadcast', vx4(inner(MAC.ep2c, 'ff:ff:ff:ff:ff:ff')), { xdp: XDP.DROP, tc: TC.SHOT, counters: { [SLOT_A]: { drop: { bad_src_mac: 1 } } } });
      rxBoth('inner source all-zero (a bridge never learns it)', vx4(inner(MAC.ep2c, '00:00:00:00:00:00')), { xdp: XDP.DROP, tc: TC.SHOT, counters: { [SLOT_A]: { drop: { bad_src_mac: 1 } } } });
      rxBoth('inner destination behind the sending side (hairpin)', vx4(inner(MAC_B_REMOTE, '02:bb:00:00:00:09'), { vni: VNI_B, src: '192.0.2.44' }),
        { xdp: XDP.DROP, tc: TC.SHOT, counters: { [SLOT_B]: { drop: { hairpin: 1 } } } });
    });

    it('truncation at each header boundary (±1) of VLAN+options and IPv6 frames follows the acceptance rules', () => {
      const cfg = { local4: ip4(ADDR.local4), local6: ip6(ADDR.local6), port: 4789 };
      for (const s of [seed('vlan+opts', vx4(inner(), { vlan: 3, options: Buffer.alloc(12, 1) })), seed('v6', vx6(inner()))]) {
        const lens = [...new Set(s.bounds.flatMap((b) => [b - 1, b, b + 1]))].filter((l) => l >= 14 && l < s.bytes.length).sort((a, b) => a - b);
        expect(lens.length).toBeGreaterThan(8);
        for (const l of lens) {
          const f = s.bytes.subarray(0, l);
          const c = classifyRx(f, cfg);
          expect(c.kind).not.toBe('ours'); // every cut disagrees with the lengths
          if (c.kind === 'notours') {
            const x = env.counting({}, () => env.xdp('xv_xdp_underlay', f));
            track(`${s.name} cut at ${l}`, () => expect([l, x.retval, hex(x.data)]).toEqual([l, XDP.PASS, hex(f)]));
          } else {
            track(`${s.name} cut at ${l}`, () => expect([l, env.counting({ 0: { drop: { malformed: 1 } } }, () => env.xdp('xv_xdp_underlay', f)).retval]).toEqual([l, XDP.DROP]));
          }
        }
      }
    });
  });

  describe('transmit (xv_xdp_endpoint, xv_xdp_ep_frags, xv_tc_endpoint)', () => {
    const XDPS = ['xv_xdp_endpoint', 'xv_xdp_ep_frags'];
    const arpReq = (o: { hlen?: number; op?: 1 | 2; spa?: string; tpa?: string; src?: string; cut?: number } = {}) => {
      const src = o.src ?? MAC.ep1c;
      const body = arp({ op: o.op ?? 1, sha: src, spa: o.spa ?? '198.51.100.1', tha: '00:00:00:00:00:00', tpa: o.tpa ?? NEIGH.ip4 });
      if (o.hlen) body[4] = o.hlen;
      return eth('ff:ff:ff:ff:ff:ff', src, EtherType.ARP, o.cut ? body.subarray(0, o.cut) : body);
    };
    const sn = solicitedNode(NEIGH.ip6);
    const nsReq = (o: { hop?: number; src?: string; from?: string } = {}) => {
      const src = o.src ?? '2001:db8:100::1', from = o.from ?? MAC.ep1c;
      return eth(sn.mac, from, EtherType.IPV6, ipv6({ src, dst: sn.ip, nextHeader: Proto.ICMPV6, hopLimit: o.hop ?? 255, payload: ndNs(src, sn.ip, NEIGH.ip6, from) }));
    };

    /** Not answered by proxy: XDP hands it to TC, TC floods it to the VNI's flood list (2 remote copies in VNI A). */
    const notProxied = (name: string, f: Buffer) => track(name, () => {
      for (const p of XDPS) {
        const r = env.counting({ [SLOT_A]: { event: { xdp_to_tc: 1 } } }, () => env.xdp(p, f, env.ifx.ep1));
        expect([name, p, r.retval, r.data.equals(f)]).toEqual([name, p, XDP.PASS, true]);
      }
      const t = env.counting({ [SLOT_A]: { event: { flood: 1 }, txPackets: 2, txBytes: 2 * f.length } }, () => env.tc('xv_tc_endpoint', f, env.ifx.ep1));
      expect([name, t.retval]).toEqual([name, TC.SHOT]);
      // the template left after the last (IPv6) copy is a valid encapsulation
      expect([name, checkEncap(t.data, { vni: VNI_A, inner: f, dsts: new Set([hexIp(ADDR.peer6)]), sportRange: [32768, 61000] })]).toEqual([name, undefined]);
    });

    it('ARP that must not be answered by proxy is flooded', () => {
      notProxied('ARP hlen 8', arpReq({ hlen: 8 }));
      notProxied('ARP reply (op 2) to broadcast', arpReq({ op: 2 }));
      notProxied('gratuitous ARP for the proxied address', arpReq({ spa: NEIGH.ip4 }));
      notProxied('ARP probe (sender 0.0.0.0)', arpReq({ spa: '0.0.0.0' }));
      notProxied('ARP request cut at 27 bytes', arpReq({ cut: 27 }));
    });

    it('NS that must not be answered by proxy is flooded', () => {
      notProxied('NS hop limit 254', nsReq({ hop: 254 }));
      notProxied('DAD NS (source ::)', nsReq({ src: '::' }));
    });

    it('proxy tables are per VNI: the same address gets VNI B\'s MAC from ep3, and no NA (proxy ND off in VNI B)', () => {
      const req = arpReq({ src: MAC.ep3c, spa: '198.51.100.3' });
      track('ARP from VNI B', () => {
        for (const p of XDPS) {
          const r = env.counting({ [SLOT_B]: { event: { proxy_arp: 1 } } }, () => env.xdp(p, req, env.ifx.ep3));
          expect([p, r.retval, checkArpReply(r.data, req, mac(NEIGH.macB4))]).toEqual([p, XDP.TX, undefined]);
        }
        const t = env.counting({ [SLOT_B]: { event: { proxy_arp: 1 } } }, () => env.tc('xv_tc_endpoint', req, env.ifx.ep3));
        expect([t.retval, checkArpReply(t.data, req, mac(NEIGH.macB4))]).toEqual([TC.REDIRECT, undefined]);
      });
      track('NS from VNI B', () => {
        const ns = nsReq({ from: MAC.ep3c });
        const t = env.counting({ [SLOT_B]: { drop: { no_endpoint: 1 } } }, () => env.tc('xv_tc_endpoint', ns, env.ifx.ep3));
        expect(t.retval).toBe(TC.SHOT);
      });
    });

    it('too big: no ICMP error about an ICMP error, a later fragment, or an ICMPv6 error — dropped as mtu_exceeded', () => {
      const big4 = (proto: number, payload: Buffer, o: { fragOffset?: number } = {}) => eth(MAC.rem, MAC.ep1c, EtherType.IPV4,
        ipv4({ src: '198.51.100.1', dst: '198.51.100.2', proto, df: true, fragOffset: o.fragOffset, payload }));
      const frames: Array<[string, Buffer]> = [
        ['DF ICMP dest-unreachable', big4(Proto.ICMP, icmp4(3, 1, Buffer.alloc(4), fill(1460)))],
        ['DF later fragment', big4(Proto.UDP, fill(1480), { fragOffset: 100 })],
        ['ICMPv6 error (dest unreachable)', eth(MAC.rem2, MAC.ep1c, EtherType.IPV6, ipv6({ src: '2001:db8:100::1', dst: '2001:db8:100::2', nextHeader: Proto.ICMPV6,
          payload: icmp6('2001:db8:100::1', '2001:db8:100::2', 1, 0, fill(1440)) }))],
      ];
      for (const [name, f] of frames) {
        track(name, () => {
          for (const p of XDPS) expect([name, p, env.counting({ [SLOT_A]: { drop: { mtu_exceeded: 1 } } }, () => env.xdp(p, f, env.ifx.ep1)).retval]).toEqual([name, p, XDP.DROP]);
          expect([name, env.counting({ [SLOT_A]: { drop: { mtu_exceeded: 1 } } }, () => env.tc('xv_tc_endpoint', f, env.ifx.ep1)).retval]).toEqual([name, TC.SHOT]);
        });
      }
    });

    it('a bare Ethernet header (14 bytes) to a remote is encapsulated as is', () => {
      const f = eth(MAC.rem, MAC.ep1c, 0x88b5);
      track('eth only', () => {
        for (const p of XDPS) {
          const r = env.counting({ [SLOT_A]: { txPackets: 1, txBytes: 14 } }, () => env.xdp(p, f, env.ifx.ep1));
          expect([p, r.retval, checkEncap(r.data, { vni: VNI_A, inner: f, dsts: new Set([hexIp(ADDR.peer4)]), sportRange: [32768, 61000] })]).toEqual([p, XDP.REDIRECT, undefined]);
        }
        const t = env.counting({ [SLOT_A]: { txPackets: 1, txBytes: 14 } }, () => env.tc('xv_tc_endpoint', f, env.ifx.ep1));
        expect([t.retval, checkEncap(t.data, { vni: VNI_A, inner: f, dsts: new Set([hexIp(ADDR.peer4)]), sportRange: [32768, 61000] })]).toEqual([TC.REDIRECT, undefined]);
      });
    });
  });
});
