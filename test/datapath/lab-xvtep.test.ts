// Issue 3, part 3: xvtep on every host, two VNIs with overlapping overlay
// addresses, in a namespace lab. Proves VNI isolation, head-end replication
// (each BUM frame reaches every other endpoint of its VNI exactly once,
// local and remote), learning (the FDB maps each MAC to the right VTEP, per
// VNI) and ageing.
//
//                      [sw: bridge br0]  underlay 192.0.2.0/24
//            ______________/   |   \_______________
//   [a 192.0.2.1]        [b 192.0.2.2]          [c 192.0.2.3]
//   VNI 100: c1, c1b     VNI 100: c2            VNI 100: c5
//   VNI 200: c3          VNI 200: c4
//
// c1 and c3 are both 198.51.100.1, c2 and c4 both 198.51.100.2: only the VNI
// tells them apart. IPv6 is off in every namespace, so nothing but the test's
// own traffic is on the wire and counts are exact.
//
// Wire emulation: the underlay is made of veths, which carry the sender's
// CHECKSUM_PARTIAL state to the receiver; native XDP loses it on redirect, so
// every host's underlay NIC has tx checksumming off, as a physical NIC in
// effect has (see lab-kernel.test.ts).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { Lab } from '../helpers/lab.js';
import { container, neighbourMac, readCapture, removeWorkdirs, sleep, startCapture } from '../helpers/labtools.js';
import { startXvtep, type XvtepHost } from '../helpers/xvtep-host.js';

const UL = { a: '192.0.2.1', b: '192.0.2.2', c: '192.0.2.3' } as const;
type HostName = keyof typeof UL;

interface Ct { name: string; host: HostName; vni: 100 | 200; hostIf: string; ip: string; mac: string }
const CTS: Ct[] = [
  { name: 'c1', host: 'a', vni: 100, hostIf: 'ep1', ip: '198.51.100.1', mac: '02:00:00:00:01:01' },
  { name: 'c1b', host: 'a', vni: 100, hostIf: 'ep1b', ip: '198.51.100.11', mac: '02:00:00:00:01:0b' },
  { name: 'c3', host: 'a', vni: 200, hostIf: 'ep3', ip: '198.51.100.1', mac: '02:00:00:00:03:01' },
  { name: 'c2', host: 'b', vni: 100, hostIf: 'ep2', ip: '198.51.100.2', mac: '02:00:00:00:02:01' },
  { name: 'c4', host: 'b', vni: 200, hostIf: 'ep4', ip: '198.51.100.2', mac: '02:00:00:00:04:01' },
  { name: 'c5', host: 'c', vni: 100, hostIf: 'ep5', ip: '198.51.100.3', mac: '02:00:00:00:05:01' },
];
const ct = (name: string) => CTS.find((c) => c.name === name)!;

