// Issue 6, hostile packets from an attacker on the underlay: a namespace
// wired to xvtep's underlay link sends crafted frames (built with
// test/helpers/packets.ts, sent through an AF_PACKET socket). For every kind
// the test proves that nothing reaches a container it is not allowed to
// reach (captures in the containers) and that each frame is counted under the
// right reason, in the right place (xvtep's slots, or the kernel's own
// counters for what xvtep documents as "not ours": it passes it on).
//
//   [x: attacker 192.0.2.66, MTU 3000] ulx ---- ul0 [a: xvtep 192.0.2.1, MTU 1500]
//                                                    VNI 100: ep1 -> c1 (198.51.100.1)
//                                                    VNI 200: ep3 -> c3 (198.51.100.1)
// VNI 100's only peer is 192.0.2.2 and VNI 200's is 192.0.2.3; the attacker
// spoofs them at will (same L2 segment). Local endpoints' MACs are static.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { Lab } from '../helpers/lab.js';
import { container, readCapture, removeWorkdirs, startCapture } from '../helpers/labtools.js';
import { EtherType, Proto, eth, fill, ipv4, udp, vxlan } from '../helpers/packets.js';
import { macOf, startXvtep, type XvtepHost } from '../helpers/xvtep-host.js';
import { DROP_REASONS, EVENTS, type StatsValue } from '../../src/datapath/index.js';
import { recordSummary } from './summary.js';

const A = '192.0.2.1', X = '192.0.2.66', PEER100 = '192.0.2.2', PEER200 = '192.0.2.3';
const C1 = { mac: '02:00:00:00:01:01', ip: '198.51.100.1' };
const C3 = { mac: '02:00:00:00:03:01', ip: '198.51.100.1' };
const EVIL = '02:66:66:66:66:01';
const N = 10;

// AF_PACKET sender: one hex frame per stdin line, sent as is on argv[1].
const SENDER = `
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
n = err = 0
for line in sys.stdin:
    line = line.strip()
    if line:
        try:
            s.send(bytes.fromhex(line)); n += 1
        except OSError:
            err += 1  # the veth refused it (e.g. longer than the receiver MTU)
print(n, err)
`;

/** Inner frame: UDP to port 6666 (what the containers' captures look for). */
const innerTo = (dst: string, src = EVIL, size = 32) => eth(dst, src, EtherType.IPV4, ipv4({
  // to an address nobody has: the containers receive it without answering (no ARP, no ICMP to count)
  src: '198.51.100.66', dst: '198.51.100.99', proto: Proto.UDP, payload: udp({ sport: 6666, dport: 6666, payload: fill(size) }),
}));

interface Category { name: string; frames: () => Buffer[]; expect: string }

