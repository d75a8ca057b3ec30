// BUM / unknown unicast: head-end replication. XDP underlay floods through
// the VNI's devmap (verdict + bytes), the TC programs clone for real: those
// copies are captured on the receiving interfaces and checked byte for byte.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { ADDR, DEFAULT_SLOT, DpEnv, MAC, TC, XDP } from '../helpers/dpenv.js';
import { removeWorkdirs, startCapture, type Capture } from '../helpers/labtools.js';
import { EtherType, Proto, arp, eth, fill, hex, icmpEcho, ipv4, ipv6, udp, vxlan } from '../helpers/packets.js';

const VNI = 1024;
const SLOT = DEFAULT_SLOT;

/** Raw frames of a classic pcap file (tcpdump -w). */
function pcapFrames(file: string): Buffer[] {
  const b = readFileSync(file);
  if (b.length < 24) return [];
  const le = b.readUInt32LE(0) === 0xa1b2c3d4;
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const out: Buffer[] = [];
  for (let o = 24; o + 16 <= b.length;) {
    const incl = u32(o + 8);
    out.push(Buffer.from(b.subarray(o + 16, o + 16 + incl)));
    o += 16 + incl;
  }
  return out;
}

const bcastArp = eth('ff:ff:ff:ff:ff:ff', MAC.ep1c, EtherType.ARP, arp({ op: 1, sha: MAC.ep1c, spa: '198.51.100.1', tha: '00:00:00:00:00:00', tpa: '198.51.100.9' }));

function outer(inner: Buffer, remote: string, dmac: string, smac: string, sport: number, id: number): Buffer {
  const v6 = remote.includes(':');
  const local = v6 ? ADDR.local6 : ADDR.local4;
  const u = udp({ sport, dport: 4789, payload: vxlan(VNI, inner), pseudo: v6 ? { src: local, dst: remote } : undefined });
  return v6
    ? eth(dmac, smac, EtherType.IPV6, ipv6({ src: local, dst: remote, nextHeader: Proto.UDP, payload: u }))
    : eth(dmac, smac, EtherType.IPV4, ipv4({ src: local, dst: remote, proto: Proto.UDP, id, payload: u }));
}

