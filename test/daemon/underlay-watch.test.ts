// xvtep run and the underlay NIC changing under it (issue 15), each under a
// sequence-numbered stream c -> b across the overlay (500 datagrams/s), the
// loss window counted at the sockets (sent - received) and recorded in the
// reliability summary:
//  - link down and up: nothing to redo; status and metrics say it;
//  - MTU changed: xv_config's MTU (the ICMP too-big threshold) follows within 1 s;
//  - address changed while the file leaves underlay.address empty: the new
//    one is used; with none left, the reload fails with a clear line;
//  - deleted and re-created under its name: XDP and the tcx hook re-attached
//    on the new ifindex, xv_config and xv_uplink follow, learned entries kept;
//  - renamed: treated as gone, status says to what.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Datapath } from '../../src/datapath/index.js';
import { describeKernel } from '../helpers/kernel.js';
import { VtepLab, waitFor } from '../helpers/vtep-lab.js';
import { metricValue } from '../helpers/prom.js';
import { startStream, type Stream } from '../helpers/stream.js';
import { recordSummary } from '../reliability/summary.js';

interface Status {
  underlay: { iface: string; ifindex: number; address: string; mtu: number; link: { state: string; renamedTo: string | null; ifindex: number | null } | null } | null;
  interfaces: Array<{ iface: string; ifindex: number; role: string; hook: string; attached: boolean }>;
  config: { generation: number; reloadFailures: number; lastReload: { ok: boolean; trigger: string; error?: string } | null };
}

const PPS = 500;

