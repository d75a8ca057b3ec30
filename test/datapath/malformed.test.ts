// Malformed VXLAN on the receive path: truncated at every byte (so at every
// header boundary), missing I flag, lengths that disagree with the frame.
// Whatever cannot be recognised as VXLAN for us passes untouched; what is
// recognisably ours but broken is dropped and counted as malformed in slot 0
// (the VNI is not trusted yet) — exactly once per frame, nothing else moves.
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { ADDR, DpEnv, MAC, TC, XDP } from '../helpers/dpenv.js';
import { EtherType, Proto, eth, ethVlan, fill, hex, ipv4, ipv6, udp, vxlan } from '../helpers/packets.js';

const VNI = 1024;

const inner = eth(MAC.ep2c, MAC.rem, EtherType.IPV4, ipv4({ src: '198.51.100.2', dst: '198.51.100.1', proto: Proto.UDP, payload: udp({ sport: 1, dport: 2, payload: fill(18) }) }));

function v4(o: { vx?: Buffer; udpLength?: number; totalLength?: number; vlan?: boolean } = {}): Buffer {
  const l3 = ipv4({ src: ADDR.peer4, dst: ADDR.local4, proto: Proto.UDP, totalLength: o.totalLength,
    payload: udp({ sport: 50000, dport: 4789, payload: o.vx ?? vxlan(VNI, inner), length: o.udpLength }) });
  return o.vlan ? ethVlan(MAC.uly, MAC.peer, 42, EtherType.IPV4, l3) : eth(MAC.uly, MAC.peer, EtherType.IPV4, l3);
}

function v6(o: { vx?: Buffer; udpLength?: number; payloadLength?: number } = {}): Buffer {
  const f = eth(MAC.uly, MAC.peer, EtherType.IPV6, ipv6({ src: ADDR.peer6, dst: ADDR.local6, nextHeader: Proto.UDP,
    payload: udp({ sport: 50000, dport: 4789, payload: o.vx ?? vxlan(VNI, inner), length: o.udpLength, pseudo: { src: ADDR.peer6, dst: ADDR.local6 } }) }));
  if (o.payloadLength !== undefined) f.writeUInt16BE(o.payloadLength, 18);
  return f;
}