describeKernel('flooding (BUM and unknown unicast)', () => {
  let env: DpEnv;
  beforeAll(async () => {
    env = await DpEnv.create('fld');
  });
  afterAll(() => {
    env?.destroy();
    removeWorkdirs();
  });
  beforeEach(() => {
    env.configureRaw();
    env.vni(VNI, { endpoints: [env.ifx.ep1, env.ifx.ep2, env.ifx.ep3], peers: [ADDR.peer4, ADDR.peer6] });
    env.dp.flood.delete(VNI);
    env.dp.clearFloodPorts(VNI);
  });

  async function capturing(where: Array<[string, string, string[]]>, fn: () => void): Promise<Buffer[][]> {
    const caps: Capture[] = [];
    try {
      for (const [ns, ifname, filter] of where) caps.push(await startCapture(ns, ifname, ['--immediate-mode', ...filter], { snaplen: 4096, maxSeconds: 15 }));
      fn();
    } finally {
      for (const c of caps) await c.stop();
    }
    return caps.map((c) => pcapFrames(c.file));
  }

  it('XDP underlay: BUM and unknown unicast are broadcast to the VNI devmap with exactly the inner frame', () => {
    env.floodPorts(VNI, [env.ifx.ep1, env.ifx.ep2]);
    for (const dst of ['ff:ff:ff:ff:ff:ff', '33:33:00:00:00:01', '02:aa:bb:cc:ee:01']) {
      const inner = eth(dst, MAC.rem, EtherType.IPV4, ipv4({ src: '198.51.100.2', dst: '198.51.100.255', proto: Proto.UDP, payload: udp({ sport: 5, dport: 6, payload: fill(30) }) }));
      const pkt = eth(MAC.uly, MAC.peer, EtherType.IPV4, ipv4({ src: ADDR.peer4, dst: ADDR.local4, proto: Proto.UDP, payload: udp({ sport: 40000, dport: 4789, payload: vxlan(VNI, inner) }) }));
      const r = env.counting({ [SLOT]: { rxPackets: 1, rxBytes: inner.length, event: { flood: 1 } } }, () => env.xdp('xv_xdp_underlay', pkt));
      expect([r.retval, hex(r.data)]).toEqual([XDP.REDIRECT, hex(inner)]);
    }
  });

  it('TC underlay: one exact copy of the inner frame on every local port of the flood list', async () => {
    env.dp.flood.set({ vni: VNI, remotes: [ADDR.peer4], locals: [env.ifx.ep1, env.ifx.ep2] });
    const inner = eth('ff:ff:ff:ff:ff:ff', MAC.rem, EtherType.IPV4, ipv4({ src: '198.51.100.2', dst: '198.51.100.255', proto: Proto.ICMP, payload: icmpEcho(3, 3, fill(40)) }));
    const pkt = eth(MAC.uly, MAC.peer, EtherType.IPV6, ipv6({ src: ADDR.peer6, dst: ADDR.local6, nextHeader: Proto.UDP, payload: udp({ sport: 40000, dport: 4789, payload: vxlan(VNI, inner), pseudo: { src: ADDR.peer6, dst: ADDR.local6 } }) }));
    const filter = ['ether', 'src', MAC.rem];
    const got = await capturing([[env.ns, 'ep1c', filter], [env.ns, 'ep2c', filter], [env.ns, 'ep3c', filter]], () => {
      const r = env.counting({ [SLOT]: { rxPackets: 1, rxBytes: inner.length, event: { flood: 1 } } }, () => env.tc('xv_tc_underlay', pkt, env.ifx.uly));
      expect(r.retval).toBe(TC.SHOT); // the original was only the template of the clones
    });
    expect(got.map((fs) => fs.map(hex))).toEqual([[hex(inner)], [hex(inner)], []]);
  });

  it('TC endpoint: clones to the other local ports and to every VTEP (IPv4 then IPv6), every byte on the wire', async () => {
    env.dp.flood.set({ vni: VNI, remotes: [ADDR.peer4, ADDR.peer6, ADDR.peer4b], locals: [env.ifx.ep1, env.ifx.ep2, env.ifx.ep3] });
    const local = ['ether', 'src', MAC.ep1c];
    let out: Buffer | undefined;
    const [c1, c2, c3, wire] = await capturing([
      [env.ns, 'ep1c', local], [env.ns, 'ep2c', local], [env.ns, 'ep3c', local], [env.peerNs, 'uly1', ['udp', 'port', '4789']],
    ], () => {
      const r = env.counting({ [SLOT]: { txPackets: 3, txBytes: 3 * bcastArp.length, event: { flood: 1 } } }, () => env.tc('xv_tc_endpoint', bcastArp, env.ifx.ep1));
      expect(r.retval).toBe(TC.SHOT);
      out = r.data;
    });
    expect([c1!.length, c2!.map(hex), c3!.map(hex)]).toEqual([0, [hex(bcastArp)], [hex(bcastArp)]]);
    expect(wire!.length).toBe(3);
    const sport = wire![0]!.readUInt16BE(34), id = wire![0]!.readUInt16BE(18);
    expect(sport).toBeGreaterThanOrEqual(32768);
    expect(wire!.map(hex).sort()).toEqual([
      outer(bcastArp, ADDR.peer4, MAC.peer, MAC.uly, sport, id),
      outer(bcastArp, ADDR.peer4b, MAC.peerB, MAC.uly, sport, id),
      outer(bcastArp, ADDR.peer6, MAC.peer, MAC.uly, sport, id),
    ].map(hex).sort());
    expect(out!.length).toBe(bcastArp.length + 70); // the template ends as the last (IPv6) copy
  });

  it('unknown unicast IPv4 from an endpoint floods the same way; the XDP endpoint hands BUM to TC', async () => {
    env.dp.flood.set({ vni: VNI, remotes: [ADDR.peer4], locals: [env.ifx.ep1, env.ifx.ep2] });
    const f = eth('02:aa:bb:cc:ee:02', MAC.ep1c, EtherType.IPV4, ipv4({ src: '198.51.100.1', dst: '198.51.100.50', proto: Proto.ICMP, df: true, payload: icmpEcho(4, 4, fill(20)) }));
    const x = env.counting({ [SLOT]: { event: { xdp_to_tc: 1 } } }, () => env.xdp('xv_xdp_endpoint', f, env.ifx.ep1));
    expect([x.retval, hex(x.data)]).toEqual([XDP.PASS, hex(f)]);
    const [c2, wire] = await capturing([[env.ns, 'ep2c', ['ether', 'src', MAC.ep1c]], [env.peerNs, 'uly1', ['udp', 'port', '4789']]], () => {
      env.counting({ [SLOT]: { txPackets: 1, txBytes: f.length, event: { flood: 1 } } }, () => expect(env.tc('xv_tc_endpoint', f, env.ifx.ep1).retval).toBe(TC.SHOT));
    });
    expect(c2!.map(hex)).toEqual([hex(f)]);
    expect(wire!.length).toBe(1);
    // DF inner but policy "unset": the ID is not 0, take it from the wire and compare again
    expect(hex(wire![0])).toBe(hex(outer(f, ADDR.peer4, MAC.peer, MAC.uly, wire![0]!.readUInt16BE(34), wire![0]!.readUInt16BE(18))));
  });

  it('a peer whose next hop is unresolved gets the original through redirect_neigh; a second one is skipped and counted', () => {
    env.dp.flood.set({ vni: VNI, remotes: [ADDR.unresolved4, ADDR.peer4], locals: [] });
    const r = env.counting({ [SLOT]: { txPackets: 2, txBytes: 2 * bcastArp.length, event: { flood: 1, neigh_unresolved: 1 } } },
      () => env.tc('xv_tc_endpoint', bcastArp, env.ifx.ep1));
    expect(r.retval).toBe(TC.REDIRECT);
    const id = r.data.readUInt16BE(18), sport = r.data.readUInt16BE(34);
    expect(hex(r.data)).toBe(hex(outer(bcastArp, ADDR.unresolved4, '00:00:00:00:00:00', '00:00:00:00:00:00', sport, id)));
    env.dp.flood.set({ vni: VNI, remotes: [ADDR.unresolved4, '192.0.2.98', ADDR.peer4], locals: [] });
    const r2 = env.counting({ [SLOT]: { txPackets: 2, txBytes: 2 * bcastArp.length, event: { flood: 1, flood_skipped: 1, neigh_unresolved: 1 } } },
      () => env.tc('xv_tc_endpoint', bcastArp, env.ifx.ep1));
    expect(r2.retval).toBe(TC.REDIRECT);
    expect(r2.data.subarray(30, 34).toString('hex')).toBe('c0000262'); // the last unresolved peer, 192.0.2.98
  });

  it('too big for the tunnel: local copies still go out, remote copies are dropped as mtu_exceeded', async () => {
    env.configureRaw({ underlayMtu: 1400 });
    env.dp.flood.set({ vni: VNI, remotes: [ADDR.peer4], locals: [env.ifx.ep2] });
    const f = eth('ff:ff:ff:ff:ff:ff', MAC.ep1c, EtherType.IPV4, ipv4({ src: '198.51.100.1', dst: '198.51.100.255', proto: Proto.UDP, payload: udp({ sport: 7, dport: 8, payload: fill(1400) }) }));
    const [c2] = await capturing([[env.ns, 'ep2c', ['ether', 'src', MAC.ep1c]]], () => {
      env.counting({ [SLOT]: { drop: { mtu_exceeded: 1 }, event: { flood: 1 } } }, () => expect(env.tc('xv_tc_endpoint', f, env.ifx.ep1).retval).toBe(TC.SHOT));
    });
    expect(c2!.map(hex)).toEqual([hex(f)]);
  });
});