describeKernel('the underlay NIC changing under xvtep run', () => {
  let L: VtepLab;
  let log: () => string;
  const port = 20000 + ((process.pid + 7) % 20000);
  const rows: Array<Record<string, unknown>> = [];
  const status = () => L.json<Status>('status');
  const text = () => L.ok('status');
  const scrape = () => L.lab.exec(L.a, 'curl', '-sf', `http://127.0.0.1:${port}/metrics`);
  const settings = () => {
    const dp = Datapath.open(L.pinDir);
    try {
      return { ...dp.settings()!, uplink: dp.uplink ? [...dp.uplink.lookupBatch()].map(([k]) => k) : [] };
    } finally {
      dp.close();
    }
  };
  const ifindex = (ns: string, name: string) => (JSON.parse(L.lab.exec(ns, 'ip', '-j', 'link', 'show', name)) as Array<{ ifindex: number }>)[0]!.ifindex;
  /** b's side of the underlay as VtepLab builds it: ub and the kernel vxlan on it. */
  const rebuildB = (vxlanMac: string) => {
    L.lab.link(L.a, 'ua', L.b, 'ub', '192.0.2.1/24', '192.0.2.2/24');
    if (L.lab.tryExec(L.b, 'ip', 'link', 'show', 'vxlan0').ok) L.lab.exec(L.b, 'ip', 'link', 'del', 'vxlan0');
    // the same MAC: b is the same host, only a's NIC changed (c's ARP entry and a's learned entry stay right)
    L.lab.exec(L.b, 'ip', 'link', 'add', 'vxlan0', 'address', vxlanMac, 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'remote', '192.0.2.1', 'local', '192.0.2.2', 'dev', 'ub');
    L.lab.exec(L.b, 'sysctl', '-qw', 'net.ipv6.conf.vxlan0.disable_ipv6=1');
    L.lab.exec(L.b, 'ip', 'addr', 'add', '198.51.100.2/24', 'dev', 'vxlan0');
    L.lab.exec(L.b, 'ip', 'link', 'set', 'vxlan0', 'up');
    L.lab.exec(L.b, 'ethtool', '-K', 'vxlan0', 'tx', 'off');
  };
  const stream = (p: number) => startStream(L.c, L.b, '198.51.100.2', p, 100_000, PPS, { idleSeconds: 6 });
  const finish = async (scenario: string, s: Stream) => {
    s.stop();
    const r = await s.done;
    // lost: at the sockets, so an outage that never ended counts too; missing: below the last one received
    const row = { scenario, sent: r.sent, received: r.received, lost: r.sent - r.received, missing: r.missing, lostMs: Math.round(((r.sent - r.received) * 1000) / PPS), maxGapMs: Math.round(r.maxGapMs) };
    rows.push(row);
    return row;
  };

  beforeAll(async () => {
    L = new VtepLab('ulw', { ipv6: false });
    // underlay.address left empty: taken from ua
    const cfg = L.config({ metricsPort: port, underlay: { address: undefined } });
    ({ log } = await L.daemon(L.file('xvtep.json', cfg)));
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
  });
  afterAll(() => {
    recordSummary('underlay-watch', rows);
    L?.destroy();
  });

  it('link down and up: status and the metrics say it, one log line per edge, the stream resumes', async () => {
    expect(status().underlay?.link).toMatchObject({ state: 'up' });
    expect(metricValue(scrape(), 'xvtep_underlay_up', 'interface="ua"')).toBe(1);
    const s = await stream(5201);
    await new Promise((r) => setTimeout(r, 500));
    L.lab.exec(L.a, 'ip', 'link', 'set', 'ua', 'down');
    await waitFor(() => status().underlay?.link?.state === 'down', 3000, () => `not down: ${JSON.stringify(status().underlay)}`);
    expect(text()).toMatch(/^underlay: +ua 192\.0\.2\.1 udp 4789 mtu 1500, link DOWN since \S+$/m);
    expect(metricValue(scrape(), 'xvtep_underlay_up', 'interface="ua"')).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    L.lab.exec(L.a, 'ip', 'link', 'set', 'ua', 'up');
    await waitFor(() => status().underlay?.link?.state === 'up', 3000, () => 'not up again');
    await new Promise((r) => setTimeout(r, 1500));
    const row = await finish('link down 0.5 s, up', s);
    await waitFor(() => /underlay ua link up/.test(log()), 3000, () => 'no log line');
    expect(log().match(/underlay ua link down/g)).toHaveLength(1);
    expect(log().match(/underlay ua link up/g)).toHaveLength(1);
    expect(metricValue(scrape(), 'xvtep_underlay_changes_total', 'change="down"')).toBe(1);
    expect(metricValue(scrape(), 'xvtep_underlay_changes_total', 'change="up"')).toBe(1);
    // the outage is the link's, not longer: at most ~2 s of 500/s, and it ended
    expect(row.lost).toBeLessThan(PPS * 2);
    expect(row.lost).toBe(row.missing);
    expect(row.received).toBeGreaterThan(PPS);
  });

  it('MTU changed: the ICMP too-big threshold follows within a second', async () => {
    const t0 = Date.now();
    L.lab.exec(L.a, 'ip', 'link', 'set', 'ua', 'mtu', '1400');
    await waitFor(() => settings().underlayMtu === 1400, 1000, () => `MTU not followed: ${settings().underlayMtu}`);
    rows.push({ scenario: 'MTU 1500 -> 1400', followedMs: Date.now() - t0 });
    await waitFor(() => /underlay ua MTU 1500 -> 1400/.test(log()), 3000, () => 'no log line');
    L.lab.exec(L.a, 'ip', 'link', 'set', 'ua', 'mtu', '1500');
    await waitFor(() => settings().underlayMtu === 1500, 1000, () => 'MTU not followed back');
  });

  it('address changed with underlay.address empty: the new one is used; with none, a clear failed reload', async () => {
    // without promote_secondaries, deleting the primary would take the new (secondary) address with it
    L.lab.exec(L.a, 'sysctl', '-qw', 'net.ipv4.conf.ua.promote_secondaries=1');
    L.lab.exec(L.a, 'ip', 'addr', 'add', '192.0.2.11/24', 'dev', 'ua');
    L.lab.exec(L.a, 'ip', 'addr', 'del', '192.0.2.1/24', 'dev', 'ua');
    await waitFor(() => settings().localAddress === '192.0.2.11', 3000, () => `address not followed: ${settings().localAddress}`);
    const failures = status().config.reloadFailures;
    L.lab.exec(L.a, 'ip', 'addr', 'del', '192.0.2.11/24', 'dev', 'ua');
    await waitFor(() => status().config.reloadFailures > failures, 3000, () => 'no failed reload');
    expect(status().config.lastReload?.error).toMatch(/underlay\.address: interface ua has no global IPv4 address; add one or set underlay\.address/);
    expect(settings().localAddress).toBe('192.0.2.11'); // kept until there is a new one
    L.lab.exec(L.a, 'ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'ua');
    await waitFor(() => settings().localAddress === '192.0.2.1', 3000, () => 'address not back');
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
  });

  it('deleted and re-created under its name: re-attached on the new ifindex, xv_config and xv_uplink follow, learned entries kept', async () => {
    const learnedBefore = L.json<Array<{ mac: string; type: string }>>('fdb', 'show', 'vni', '42').filter((e) => e.type === 'learned');
    expect(learnedBefore.length).toBeGreaterThan(0); // b's vxlan0 MAC, learned from decap
    const old = ifindex(L.a, 'ua');
    const bMac = (JSON.parse(L.lab.exec(L.b, 'ip', '-j', 'link', 'show', 'vxlan0')) as Array<{ address: string }>)[0]!.address;
    const s = await stream(5202);
    await new Promise((r) => setTimeout(r, 500));
    L.lab.exec(L.a, 'ip', 'link', 'del', 'ua'); // takes ub and b's vxlan0 with it
    await waitFor(() => status().underlay?.link?.state === 'gone', 3000, () => 'not gone');
    expect(text()).toMatch(/GONE since \S+: no VXLAN traffic until an interface of the configured name is back/);
    const t0 = Date.now();
    rebuildB(bMac);
    const now = ifindex(L.a, 'ua');
    expect(now).not.toBe(old);
    await waitFor(() => {
      const st = status();
      return st.underlay?.link?.state === 'up' && st.interfaces.some((i) => i.role === 'underlay' && i.hook === 'xdp' && i.attached && i.ifindex === now);
    }, 5000, () => `not re-attached: ${JSON.stringify(status().interfaces)}`);
    const reattachMs = Date.now() - t0;
    const st = settings();
    expect(st.underlayIfindex).toBe(now);
    expect(st.uplink).toEqual([now]);
    expect(status().interfaces.filter((i) => i.role === 'underlay').every((i) => i.attached && i.ifindex === now)).toBe(true);
    const learnedAfter = L.json<Array<{ mac: string; type: string }>>('fdb', 'show', 'vni', '42').filter((e) => e.type === 'learned').map((e) => e.mac);
    for (const e of learnedBefore) expect(learnedAfter).toContain(e.mac);
    await new Promise((r) => setTimeout(r, 2000));
    const row = await finish('underlay deleted and re-created (b rebuilt)', s);
    rows[rows.length - 1] = { ...row, reattachMs };
    await waitFor(() => log().includes(`underlay ua is back as ifindex ${now}: re-attaching`), 3000, () => 'no log line');
    expect(log()).toMatch(new RegExp(`underlay ua is gone \\(ifindex ${old}\\)`));
    expect(log()).toMatch(new RegExp(`underlay ua is back as ifindex ${now}: re-attaching`));
    expect(row.received).toBeGreaterThan(PPS);
    // the outage ended: everything lost is below the last datagram received (nothing lost at the end)
    expect(row.lost).toBe(row.missing);
    // after the re-attach the stream flows again end to end
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
  });

  it('renamed: treated as gone with a clear status line; renamed back, it serves again', async () => {
    const idx = ifindex(L.a, 'ua');
    L.lab.exec(L.a, 'ip', 'link', 'set', 'ua', 'name', 'ua-old');
    await waitFor(() => status().underlay?.link?.state === 'renamed', 3000, () => `not renamed: ${JSON.stringify(status().underlay)}`);
    expect(text()).toMatch(/RENAMED to ua-old at \S+: treated as gone until an interface of the configured name is back/);
    await waitFor(() => log().includes(`underlay ua (ifindex ${idx}) was renamed to ua-old: treated as gone`), 3000, () => 'no log line');
    expect(metricValue(scrape(), 'xvtep_underlay_changes_total', 'change="renamed"')).toBe(1);
    L.lab.exec(L.a, 'ip', 'link', 'set', 'ua-old', 'name', 'ua');
    await waitFor(() => status().underlay?.link?.state === 'up', 3000, () => 'not back');
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
  });
});