describeKernel('malformed VXLAN frames on the receive path', () => {
  let env: DpEnv;
  beforeAll(async () => {
    env = await DpEnv.create('mal');
  });
  afterAll(() => env?.destroy());
  beforeEach(() => {
    env.configureRaw();
    env.vni(VNI, { endpoints: [env.ifx.ep2], peers: [ADDR.peer4, ADDR.peer6] });
    env.staticLocal(VNI, MAC.ep2c, env.ifx.ep2);
  });

  // [name, full frame, offset of the UDP header, shortest frame a TC test run accepts]
  // (the kernel refuses skb test runs of IP ethertypes without a whole IP header)
  const frames: Array<[string, () => Buffer, number, number]> = [
    ['IPv4', () => v4(), 34, 34], ['IPv4 + 802.1Q', () => v4({ vlan: true }), 38, 15], ['IPv6', () => v6(), 54, 54],
  ];

  for (const [name, make, udpOff, tcMin] of frames) {
    it(`${name}: truncated at every length — before the UDP header is complete it passes, after it is malformed`, () => {
      const full = make();
      // the complete frame is valid: the truncations are the only defect
      expect(env.xdp('xv_xdp_underlay', full).retval).toBe(XDP.REDIRECT);
      let malformed = 0;
      const before = env.snapshot();
      for (let len = 14; len < full.length; len++) {
        const cut = full.subarray(0, len);
        const r = env.xdp('xv_xdp_underlay', cut);
        if (len < udpOff + 8) {
          expect([len, r.retval, hex(r.data)]).toEqual([len, XDP.PASS, hex(cut)]);
        } else {
          expect([len, r.retval]).toEqual([len, XDP.DROP]);
          malformed++;
        }
        if (len >= tcMin) {
          const t = env.tc('xv_tc_underlay', cut, env.ifx.uly);
          if (len < udpOff + 8) expect([len, t.retval, hex(t.data)]).toEqual([len, TC.OK, hex(cut)]);
          else {
            expect([len, t.retval]).toEqual([len, TC.SHOT]);
            malformed++;
          }
        }
      }
      expect(malformed).toBeGreaterThan(2 * (8 + 8 + 14));
      env.expectCounters(before, { 0: { drop: { malformed } } });
    });
  }

  it('the I flag missing is malformed, whatever else is set', () => {
    const bad = [0x00, 0xf7, 0x80, 0x01].flatMap((flags) => [v4({ vx: vxlan(VNI, inner, { flags }) }), v6({ vx: vxlan(VNI, inner, { flags }) })]);
    env.counting({ 0: { drop: { malformed: bad.length * 2 } } }, () => {
      for (const f of bad) {
        expect(env.xdp('xv_xdp_underlay', f).retval).toBe(XDP.DROP);
        expect(env.tc('xv_tc_underlay', f, env.ifx.uly).retval).toBe(TC.SHOT);
      }
    });
  });

  it('UDP or IP lengths that disagree with the frame are malformed (never delivered cut or padded)', () => {
    const real = 8 + 8 + inner.length;
    const bad: Array<[string, Buffer]> = [
      ...[0, 7, 8, 16, 29, real - 1, real + 1, 0xffff].map((l) => [`v4 udp len ${l}`, v4({ udpLength: l })] as [string, Buffer]),
      ...[real - 1, real + 1, 8].map((l) => [`v6 udp len ${l}`, v6({ udpLength: l })] as [string, Buffer]),
      ['v4 total length +1', v4({ totalLength: 20 + real + 1 })],
      ['v4 total length -1', v4({ totalLength: 20 + real - 1 })],
      ['v4 total length < header', v4({ totalLength: 12 })],
      ['v6 payload length +1', v6({ payloadLength: real + 1 })],
      ['v6 payload length -1', v6({ payloadLength: real - 1 })],
      ['v4 one trailing byte', Buffer.concat([v4(), Buffer.alloc(1)])],
      ['v6 four trailing bytes', Buffer.concat([v6(), Buffer.alloc(4)])],
      ['inner frame shorter than an Ethernet header (lengths consistent)', v4({ vx: vxlan(VNI, inner.subarray(0, 13)) })],
    ];
    env.counting({ 0: { drop: { malformed: bad.length * 2 } } }, () => {
      for (const [name, f] of bad) {
        expect([name, env.xdp('xv_xdp_underlay', f).retval]).toEqual([name, XDP.DROP]);
        expect([name, env.tc('xv_tc_underlay', f, env.ifx.uly).retval]).toEqual([name, TC.SHOT]);
      }
    });
  });

  it('an IPv4 header length below 5 words is not ours: passed untouched', () => {
    for (const ihl of [0, 4]) {
      const f = v4();
      f[14] = 0x40 | ihl;
      const r = env.counting({}, () => env.xdp('xv_xdp_underlay', f));
      expect([r.retval, hex(r.data)]).toEqual([XDP.PASS, hex(f)]);
    }
  });

  it('the smallest valid frame (inner Ethernet header only) is delivered', () => {
    const tiny = eth(MAC.ep2c, MAC.rem, 0x88b5);
    const r = env.counting({ 5: { rxPackets: 1, rxBytes: 14 } }, () => env.xdp('xv_xdp_underlay', v4({ vx: vxlan(VNI, tiny) })));
    expect([r.retval, hex(r.data)]).toEqual([XDP.REDIRECT, hex(tiny)]);
    const t = env.counting({ 5: { rxPackets: 1, rxBytes: 14 } }, () => env.tc('xv_tc_underlay', v6({ vx: vxlan(VNI, tiny) }), env.ifx.uly));
    expect([t.retval, hex(t.data)]).toEqual([TC.REDIRECT, hex(tiny)]);
  });
});
