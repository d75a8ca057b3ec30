// Three hosts whose files name no peer, no FDB entry and no neighbour find
// each other through a real etcd: each one's maps get the others as peers
// per VNI, containers ping across within a VNI, nothing crosses VNIs.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { ClusterLab, type HostSpec } from '../helpers/cluster-lab.js';
import { neighbourMac } from '../helpers/labtools.js';
import { waitFor } from '../helpers/vtep-lab.js';

const mac = (h: number, v: number) => `02:00:00:${v.toString(16).padStart(2, '0')}:00:${h.toString(16).padStart(2, '0')}`;
const SPECS: HostSpec[] = [1, 2, 3].map((i) => ({
  name: `h${i}`, addr: `192.0.2.${i}`, metricsPort: i === 1 ? 9469 : undefined,
  // The same overlay address in both VNIs: only the VNI tells them apart.
  vnis: [100, 200].map((vni) => ({ vni, cts: [{ name: `c${vni / 100}${i}`, ip: `198.51.100.${i}`, mac: mac(i, vni / 100) }] })),
}));

const rxPackets = (L: ClusterLab, ct: string) =>
  Number((JSON.parse(L.lab.exec(L.ct(ct), 'ip', '-s', '-j', 'link', 'show', 'eth0')) as Array<{ stats64: { rx: { packets: number } } }>)[0]!.stats64.rx.packets);

describeKernel('cluster: hosts join through etcd', () => {
  const L = new ClusterLab('cj', 3);
  beforeAll(async () => {
    await L.start(SPECS);
    await Promise.all(SPECS.map((s) => L.run(s.name)));
  }, 90_000);
  afterAll(async () => {
    await L.destroy();
  });

  it('every host gets the others as peers in both VNIs, with no peer in any file', async () => {
    const want = (self: string) => SPECS.filter((s) => s.name !== self).flatMap((s) => [`100|${s.addr}`, `200|${s.addr}`]).sort();
    await waitFor(() => SPECS.every((s) => JSON.stringify(L.maps(s.name).peers) === JSON.stringify(want(s.name))), 15_000,
      () => `peers: ${SPECS.map((s) => `${s.name}=${L.maps(s.name).peers.join(',')}`).join(' ')}\n${L.host('h1').out}`);
    for (const s of SPECS) expect((L.host(s.name).cfg.vnis as Array<Record<string, unknown>>).every((v) => v.peers === undefined)).toBe(true);
    const st = L.status('h1');
    expect(st.etcdUp).toBe(true);
    expect(st.lease?.ttlSeconds).toBe(3);
    expect(st.members.map((m) => m.name)).toEqual(['h1', 'h2', 'h3']);
    expect(st.members.find((m) => m.name === 'h2')).toMatchObject({ address: '192.0.2.2', vnis: [100, 200] });
    const text = L.cli('h1', 'cluster', 'status').stdout;
    expect(text).toMatch(/^etcd http:\/\/192\.0\.2\.254:2379: up/m);
    expect(text).toMatch(/^h2\s+192\.0\.2\.2\s+100,200\s+\d+\s+\d+s$/m);
    const metrics = L.lab.exec(L.host('h1').ns, 'curl', '-sf', 'http://127.0.0.1:9469/metrics');
    expect(metrics).toMatch(/^xvtep_cluster_members 3$/m);
    expect(metrics).toMatch(/^xvtep_cluster_etcd_up 1$/m);
    expect(metrics).toMatch(/^xvtep_cluster_records_refused_total 0$/m);
    expect(Number(/^xvtep_cluster_last_sync_timestamp_seconds (\S+)$/m.exec(metrics)![1])).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(metrics).toMatch(/^xvtep_cluster_resyncs_total 1$/m);
  });

  it('containers ping across within a VNI and no frame reaches the other VNI', async () => {
    // A freshly started lab takes a moment before the first frames cross
    // (seen as frames sent by one host and never counted by the other's XDP,
    // also with peers in place); bounded wait for the first answer.
    await waitFor(() => L.lab.ping(L.ct('c11'), '198.51.100.2', 1), 10_000, () => 'c11 never reached 198.51.100.2');
    const before = [1, 2, 3].map((i) => rxPackets(L, `c2${i}`));
    for (const [from, to] of [[1, 2], [2, 3], [3, 1]] as const) {
      // the same warm-up holds per pair of hosts (seen in CI for h2 -> h3)
      await waitFor(() => L.lab.ping(L.ct(`c1${from}`), `198.51.100.${to}`, 1), 10_000, () => `c1${from} never reached 198.51.100.${to}`);
      expect(L.lab.ping(L.ct(`c1${from}`), `198.51.100.${to}`, 3), `c1${from} -> 198.51.100.${to}`).toBe(true);
      // the answer came from VNI 100's container, not from its twin in VNI 200
      expect(neighbourMac(L.lab, L.ct(`c1${from}`), 'eth0', `198.51.100.${to}`)).toBe(mac(to, 1));
    }
    expect([1, 2, 3].map((i) => rxPackets(L, `c2${i}`))).toEqual(before);
    expect(L.lab.ping(L.ct('c21'), '198.51.100.3', 2)).toBe(true);
    expect(neighbourMac(L.lab, L.ct('c21'), 'eth0', '198.51.100.3')).toBe(mac(3, 2));
  });

  it('learned container MACs reach etcd and become static FDB entries toward their VTEP on the others', async () => {
    // c11 talked above: h1 learned it locally, published it; h2 and h3 have it pointing to 192.0.2.1
    await waitFor(() => ['h2', 'h3'].every((h) => L.maps(h).fdb.some((e) => e.vni === 100 && e.mac === mac(1, 1) && e.remote === '192.0.2.1' && e.static)), 15_000,
      () => `h2 fdb: ${JSON.stringify(L.maps('h2').fdb)}`);
    const st = L.status('h3');
    expect(st.members.find((m) => m.name === 'h1')!.macs).toBeGreaterThanOrEqual(2);
  });
});
