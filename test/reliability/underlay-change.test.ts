// The underlay changes under a running overlay stream: forwarding must
// resume within a second, in both directions.
//
// Transmit (container -> b) depends on host a's routes and neighbours:
// xvtep takes the next hop from bpf_fib_lookup and keeps it per CPU in
// xv_nhcache for at most nh_cache_ms (100 ms); the flow caches keep only the
// remote VTEP address, never a next hop. Receive (b -> container) is XDP on
// a's underlay and does not look at a's routes at all: its outage is b's
// (the kernel's vxlan and routes there).
//
// 1. Route change: a's underlay is a LAN (bridge in namespace s) with two
//    routers r1 and r2, each with its own link to b, whose VTEP address
//    192.0.2.100 is on its loopback. Mid-stream a's route to it moves from r1
//    to r2 (b's return route too) and r1's LAN port goes down at once, so a
//    next hop kept past the change would lose everything; then back.
//    Also the cold start there: the first flooded ARP must reach b, which
//    needs a's next hop (r1), not the off-link peer, kept resolved.
// 2. Neighbour change: b (on a's link) changes its underlay MAC and sends a
//    gratuitous ARP (arping -U), as a failover (VRRP, bonding, a replaced
//    NIC or a migrated VM) does; a's kernel updates its neighbour entry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { sh } from '../helpers/lab.js';
import { VtepLab, waitFor } from '../helpers/vtep-lab.js';
import { startStream, type StreamResult } from '../helpers/stream.js';
import { recordSummary } from './summary.js';

const PPS = 1000;
const OUTAGE_BOUND_MS = 1000;

interface Outage {
  scenario: string; direction: 'c->b (encap, a routes)' | 'b->c (decap, XDP)'; lost: number; lostMs: number; maxGapMs: number; received: number;
  /** Route change without traffic: from the change to the daemon's log line making the new next hop managed. */
  nextHopManagedMs?: number;
}
const results: Outage[] = [];

function outage(scenario: string, direction: Outage['direction'], r: StreamResult): Outage {
  return { scenario, direction, lost: r.missing, lostMs: Math.round((r.missing * 1000) / PPS), maxGapMs: r.maxGapMs, received: r.received };
}

/** Streams both ways across the overlay, runs `change` after 2 s, stops 3 s later. */
async function across(L: VtepLab, port: number, scenario: string, change: () => void): Promise<Outage[]> {
  const up = await startStream(L.c, L.b, '198.51.100.2', port, 60_000, PPS);
  const down = await startStream(L.b, L.c, '198.51.100.1', port + 1, 60_000, PPS);
  await new Promise((r) => setTimeout(r, 2000));
  change();
  await new Promise((r) => setTimeout(r, 3000));
  up.stop();
  down.stop();
  const [u, d] = await Promise.all([up.done, down.done]);
  const out = [outage(scenario, 'c->b (encap, a routes)', u), outage(scenario, 'b->c (decap, XDP)', d)];
  results.push(...out);
  recordSummary('underlayChange', { pps: PPS, boundMs: OUTAGE_BOUND_MS, scenarios: results });
  for (const [o, r] of [[out[0]!, u], [out[1]!, d]] as const) {
    expect(r.received, `${scenario} ${o.direction}: ${JSON.stringify(r)}`).toBeGreaterThan(3 * PPS);
    expect(r.duplicates).toBe(0);
  }
  return out;
}

const within = (o: Outage) => {
  expect(o.lostMs, JSON.stringify(o)).toBeLessThan(OUTAGE_BOUND_MS);
  expect(o.maxGapMs, JSON.stringify(o)).toBeLessThan(OUTAGE_BOUND_MS);
};

