// The kernel's vxlan on a host outside the cluster still interoperates
// through the file's static peers: h1's file names it, the cluster adds
// h2; both reach h1's container, and the file's peer survives every
// cluster apply (the merge is a union, the file wins).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { ClusterLab, type HostSpec } from '../helpers/cluster-lab.js';
import { waitFor } from '../helpers/vtep-lab.js';

const SPECS: HostSpec[] = [1, 2].map((i) => ({
  name: `h${i}`, addr: `192.0.2.${i}`, vnis: [{ vni: 100, cts: [{ name: `c${i}`, ip: `198.51.100.${i}`, mac: `02:00:00:01:00:0${i}` }] }],
}));

describeKernel('cluster: a kernel vxlan host outside the cluster', () => {
  const L = new ClusterLab('ck', 3);
  let k: string;
  beforeAll(async () => {
    await L.start(SPECS);
    k = L.lab.host('k', { ipv6: false });
    L.etcd.attach(k, 'ul0', '192.0.2.9/24');
    L.lab.exec(k, 'ethtool', '-K', 'ul0', 'tx', 'off');
    L.lab.exec(k, 'ip', 'link', 'add', 'vxlan0', 'type', 'vxlan', 'id', '100', 'dstport', '4789', 'local', '192.0.2.9', 'dev', 'ul0');
    L.lab.exec(k, 'bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vxlan0', 'dst', '192.0.2.1');
    L.lab.exec(k, 'ip', 'addr', 'add', '198.51.100.9/24', 'dev', 'vxlan0');
    L.lab.exec(k, 'ip', 'link', 'set', 'vxlan0', 'up');
    L.lab.exec(k, 'ethtool', '-K', 'vxlan0', 'tx', 'off'); // complete inner checksums, as a NIC puts on the wire
    const cfg = L.host('h1').cfg as { vnis: Array<Record<string, unknown>> };
    cfg.vnis[0]!.peers = ['192.0.2.9'];
    L.writeConfig('h1', cfg);
    await Promise.all(SPECS.map((s) => L.run(s.name)));
  }, 90_000);
  afterAll(async () => {
    await L.destroy();
  });

  it('h1 has the file\'s kernel peer and the cluster\'s h2, and reaches both', async () => {
    await waitFor(() => L.maps('h1').peers.join(',') === '100|192.0.2.2,100|192.0.2.9', 15_000, () => `${L.maps('h1').peers}: ${L.host('h1').out}`);
    // h2 learns nothing of k: k is not a member
    // (h2 applies h1's record on its own clock: wait for it, then it must be exactly h1)
    await waitFor(() => L.maps('h2').peers.length > 0, 15_000, () => `h2 has no peer: ${L.host('h2').out}`);
    expect(L.maps('h2').peers).toEqual(['100|192.0.2.1']);
    await waitFor(() => L.lab.ping(L.ct('c1'), '198.51.100.9', 1), 10_000, () => 'c1 never reached the kernel vxlan host');
    expect(L.lab.ping(k, '198.51.100.1', 3)).toBe(true);
    await waitFor(() => L.lab.ping(L.ct('c1'), '198.51.100.2', 1), 10_000, () => 'c1 never reached c2');
    // the static peer is not published as a member: the others' member lists are the cluster's
    expect(L.status('h2').members.map((m) => m.name)).toEqual(['h1', 'h2']);
  });
});
