// Too big for the tunnel: ICMP fragmentation-needed / ICMPv6 packet-too-big
// back to the sender with the inner MTU (underlay MTU minus the
// encapsulation overhead of the remote's family), every byte checked.
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { ADDR, DEFAULT_SLOT, DpEnv, MAC, TC, XDP } from '../helpers/dpenv.js';
import { EtherType, Proto, eth, fill, hex, icmp4, icmp6, icmpEcho, ipv4, ipv6, udp } from '../helpers/packets.js';

const VNI = 1024;
const SLOT = DEFAULT_SLOT;
const MTU = 1400;
const S4 = '198.51.100.1', D4 = '198.51.100.2', S6 = '2001:db8:100::1', D6 = '2001:db8:100::2';

/** Inner IPv4 packet of exactly ipLen bytes from ep1's container to dst MAC. */
function big4(ipLen: number, o: { dst?: string; df?: boolean; proto?: number; l4?: (n: number) => Buffer; fragOffset?: number } = {}): Buffer {
  const n = ipLen - 20;
  const l4 = o.l4 ? o.l4(n) : udp({ sport: 1000, dport: 2000, payload: fill(n - 8), pseudo: { src: S4, dst: D4 } });
  return eth(o.dst ?? MAC.rem, MAC.ep1c, EtherType.IPV4, ipv4({ src: S4, dst: D4, proto: o.proto ?? Proto.UDP, df: o.df ?? true, id: 0x77, fragOffset: o.fragOffset, payload: l4 }));
}

function big6(ipLen: number, o: { dst?: string; l4?: (n: number) => Buffer; nh?: number } = {}): Buffer {
  const n = ipLen - 40;
  const l4 = o.l4 ? o.l4(n) : udp({ sport: 1000, dport: 2000, payload: fill(n - 8), pseudo: { src: S6, dst: D6 } });
  return eth(o.dst ?? MAC.rem, MAC.ep1c, EtherType.IPV6, ipv6({ src: S6, dst: D6, nextHeader: o.nh ?? Proto.UDP, payload: l4 }));
}

/** The frag-needed the VTEP must send back, built from the offending frame. */
function fragNeeded(orig: Buffer, mtu: number): Buffer {
  const rest = Buffer.alloc(4);
  rest.writeUInt16BE(mtu, 2);
  const quote = orig.subarray(14, 14 + 64);
  return eth(MAC.ep1c, orig.subarray(0, 6).toString('hex').replace(/(..)(?!$)/g, '$1:'), EtherType.IPV4,
    ipv4({ src: D4, dst: S4, proto: Proto.ICMP, tos: 0xc0, ttl: 64, id: 0, payload: icmp4(3, 4, rest, quote) }));
}

function tooBig6(orig: Buffer, mtu: number): Buffer {
  const body = Buffer.alloc(4);
  body.writeUInt32BE(mtu, 0);
  const msg = icmp6(D6, S6, 2, 0, Buffer.concat([body, orig.subarray(14, 14 + 64)]));
  return eth(MAC.ep1c, orig.subarray(0, 6).toString('hex').replace(/(..)(?!$)/g, '$1:'), EtherType.IPV6,
    ipv6({ src: D6, dst: S6, nextHeader: Proto.ICMPV6, hopLimit: 64, payload: msg }));
}

