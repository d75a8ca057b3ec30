// ECN on decapsulation (RFC 6040 normal mode, what the kernel's vxlan does in
// INET_ECN_decapsulate): every combination of outer and inner ECN field
// through xv_xdp_underlay and xv_tc_underlay, golden bytes out of
// BPF_PROG_TEST_RUN (the inner IPv4 checksum is rebuilt from scratch by the
// packet builder, so the program's incremental update is checked too).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { ADDR, DEFAULT_SLOT, DpEnv, MAC, TC, XDP, type Delta } from '../helpers/dpenv.js';
import { EtherType, Proto, arp, eth, fill, hex, ipv4, ipv6, tcp, udp, vxlan } from '../helpers/packets.js';
import { probeXdpMetadata } from '../../src/datapath/index.js';

const VNI = 1024;
const SLOT = DEFAULT_SLOT;
const [NOT_ECT, ECT1, ECT0, CE] = [0, 1, 2, 3];
const NAME = ['Not-ECT', 'ECT(1)', 'ECT(0)', 'CE'];
const DSCP_EF = 0xb8; // kept as it is: only the two ECN bits may change

/** RFC 6040 section 4.2, normal mode: the inner field after decap, or 'drop'. */
function rfc6040(outer: number, inner: number): number | 'drop' {
  if (inner === NOT_ECT) return outer === CE ? 'drop' : NOT_ECT;
  if (outer === CE) return CE;
  if (outer === ECT1 && inner === ECT0) return ECT1;
  return inner;
}

function inner4(ecn: number, o: { dst?: string; tcpLen?: number } = {}): Buffer {
  const l4 = o.tcpLen !== undefined
    ? tcp(40000, 5201, fill(o.tcpLen - 54))
    : udp({ sport: 1234, dport: 5678, payload: fill(64), pseudo: { src: '198.51.100.2', dst: '198.51.100.1' } });
  return eth(o.dst ?? MAC.ep2c, MAC.rem, EtherType.IPV4, ipv4({
    src: '198.51.100.2', dst: '198.51.100.1', proto: o.tcpLen !== undefined ? Proto.TCP : Proto.UDP, tos: DSCP_EF | ecn, id: 0x4321, payload: l4,
  }));
}

function inner6(ecn: number): Buffer {
  return eth(MAC.ep2c, MAC.rem, EtherType.IPV6, ipv6({
    src: '2001:db8:100::2', dst: '2001:db8:100::1', nextHeader: Proto.UDP, tclass: DSCP_EF | ecn, flowLabel: 0xabcde,
    payload: udp({ sport: 1234, dport: 5678, payload: fill(64), pseudo: { src: '2001:db8:100::2', dst: '2001:db8:100::1' } }),
  }));
}

function vx4(inner: Buffer, ecn: number): Buffer {
  return eth(MAC.uly, MAC.peer, EtherType.IPV4, ipv4({
    src: ADDR.peer4, dst: ADDR.local4, proto: Proto.UDP, tos: ecn,
    payload: udp({ sport: 50000, dport: 4789, payload: vxlan(VNI, inner) }),
  }));
}

function vx6(inner: Buffer, ecn: number): Buffer {
  return eth(MAC.uly, MAC.peer, EtherType.IPV6, ipv6({
    src: ADDR.peer6, dst: ADDR.local6, nextHeader: Proto.UDP, tclass: ecn,
    payload: udp({ sport: 50000, dport: 4789, payload: vxlan(VNI, inner), pseudo: { src: ADDR.peer6, dst: ADDR.local6 } }),
  }));
}