describeKernel('hostile packets from an attacker namespace on the underlay', () => {
  const lab = new Lab('atk');
  let a = '', x = '', c1 = '', c3 = '', xMac = '';
  let xv: XvtepHost;
  const rows: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    a = lab.host('a', { ipv6: false });
    x = lab.host('x', { ipv6: false });
    lab.link(a, 'ul0', x, 'ulx', `${A}/24`, `${X}/24`);
    lab.exec(x, 'ip', 'link', 'set', 'ulx', 'mtu', '3000'); // native XDP on the peer allows at most ~3.5 KB
    lab.exec(a, 'ethtool', '-K', 'ul0', 'tx', 'off');
    xMac = macOf(lab, x, 'ulx');
    for (const p of [PEER100, PEER200]) lab.exec(a, 'ip', 'neigh', 'replace', p, 'lladdr', xMac, 'nud', 'permanent', 'dev', 'ul0');
    c1 = container(lab, { name: 'c1', hostNs: a, hostIf: 'ep1', mac: C1.mac, addrs: [`${C1.ip}/24`] });
    c3 = container(lab, { name: 'c3', hostNs: a, hostIf: 'ep3', mac: C3.mac, addrs: [`${C3.ip}/24`] });
    xv = await startXvtep({
      lab, ns: a, underlay: 'ul0', localAddress: A, managedNeighbours: false,
      vnis: [
        { vni: 100, endpoints: ['ep1'], peers: [PEER100], fdb: [{ mac: C1.mac, endpoint: 'ep1' }] },
        { vni: 200, endpoints: ['ep3'], peers: [PEER200], fdb: [{ mac: C3.mac, endpoint: 'ep3' }] },
      ],
    });
  });

  afterAll(() => {
    recordSummary('attacker', rows);
    xv?.close();
    lab.destroy();
    removeWorkdirs();
  });

  const outer = (inner: Buffer, o: { src?: string; vni?: number; dport?: number } = {}) => eth(macOf(lab, a, 'ul0'), xMac, EtherType.IPV4, ipv4({
    src: o.src ?? PEER100, dst: A, proto: Proto.UDP, payload: udp({ sport: 40000, dport: o.dport ?? 4789, payload: vxlan(o.vni ?? 100, inner) }),
  }));

  /** IPv4 fragments of one VXLAN datagram (first 64 bytes of UDP payload, then the rest). */
  const fragments = (inner: Buffer, id: number): Buffer[] => {
    const whole = outer(inner).subarray(14 + 20); // UDP header + VXLAN + inner
    const cut = 8 + 64;
    const mk = (payload: Buffer, off: number, mf: boolean) => eth(macOf(lab, a, 'ul0'), xMac, EtherType.IPV4,
      ipv4({ src: PEER100, dst: A, proto: Proto.UDP, id, mf, fragOffset: off / 8, payload }));
    return [mk(whole.subarray(0, cut), 0, true), mk(whole.subarray(cut), cut, false)];
  };

  const send = (frames: Buffer[]): { handed: number; refused: number } => {
    const r = spawnSync('ip', ['netns', 'exec', x, 'timeout', '20', 'python3', '-c', SENDER, 'ulx'],
      { input: frames.map((f) => f.toString('hex')).join('\n'), encoding: 'utf8', timeout: 25_000 });
    if (r.status !== 0) throw new Error(`AF_PACKET sender failed: ${r.stderr}`);
    const [ok, refused] = r.stdout.trim().split(' ').map(Number);
    return { handed: ok! + refused!, refused: refused! };
  };

  const snmp = (): Record<string, number> => {
    const lines = lab.exec(a, 'cat', '/proc/net/snmp').split('\n');
    const out: Record<string, number> = {};
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const k = lines[i]!.split(/\s+/), v = lines[i + 1]!.split(/\s+/);
      for (let j = 1; j < k.length; j++) out[`${k[0]!.replace(':', '')}${k[j]}`] = Number(v[j]);
    }
    return out;
  };
  const ifs = (ns: string, dev: string, c: string) => Number(lab.exec(ns, 'cat', `/sys/class/net/${dev}/statistics/${c}`).trim());

  type Counters = { s0: StatsValue; s100: StatsValue; s200: StatsValue; snmp: Record<string, number>; ulRxDropped: number; ulxTxDropped: number };
  const counters = (): Counters => ({
    s0: xv.dp.readStats(0), s100: xv.stats(100), s200: xv.stats(200), snmp: snmp(),
    ulRxDropped: ifs(a, 'ul0', 'rx_dropped'), ulxTxDropped: ifs(x, 'ulx', 'tx_dropped'),
  });
  /** Non-zero differences, flattened: "100.drop.unknown_peer" etc. */
  const diff = (b: Counters, c: Counters): Record<string, number> => {
    const o: Record<string, number> = {};
    const names = { drop: DROP_REASONS as readonly string[], event: EVENTS as readonly string[] };
    for (const [slot, k] of [['0', 's0'], ['100', 's100'], ['200', 's200']] as const) {
      const x0 = b[k], x1 = c[k];
      if (x1.rxPackets !== x0.rxPackets) o[`${slot}.rx`] = x1.rxPackets - x0.rxPackets;
      if (x1.txPackets !== x0.txPackets) o[`${slot}.tx`] = x1.txPackets - x0.txPackets;
      x1.drop.forEach((v, i) => { if (v !== x0.drop[i]) o[`${slot}.drop.${names.drop[i] ?? i}`] = v - x0.drop[i]!; });
      x1.event.forEach((v, i) => { if (v !== x0.event[i]) o[`${slot}.event.${names.event[i] ?? i}`] = v - x0.event[i]!; });
    }
    for (const k of ['UdpNoPorts', 'UdpInDatagrams', 'IpReasmOKs']) if (c.snmp[k] !== b.snmp[k]) o[`kernel.${k}`] = c.snmp[k]! - b.snmp[k]!;
    if (c.ulRxDropped !== b.ulRxDropped) o['kernel.ul0.rx_dropped'] = c.ulRxDropped - b.ulRxDropped;
    if (c.ulxTxDropped !== b.ulxTxDropped) o['kernel.ulx.tx_dropped'] = c.ulxTxDropped - b.ulxTxDropped;
    return o;
  };

  /** Sends a category, returns [frames received by c1, by c3, counter moves]. */
  async function attack(cat: Category): Promise<{ c1: number; c3: number; moved: Record<string, number>; sent: number; refused: number; frames: number }> {
    const filter = ['udp', 'dst', 'port', '6666'];
    const caps = await Promise.all([c1, c3].map((ns) => startCapture(ns, 'eth0', filter, { direction: 'in', maxPackets: 500, maxSeconds: 20 })));
    const frames = cat.frames();
    const before = counters();
    const { handed: sent, refused } = send(frames);
    const [r1, r3] = await Promise.all(caps.map(async (c) => readCapture(await c.stop()).length));
    return { c1: r1!, c3: r3!, moved: diff(before, counters()), sent, refused, frames: frames.length };
  }

  const many = (f: () => Buffer) => Array.from({ length: N }, f);

  const CASES: Array<Category & { allowedC1: boolean; want: Record<string, number> | ((m: Record<string, number>) => boolean) }> = [
    { name: 'control: valid VXLAN from the known peer to c1', expect: 'delivered to c1 only, rx in VNI 100',
      frames: () => many(() => outer(innerTo(C1.mac))), allowedC1: true, want: { '100.rx': N, '100.event.learn_new': 1 } },
    { name: 'VXLAN from an unknown source IP', expect: 'dropped: unknown_peer in VNI 100',
      frames: () => many(() => outer(innerTo(C1.mac), { src: X })), allowedC1: false, want: { '100.drop.unknown_peer': N } },
    { name: 'known peer, wrong VNI (another VNI\'s)', expect: 'dropped: unknown_peer in VNI 200',
      frames: () => many(() => outer(innerTo(C3.mac), { vni: 200 })), allowedC1: false, want: { '200.drop.unknown_peer': N } },
    { name: 'known peer, VNI that does not exist', expect: 'dropped: unknown_vni in slot 0',
      frames: () => many(() => outer(innerTo(C3.mac), { vni: 999 })), allowedC1: false, want: { '0.drop.unknown_vni': N } },
    { name: 'spoofed inner MACs aimed at VNI 200\'s endpoint, sent in VNI 100', expect: 'flooded within VNI 100 only (unknown unicast there); never reaches c3',
      frames: () => many(() => outer(innerTo(C3.mac))), allowedC1: true, want: { '100.rx': N, '100.event.flood': N } },
    { name: 'inner source spoofing a local endpoint (c1, static FDB)', expect: 'static_conflict in VNI 100, FDB unchanged; never reaches c3',
      frames: () => many(() => outer(innerTo(C3.mac, C1.mac))), allowedC1: true, want: { '100.rx': N, '100.event.flood': N, '100.event.static_conflict': N } },
    { name: 'inner source broadcast', expect: 'dropped: bad_src_mac in VNI 100',
      frames: () => many(() => outer(innerTo(C1.mac, 'ff:ff:ff:ff:ff:ff'))), allowedC1: false, want: { '100.drop.bad_src_mac': N } },
    { name: 'oversize: 2.9 KB frames on a 1500-MTU underlay', expect: 'dropped by the kernel before xvtep: ul0 rx_dropped (longer than its MTU)',
      frames: () => many(() => outer(innerTo(C1.mac, EVIL, 2800))), allowedC1: false,
      // veth counts the refused frame on both ends; nothing reaches XDP
      want: (m) => Object.keys(m).every((k) => k.startsWith('kernel.')) && m['kernel.ul0.rx_dropped'] === N },
    { name: 'oversize length claim: IP and UDP lengths beyond the frame', expect: 'dropped: malformed in slot 0',
      frames: () => many(() => { const f = outer(innerTo(C1.mac)); f.writeUInt16BE(f.length - 14 + 100, 16); f.writeUInt16BE(f.length - 34 + 100, 38); return f; }),
      allowedC1: false, want: { '0.drop.malformed': N } },
    { name: 'outer IPv4 fragments of VXLAN to c1', expect: 'passed to the kernel (not ours), reassembled, no UDP socket: UdpNoPorts',
      frames: () => Array.from({ length: N }, (_, i) => fragments(innerTo(C1.mac), 0x100 + i)).flat(), allowedC1: false,
      want: { 'kernel.IpReasmOKs': N, 'kernel.UdpNoPorts': N } },
    { name: 'VXLAN to 8472 while 4789 is configured', expect: 'passed to the kernel (not ours), no UDP socket: UdpNoPorts',
      frames: () => many(() => outer(innerTo(C1.mac), { dport: 8472 })), allowedC1: false, want: { 'kernel.UdpNoPorts': N } },
  ];

  for (const c of CASES) {
    it(`${c.name}: ${c.expect}`, async () => {
      const fdb1 = JSON.stringify(xv.dp.fdb.get(100, C1.mac));
      const r = await attack(c);
      // exactly these xvtep counters, and the kernel counters named (the kernel's own ICMP/UDP chatter aside)
      const got = Object.fromEntries(Object.entries(r.moved).filter(([k]) => !k.startsWith('kernel.') || typeof c.want === 'function' || k in c.want).sort());
      const right = typeof c.want === 'function' ? c.want(r.moved) : JSON.stringify(got) === JSON.stringify(Object.fromEntries(Object.entries(c.want).sort()));
      const deliveredWhereNotAllowed = r.c3 + (c.allowedC1 ? 0 : r.c1);
      rows.push({ category: c.name, sent: r.sent, refusedAtSend: r.refused, deliveredC1: r.c1, deliveredC3: r.c3, deliveredWhereNotAllowed, counted: r.moved, countedRight: right, expected: c.expect });
      expect(r.sent).toBe(r.frames);
      expect({ c3: r.c3, c1: c.allowedC1 ? N : r.c1 }).toEqual({ c3: 0, c1: c.allowedC1 ? r.c1 : 0 });
      if (c.allowedC1) expect(r.c1).toBe(N);
      if (typeof c.want === 'function') expect([r.moved, right]).toEqual([r.moved, true]);
      else expect(got).toEqual(c.want);
      expect(JSON.stringify(xv.dp.fdb.get(100, C1.mac))).toBe(fdb1); // the static entry of c1 never moves
    });
  }
});
