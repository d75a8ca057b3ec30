// A 3-member etcd cluster: the daemons name all three endpoints; one member
// killed has no effect (maps unchanged, a new host still joins everyone), and
// a compaction of the store while the agents watch changes nothing either.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { ClusterLab, type HostSpec } from '../helpers/cluster-lab.js';
import { waitFor } from '../helpers/vtep-lab.js';

const SPECS: HostSpec[] = [1, 2, 3].map((i) => ({
  name: `h${i}`, addr: `192.0.2.${i}`, vnis: [{ vni: 100, cts: [{ name: `c${i}`, ip: `198.51.100.${i}`, mac: `02:00:00:01:00:0${i}` }] }],
}));
const peersOf = (L: ClusterLab, h: string) => L.maps(h).peers.join(',');

describeKernel('cluster: a 3-member etcd', () => {
  // TTL 6, not 3: losing etcd's leader takes an election (2 s here) before
  // any keepalive is answered, and a lease must outlive that, as with a real
  // etcd (1 s election, 10 s default TTL)
  const L = new ClusterLab('ce', 6);
  beforeAll(async () => {
    await L.start(SPECS, { members: 3 });
    await Promise.all(['h1', 'h2'].map((h) => L.run(h)));
    await waitFor(() => peersOf(L, 'h1') === '100|192.0.2.2' && peersOf(L, 'h2') === '100|192.0.2.1', 20_000, () => `${peersOf(L, 'h1')}: ${L.host('h1').out}`);
  }, 120_000);
  afterAll(async () => {
    await L.destroy();
  });

  it('one member killed: no effect on the maps, and a new host still joins everyone', async () => {
    expect(L.etcd.endpoints).toHaveLength(3);
    const before = ['h1', 'h2'].map((h) => peersOf(L, h));
    await L.etcd.members[0]!.kill();
    await new Promise((r) => setTimeout(r, 3000));
    // seen once in CI (h2 lost h1 for a moment): the daemons' logs say why if it comes back
    expect(['h1', 'h2'].map((h) => peersOf(L, h)), `h1:\n${L.host('h1').out}\nh2:\n${L.host('h2').out}`).toEqual(before);
    await L.run('h3');
    await waitFor(() => peersOf(L, 'h1') === '100|192.0.2.2,100|192.0.2.3' && peersOf(L, 'h2') === '100|192.0.2.1,100|192.0.2.3' && peersOf(L, 'h3') === '100|192.0.2.1,100|192.0.2.2',
      20_000, () => `h1 ${peersOf(L, 'h1')} h2 ${peersOf(L, 'h2')} h3 ${peersOf(L, 'h3')}: ${L.host('h3').out}`);
    expect(L.status('h1').etcdUp).toBe(true);
  });

  it('a compaction while the agents watch loses no later event', async () => {
    const rev = await L.etcd.compact();
    expect(rev).toBeGreaterThan(0);
    await L.stop('h3', 'SIGKILL');
    // h3's records expire after the compaction: the watchers must still see it
    await waitFor(() => peersOf(L, 'h1') === '100|192.0.2.2' && peersOf(L, 'h2') === '100|192.0.2.1', 10_000, () => `h1 ${peersOf(L, 'h1')} h2 ${peersOf(L, 'h2')}`);
    expect(L.status('h1').revision).toBeGreaterThan(rev);
  });
});