describeKernel('ICMP too big', () => {
  let env: DpEnv;
  beforeAll(async () => {
    env = await DpEnv.create('icm');
  });
  afterAll(() => env?.destroy());
  beforeEach(() => {
    env.configureRaw({ underlayMtu: MTU });
    env.vni(VNI, { endpoints: [env.ifx.ep1, env.ifx.ep2], peers: [ADDR.peer4, ADDR.peer6] });
    env.staticRemote(VNI, MAC.rem, ADDR.peer4);
    env.staticRemote(VNI, MAC.rem2, ADDR.peer6);
  });

  const all = (f: Buffer) => [
    env.xdp('xv_xdp_endpoint', f, env.ifx.ep1), env.xdp('xv_xdp_ep_frags', f, env.ifx.ep1), env.tc('xv_tc_endpoint', f, env.ifx.ep1),
  ];
  const verdicts = [XDP.TX, XDP.TX, TC.REDIRECT];

  it('IPv4 DF one byte over the inner MTU (1350 over an IPv4 underlay): frag-needed; exactly the MTU: encapsulated', () => {
    const fits = big4(MTU - 50);
    const enc = env.counting({ [SLOT]: { txPackets: 3, txBytes: 3 * fits.length } }, () => all(fits));
    expect(enc.map((r) => r.retval)).toEqual([XDP.REDIRECT, XDP.REDIRECT, TC.REDIRECT]);
    expect(enc.map((r) => r.data.length)).toEqual([fits.length + 50, fits.length + 50, fits.length + 50]);
    const over = big4(MTU - 50 + 1);
    const want = fragNeeded(over, MTU - 50);
    expect(want.length).toBe(14 + 20 + 8 + 64);
    const r = env.counting({ [SLOT]: { event: { icmp_too_big: 3 } } }, () => all(over));
    expect(r.map((x) => [x.retval, hex(x.data)])).toEqual(verdicts.map((v) => [v, hex(want)]));
  });

  it('over an IPv6 underlay the advertised MTU is 1330', () => {
    const over = big4(MTU - 70 + 1, { dst: MAC.rem2 });
    const r = env.counting({ [SLOT]: { event: { icmp_too_big: 3 } } }, () => all(over));
    expect(r.map((x) => [x.retval, hex(x.data)])).toEqual(verdicts.map((v) => [v, hex(fragNeeded(over, MTU - 70))]));
    const fits = big4(MTU - 70, { dst: MAC.rem2 });
    expect(env.xdp('xv_xdp_endpoint', fits, env.ifx.ep1).retval).toBe(XDP.REDIRECT);
  });

  it('IPv6 inner: packet-too-big with a valid checksum, every byte', () => {
    for (const [dst, mtu] of [[MAC.rem, MTU - 50], [MAC.rem2, MTU - 70]] as const) {
      const over = big6(mtu + 1, { dst });
      const r = env.counting({ [SLOT]: { event: { icmp_too_big: 3 } } }, () => all(over));
      expect(r.map((x) => [x.retval, hex(x.data)])).toEqual(verdicts.map((v) => [v, hex(tooBig6(over, mtu))]));
      expect(env.xdp('xv_xdp_endpoint', big6(mtu, { dst }), env.ifx.ep1).retval).toBe(XDP.REDIRECT);
    }
  });

  it('ICMP queries get the error too (ping -M do finds the MTU); ICMP errors never do', () => {
    const echo = big4(1500, { proto: Proto.ICMP, l4: (n) => icmpEcho(9, 1, fill(n - 8)) });
    const r = env.counting({ [SLOT]: { event: { icmp_too_big: 3 } } }, () => all(echo));
    expect(r.map((x) => [x.retval, hex(x.data)])).toEqual(verdicts.map((v) => [v, hex(fragNeeded(echo, MTU - 50))]));
    const err = big4(1500, { proto: Proto.ICMP, l4: (n) => icmp4(3, 1, Buffer.alloc(4), fill(n - 8)) });
    env.counting({ [SLOT]: { drop: { mtu_exceeded: 3 } } }, () => expect(all(err).map((x) => x.retval)).toEqual([XDP.DROP, XDP.DROP, TC.SHOT]));

    const echo6 = big6(1500, { nh: Proto.ICMPV6, l4: (n) => icmp6(S6, D6, 128, 0, fill(n - 4)) });
    const r6 = env.counting({ [SLOT]: { event: { icmp_too_big: 3 } } }, () => all(echo6));
    expect(r6.map((x) => [x.retval, hex(x.data)])).toEqual(verdicts.map((v) => [v, hex(tooBig6(echo6, MTU - 50))]));
    const err6 = big6(1500, { nh: Proto.ICMPV6, l4: (n) => icmp6(S6, D6, 1, 0, fill(n - 4)) });
    env.counting({ [SLOT]: { drop: { mtu_exceeded: 3 } } }, () => expect(all(err6).map((x) => x.retval)).toEqual([XDP.DROP, XDP.DROP, TC.SHOT]));
  });

  it('no ICMP for non-DF packets or non-first fragments: dropped as mtu_exceeded', () => {
    for (const f of [big4(1500, { df: false }), big4(1500, { df: true, fragOffset: 100 })]) {
      env.counting({ [SLOT]: { drop: { mtu_exceeded: 3 } } }, () => expect(all(f).map((x) => x.retval)).toEqual([XDP.DROP, XDP.DROP, TC.SHOT]));
    }
  });
});