describeKernel('ECN on decap (RFC 6040): outer CE reaches the inner header', () => {
  let env: DpEnv;
  beforeAll(async () => {
    env = await DpEnv.create('ecn');
  });
  afterAll(() => env?.destroy());

  beforeEach(() => {
    env.configureRaw();
    env.vni(VNI, { endpoints: [env.ifx.ep1, env.ifx.ep2], peers: [ADDR.peer4, ADDR.peer6] });
    env.staticLocal(VNI, MAC.ep2c, env.ifx.ep2);
  });

  /** Counter deltas of one frame: delivered (and CE copied in) or dropped. */
  const delta = (want: number | 'drop', innerEcn: number, delivered: Buffer): Record<number, Delta> => want === 'drop'
    ? { [SLOT]: { drop: { ecn_not_ect: 1 } } }
    : { [SLOT]: { rxPackets: 1, rxBytes: delivered.length, ...(want === CE && innerEcn !== CE ? { event: { ecn_ce: 1 } } : {}) } };

  const cases: Array<[string, (ecn: number) => Buffer, (inner: Buffer, ecn: number) => Buffer]> = [
    ['inner IPv4 over IPv4', inner4, vx4],
    ['inner IPv6 over IPv6', inner6, vx6],
    ['inner IPv4 over IPv6', inner4, vx6],
    ['inner IPv6 over IPv4', inner6, vx4],
  ];
  for (const [name, inner, outer] of cases) {
    describe(name, () => {
      for (const o of [NOT_ECT, ECT1, ECT0, CE]) {
        for (const i of [NOT_ECT, ECT1, ECT0, CE]) {
          const want = rfc6040(o, i);
          const label = `outer ${NAME[o]}, inner ${NAME[i]} -> ${want === 'drop' ? 'dropped (ecn_not_ect)' : NAME[want]}`;
          it(`XDP and TC: ${label}`, () => {
            const expected = want === 'drop' ? Buffer.alloc(0) : inner(want);
            const x = env.counting(delta(want, i, expected), () => env.xdp('xv_xdp_underlay', outer(inner(i), o)));
            const t = env.counting(delta(want, i, expected), () => env.tc('xv_tc_underlay', outer(inner(i), o), env.ifx.uly));
            if (want === 'drop') {
              expect([x.retval, t.retval]).toEqual([XDP.DROP, TC.SHOT]);
            } else {
              expect([x.retval, hex(x.data)]).toEqual([XDP.REDIRECT, hex(expected)]);
              expect([t.retval, hex(t.data)]).toEqual([TC.REDIRECT, hex(expected)]);
            }
          });
        }
      }
    });
  }

  it('the mark also reaches frames the GRO hand-off passes up (redirects where the kernel has no XDP metadata) and frames flooded to every endpoint', async () => {
    env.configureRaw({ rxGroIfindex: env.ifx.uly });
    const big = inner4(ECT0, { tcpLen: 1000 });
    const handOff = await probeXdpMetadata();
    const r = env.counting({ [SLOT]: { rxPackets: 1, rxBytes: 1000, event: handOff ? { rx_gro: 1, ecn_ce: 1 } : { ecn_ce: 1 } } }, () => env.xdp('xv_xdp_underlay', vx4(big, CE)));
    expect(r.retval).toBe(handOff ? XDP.PASS : XDP.REDIRECT);
    expect(hex(r.data.subarray(handOff ? 8 : 0))).toBe(hex(inner4(CE, { tcpLen: 1000 })));
    env.floodPorts(VNI, [env.ifx.ep1, env.ifx.ep2]);
    const bcast = (ecn: number) => inner4(ecn, { dst: 'ff:ff:ff:ff:ff:ff' });
    const f = env.counting({ [SLOT]: { rxPackets: 1, rxBytes: bcast(CE).length, event: { flood: 1, ecn_ce: 1 } } }, () => env.xdp('xv_xdp_underlay', vx4(bcast(ECT1), CE)));
    expect([f.retval, hex(f.data)]).toEqual([XDP.REDIRECT, hex(bcast(CE))]);
  });

  it('a frame with no ECN field (ARP) is delivered unchanged under an outer CE', () => {
    const req = eth('ff:ff:ff:ff:ff:ff', MAC.rem, EtherType.ARP, arp({ op: 1, sha: MAC.rem, spa: '198.51.100.2', tha: '00:00:00:00:00:00', tpa: '198.51.100.1' }));
    env.floodPorts(VNI, [env.ifx.ep1, env.ifx.ep2]);
    const r = env.counting({ [SLOT]: { rxPackets: 1, rxBytes: req.length, event: { flood: 1 } } }, () => env.xdp('xv_xdp_underlay', vx4(req, CE)));
    expect([r.retval, hex(r.data)]).toEqual([XDP.REDIRECT, hex(req)]);
  });
});
