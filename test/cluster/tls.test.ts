// etcd with TLS and client-certificate auth: members with the client
// certificate join; one without it is refused by etcd, and xvtep says so
// (status and metrics) while its maps stay as they are.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { ClusterLab, type HostSpec } from '../helpers/cluster-lab.js';
import { waitFor } from '../helpers/vtep-lab.js';

const SPECS: HostSpec[] = [1, 2, 3].map((i) => ({
  name: `h${i}`, addr: `192.0.2.${i}`, vnis: [{ vni: 100, cts: [{ name: `c${i}`, ip: `198.51.100.${i}`, mac: `02:00:00:01:00:0${i}` }] }],
}));

describeKernel('cluster: etcd over TLS with client certificates', () => {
  const L = new ClusterLab('ct', 3);
  beforeAll(async () => {
    await L.start(SPECS, { tls: true });
    const tls = L.etcd.tls!;
    for (const s of SPECS) {
      const cfg = L.host(s.name).cfg as { cluster: { etcd: Record<string, unknown> } };
      cfg.cluster.etcd = {
        endpoints: L.etcd.endpoints, caFile: tls.caFile,
        // h3 has the CA but no client certificate
        ...(s.name === 'h3' ? {} : { certFile: tls.clientCertFile, keyFile: tls.clientKeyFile }),
      };
      L.writeConfig(s.name, cfg);
    }
    await Promise.all(SPECS.map((s) => L.run(s.name)));
  }, 90_000);
  afterAll(async () => {
    await L.destroy();
  });

  it('members with the client certificate join each other and pass traffic', async () => {
    expect(L.etcd.endpoints[0]).toMatch(/^https:/);
    await waitFor(() => JSON.stringify(L.maps('h1').peers) === '["100|192.0.2.2"]' && JSON.stringify(L.maps('h2').peers) === '["100|192.0.2.1"]', 15_000,
      () => `h1 ${L.maps('h1').peers} h2 ${L.maps('h2').peers}: ${L.host('h1').out}`);
    await waitFor(() => L.lab.ping(L.ct('c1'), '198.51.100.2', 1), 10_000, () => 'c1 never reached c2');
    expect(L.status('h1')).toMatchObject({ etcdUp: true, members: [{ name: 'h1' }, { name: 'h2' }] });
  });

  it('a member without a client certificate is refused by etcd and says so; nothing is applied', async () => {
    await waitFor(() => /cluster: etcd unavailable: /.test(L.host('h3').out), 10_000, () => L.host('h3').out);
    const st = L.status('h3');
    expect(st.etcdUp).toBe(false);
    expect(st.etcdError).toBeTruthy();
    console.log(`h3 without a client certificate: ${st.etcdError}`);
    expect(st.lease).toBe(null);
    expect(L.cli('h3', 'cluster', 'status').stdout).toMatch(/: DOWN \(/);
    expect(L.maps('h3').peers).toEqual([]);
    // and the others never saw it
    expect(L.status('h1').members.map((m) => m.name)).toEqual(['h1', 'h2']);
  });
});