describeKernel('lab: xvtep on every host, two VNIs', () => {
  const lab = new Lab('xv');
  const ns = new Map<string, string>(); // host or container name -> netns
  const xv = new Map<HostName, XvtepHost>();
  const n = (name: string) => ns.get(name)!;
  const host = (h: HostName) => xv.get(h)!;

  beforeAll(async () => {
    const sw = lab.host('sw', { ipv6: false });
    ns.set('sw', sw);
    lab.exec(sw, 'ip', 'link', 'add', 'br0', 'type', 'bridge');
    lab.exec(sw, 'ip', 'link', 'set', 'br0', 'up');
    for (const h of Object.keys(UL) as HostName[]) {
      const hns = lab.host(h, { ipv6: false });
      ns.set(h, hns);
      lab.link(hns, 'ul0', sw, `p${h}`, `${UL[h]}/24`);
      lab.exec(sw, 'ip', 'link', 'set', `p${h}`, 'master', 'br0');
      lab.exec(hns, 'ethtool', '-K', 'ul0', 'tx', 'off'); // wire emulation, see the header
    }
    for (const c of CTS) {
      ns.set(c.name, container(lab, { name: c.name, hostNs: n(c.host), hostIf: c.hostIf, mac: c.mac, mtu: 1450, addrs: [`${c.ip}/24`] }));
    }
    for (const h of Object.keys(UL) as HostName[]) {
      const others = (Object.keys(UL) as HostName[]).filter((o) => o !== h);
      const vnis = ([100, 200] as const).flatMap((vni) => {
        const eps = CTS.filter((c) => c.host === h && c.vni === vni).map((c) => c.hostIf);
        if (!eps.length) return [];
        const peers = others.filter((o) => CTS.some((c) => c.host === o && c.vni === vni)).map((o) => UL[o]);
        return [{ vni, endpoints: eps, peers }];
      });
      xv.set(h, await startXvtep({ lab, ns: n(h), underlay: 'ul0', localAddress: UL[h], vnis }));
    }
  });
  afterAll(() => {
    for (const h of xv.values()) h.close();
    lab.destroy();
    removeWorkdirs();
  });

  // exactly `count` ICMP echo requests to the broadcast address (no -w: with a
  // deadline ping keeps sending until it gets replies, and nobody replies to
  // broadcast pings by default)
  const broadcast = (c: string, count: number) =>
    lab.tryExec(n(c), 'ping', '-b', '-c', String(count), '-i', '0.2', '-W', '1', '198.51.100.255');

  it('unicast works in both VNIs, and overlapping addresses resolve to their own VNI', () => {
    expect(lab.ping(n('c1'), '198.51.100.2')).toBe(true);
    expect(neighbourMac(lab, n('c1'), 'eth0', '198.51.100.2')).toBe(ct('c2').mac);
    expect(neighbourMac(lab, n('c2'), 'eth0', '198.51.100.1')).toBe(ct('c1').mac);
    expect(lab.ping(n('c3'), '198.51.100.2')).toBe(true);
    expect(neighbourMac(lab, n('c3'), 'eth0', '198.51.100.2')).toBe(ct('c4').mac);
    expect(neighbourMac(lab, n('c4'), 'eth0', '198.51.100.1')).toBe(ct('c3').mac);
    expect(lab.ping(n('c5'), '198.51.100.1')).toBe(true);
    expect(neighbourMac(lab, n('c5'), 'eth0', '198.51.100.1')).toBe(ct('c1').mac);
    expect(lab.ping(n('c1'), '198.51.100.11')).toBe(true); // local, same VNI, same host
  });

  it('learning filled each FDB with the right destination, per VNI', () => {
    const dests = (h: HostName, vni: number) =>
      Object.fromEntries(host(h).fdb(vni).map((r) => [r.mac, { ...r.dest, static: r.static }]));
    const local = (h: HostName, c: string) => ({ kind: 'local', ifindex: host(h).ifindex(ct(c).hostIf), static: false });
    const remote = (h: HostName) => ({ kind: 'remote', remote: UL[h], static: false });
    expect(dests('a', 100)).toEqual({
      [ct('c1').mac]: local('a', 'c1'), [ct('c1b').mac]: local('a', 'c1b'), [ct('c2').mac]: remote('b'), [ct('c5').mac]: remote('c'),
    });
    expect(dests('a', 200)).toEqual({ [ct('c3').mac]: local('a', 'c3'), [ct('c4').mac]: remote('b') });
    expect(dests('b', 100)).toEqual({ [ct('c2').mac]: local('b', 'c2'), [ct('c1').mac]: remote('a'), [ct('c5').mac]: remote('c') });
    expect(dests('b', 200)).toEqual({ [ct('c4').mac]: local('b', 'c4'), [ct('c3').mac]: remote('a') });
    // c heard c1 (its ARP broadcast for c2, then the ping with c5), never c2
    expect(dests('c', 100)).toEqual({ [ct('c5').mac]: local('c', 'c5'), [ct('c1').mac]: remote('a') });
  });

  // Counts below are of frames, filtered by what they are: the containers'
  // own ARP upkeep (unicast probes a few seconds after a ping) may add
  // unrelated frames at any time.
  const captureIn = (c: string, filter: string[]) => startCapture(n(c), 'eth0', filter, { direction: 'in', maxPackets: 200, maxSeconds: 20 });
  const bcastFrom = (c: string) => ['icmp', 'and', 'ether', 'broadcast', 'and', 'ether', 'src', ct(c).mac];
  // outer IPv4 (20) + UDP (8) + VXLAN (8) after the outer Ethernet (14): inner destination MAC at 50
  const vxlanBcast = ['udp', 'dst', 'port', '4789', 'and', 'ether[50:4] = 0xffffffff', 'and', 'ether[54:2] = 0xffff'];

  it('VNI isolation: VNI 100 broadcast and unicast never reach a VNI 200 endpoint', async () => {
    const slot200 = host('b').stats(200).rxPackets;
    // anything c3 or c4 receive that the other did not send crossed VNIs
    const caps = await Promise.all([
      captureIn('c3', ['not', 'ether', 'src', ct('c4').mac]),
      captureIn('c4', ['not', 'ether', 'src', ct('c3').mac]),
      captureIn('c2', bcastFrom('c1')),
    ]);
    broadcast('c1', 5);
    expect(lab.ping(n('c1'), '198.51.100.2', 3)).toBe(true);
    expect(lab.ping(n('c2'), '198.51.100.1', 3)).toBe(true);
    const [c3, c4, c2] = await Promise.all(caps.map(async (c) => readCapture(await c.stop())));
    expect(c3).toEqual([]);
    expect(c4).toEqual([]);
    expect(c2).toHaveLength(5); // the VNI 100 broadcasts did go out
    expect(host('b').stats(200).rxPackets).toBe(slot200);
  });

  const ALL = CTS.map((c) => c.name);
  async function countBroadcasts(from: string, count: number): Promise<Record<string, number>> {
    const caps = await Promise.all(ALL.map((c) => captureIn(c, bcastFrom(from))));
    broadcast(from, count);
    const frames = await Promise.all(caps.map(async (c) => readCapture(await c.stop()).length));
    return Object.fromEntries(ALL.map((c, i) => [c, frames[i]!]));
  }

  it('BUM from host a reaches every other VNI 100 endpoint exactly once (local and both peers)', async () => {
    const N = 5;
    const aTx = host('a').stats(100).txPackets;
    // on the switch ports towards b and c: XDP on the hosts' ul0 takes frames before any capture there
    const wire = await Promise.all(['pb', 'pc'].map((p) => startCapture(n('sw'), p, vxlanBcast, { direction: 'out' })));
    expect(await countBroadcasts('c1', N)).toEqual({ c1: 0, c1b: N, c3: 0, c2: N, c4: 0, c5: N });
    // one VXLAN copy per frame on each peer's wire, and xvtep counted both remote copies
    const [onB, onC] = await Promise.all(wire.map(async (c) => readCapture(await c.stop())));
    expect(onB).toHaveLength(N);
    expect(onC).toHaveLength(N);
    expect(host('a').stats(100).txPackets - aTx).toBeGreaterThanOrEqual(2 * N);
  });

  it('BUM from host b reaches both local endpoints on a (XDP broadcast) and c once each', async () => {
    const N = 5;
    expect(await countBroadcasts('c2', N)).toEqual({ c1: N, c1b: N, c3: 0, c2: 0, c4: 0, c5: N });
  });

  it('ageing empties the learned FDB; traffic learns it again', async () => {
    const a = host('a');
    const aged = a.dp.ageLearned(() => 1, process.hrtime.bigint() + 2_000_000_000n);
    expect(aged.length).toBeGreaterThanOrEqual(6);
    expect(a.fdb(100)).toEqual([]);
    expect(a.fdb(200)).toEqual([]);
    // unknown unicast is flooded, so the overlay keeps working; re-learning can lag by fdb_refresh_ms (1 s)
    const deadline = Date.now() + 3000;
    let learned = false;
    while (!learned && Date.now() < deadline) {
      expect(lab.ping(n('c1'), '198.51.100.2', 1)).toBe(true);
      learned = a.fdb(100).some((r) => r.mac === ct('c2').mac && r.dest.kind === 'remote' && r.dest.remote === UL.b);
      if (!learned) await sleep(250);
    }
    expect(learned).toBe(true);
  });

  it('ageing by real time: entries not refreshed for 1 s go, fresh ones stay', async () => {
    const c = host('c');
    const learned = c.fdb(100).filter((r) => !r.static);
    expect(learned.length).toBeGreaterThan(0);
    await sleep(1500); // no traffic touches host c meanwhile
    expect(c.dp.ageLearned(() => 0)).toEqual([]); // ageing 0 = never
    const gone = c.dp.ageLearned(() => 1);
    expect(gone.map((r) => r.mac).sort()).toEqual(learned.map((r) => r.mac).sort());
    expect(c.fdb(100)).toEqual([]);
  });
});