describeKernel('underlay next hop changes mid-stream', () => {
  describe('the route to the peer VTEP moves to another router', () => {
    let L: VtepLab;
    let r1: string, r2: string;
    const rx = (ns: string, dev: string) =>
      (JSON.parse(L.lab.exec(ns, 'ip', '-j', '-s', 'link', 'show', dev)) as Array<{ stats64: { rx: { packets: number } } }>)[0]!.stats64.rx.packets;

    beforeAll(() => {
      L = new VtepLab('rte', { ipv6: false, directUnderlay: false });
      const l = L.lab;
      const s = l.host('s', { ipv6: false });
      r1 = l.host('r1', { ipv6: false });
      r2 = l.host('r2', { ipv6: false });
      l.exec(s, 'ip', 'link', 'add', 'br0', 'type', 'bridge');
      l.exec(s, 'ip', 'link', 'set', 'br0', 'up');
      l.link(L.a, 'ua', s, 'sa', '192.0.2.1/28');
      l.link(r1, 'x1', s, 's1', '192.0.2.2/28');
      l.link(r2, 'x2', s, 's2', '192.0.2.3/28');
      for (const p of ['sa', 's1', 's2']) l.exec(s, 'ip', 'link', 'set', p, 'master', 'br0');
      l.link(r1, 'y1', L.b, 'b1', '192.0.2.17/30', '192.0.2.18/30');
      l.link(r2, 'y2', L.b, 'b2', '192.0.2.21/30', '192.0.2.22/30');
      l.exec(L.b, 'ip', 'addr', 'add', '192.0.2.100/32', 'dev', 'lo');
      for (const [r, via] of [[r1, '192.0.2.18'], [r2, '192.0.2.22']] as const) {
        l.exec(r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
        l.exec(r, 'ip', 'route', 'add', '192.0.2.100/32', 'via', via);
      }
      l.exec(L.a, 'ip', 'route', 'add', '192.0.2.100/32', 'via', '192.0.2.2', 'dev', 'ua');
      l.exec(L.b, 'ip', 'route', 'add', '192.0.2.0/28', 'via', '192.0.2.17', 'dev', 'b1');
      // b's VTEP sits on its loopback address, reachable over either link.
      l.exec(L.b, 'ip', 'link', 'add', 'vxlan0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'remote', '192.0.2.1', 'local', '192.0.2.100');
      l.exec(L.b, 'sysctl', '-qw', 'net.ipv6.conf.vxlan0.disable_ipv6=1');
      l.exec(L.b, 'ip', 'addr', 'add', '198.51.100.2/24', 'dev', 'vxlan0');
      l.exec(L.b, 'ip', 'link', 'set', 'vxlan0', 'up');
      l.exec(L.b, 'ethtool', '-K', 'vxlan0', 'tx', 'off'); // as VtepLab: complete inner checksums for our XDP decap
    });
    afterAll(() => L?.destroy());

    it('cold start: the first broadcast reaches a peer behind a router (its next hop is kept resolved)', async () => {
      const d = await L.daemon(L.file('xvtep.json', L.config({ vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.100'] }] })));
      // The gateway, not the off-link peer, is the managed neighbour: the
      // container's first ARP request is flooded to b, and a flooded non-IP
      // frame cannot wait for ARP (bpf_redirect_neigh takes only IP skbs).
      const neigh = JSON.parse(L.lab.exec(L.a, 'ip', '-j', 'neigh', 'show', 'dev', 'ua')) as Array<{ dst: string; managed?: null }>;
      expect('managed' in (neigh.find((n) => n.dst === '192.0.2.2') ?? {}), `${JSON.stringify(neigh)}\n${d.log()}`).toBe(true);
      expect(neigh.find((n) => n.dst === '192.0.2.100')).toBeUndefined();
      expect(L.lab.ping(L.c, '198.51.100.2', 3)).toBe(true);
    });

    it('moves to r2 and back with under a second of outage each way', async () => {
      expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
      // a's route to b and b's route back go through `to`; the router left behind goes down
      const move = async (port: number, scenario: string, to: { ns: string; dev: string; aVia: string; bVia: string; bDev: string }, down: { ns: string; dev: string }) => {
        const before = rx(to.ns, to.dev);
        const [up, back] = await across(L, port, scenario, () => {
          sh('bash', ['-c', `ip -n ${L.a} route replace 192.0.2.100/32 via ${to.aVia} dev ua && ` +
            `ip -n ${L.b} route replace 192.0.2.0/28 via ${to.bVia} dev ${to.bDev} && ip -n ${down.ns} link set ${down.dev} down`]);
        });
        // the stream really went through the new router once the old one was gone
        expect(rx(to.ns, to.dev) - before).toBeGreaterThan(2 * PPS);
        within(up!);
        within(back!);
      };
      await move(5201, 'route r1 -> r2, r1 down', { ns: r2, dev: 'x2', aVia: '192.0.2.3', bVia: '192.0.2.21', bDev: 'b2' }, { ns: r1, dev: 'x1' });
      L.lab.exec(r1, 'ip', 'link', 'set', 'x1', 'up');
      await new Promise((r) => setTimeout(r, 500));
      await move(5211, 'route r2 -> r1, r2 down', { ns: r1, dev: 'x1', aVia: '192.0.2.2', bVia: '192.0.2.17', bDev: 'b1' }, { ns: r2, dev: 'x2' });
    });

    it('a route moved to a router nobody has talked to: the daemon makes it a managed neighbour, so the first flooded ARP gets through', async () => {
      const d = [...L.daemons][0]!;
      let log = '';
      d.stderr!.on('data', (b: Buffer) => (log += b.toString()));
      L.lab.exec(r2, 'ip', 'link', 'set', 'x2', 'up');
      L.lab.exec(L.a, 'ip', 'neigh', 'del', '192.0.2.3', 'dev', 'ua');
      L.lab.exec(L.c, 'ip', 'neigh', 'flush', 'all');
      const t = Date.now();
      sh('bash', ['-c', `ip -n ${L.a} route replace 192.0.2.100/32 via 192.0.2.3 dev ua && ` +
        `ip -n ${L.b} route replace 192.0.2.0/28 via 192.0.2.21 dev b2 && ip -n ${r1} link set x1 down`]);
      const line = 'underlay next hop 192.0.2.3 dev ua (towards 192.0.2.100) is now a managed neighbour';
      await waitFor(() => log.includes(line), 5000, () => `no "${line}":\n${log}`);
      const managedMs = Date.now() - t;
      results.push({ scenario: 'route to an unresolved router, no traffic', direction: 'c->b (encap, a routes)', lost: 0, lostMs: 0, maxGapMs: 0, received: 0, nextHopManagedMs: managedMs });
      recordSummary('underlayChange', { pps: PPS, boundMs: OUTAGE_BOUND_MS, scenarios: results });
      // c has no ARP entry for b: its first frame is a broadcast, flooded to b through r2
      expect(L.lab.ping(L.c, '198.51.100.2', 3)).toBe(true);
      expect(managedMs).toBeLessThan(OUTAGE_BOUND_MS * 3);
    });
  });

  describe("the peer's underlay MAC changes (failover with gratuitous ARP)", () => {
    let L: VtepLab;
    const NEW_MAC = '02:00:00:00:0b:02';
    const neighMac = () =>
      (JSON.parse(L.lab.exec(L.a, 'ip', '-j', 'neigh', 'show', '192.0.2.2', 'dev', 'ua')) as Array<{ lladdr?: string }>)[0]?.lladdr;

    beforeAll(() => {
      L = new VtepLab('nbr', { ipv6: false });
    });
    afterAll(() => L?.destroy());

    it('the updated neighbour is used within a second', async () => {
      await L.daemon(L.file('xvtep.json', L.config()));
      expect(L.lab.ping(L.c, '198.51.100.2', 3)).toBe(true);
      expect(neighMac()).not.toBe(NEW_MAC);
      const [up, down] = await across(L, 5221, 'peer MAC change + gratuitous ARP', () => {
        // arping sends the GARP at once; -c 1 then waits a second for nothing
        sh('bash', ['-c', `ip -n ${L.b} link set ub address ${NEW_MAC} && ip netns exec ${L.b} arping -q -U -c 1 -I ub 192.0.2.2`]);
      });
      expect(neighMac()).toBe(NEW_MAC);
      within(up!);
      within(down!);
    });
  });
});
