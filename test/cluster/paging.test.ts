// A list larger than one gRPC message: grpc-js refuses a message over
// 4 MiB, so the agent reads the prefix in pages (continuing after the last
// key, all at the first page's revision). Records totalling ~5.6 MB are
// written straight into a real etcd; the member whose records sort last
// (behind every large one) must still reach the daemon's maps.
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { ClusterLab, type HostSpec } from '../helpers/cluster-lab.js';
import { waitFor } from '../helpers/vtep-lab.js';

const BULK = 70; // members, each with one VNI record of 4,000 MACs (~80 KB), in VNIs this host does not take
const BULK_MACS = 4000;
// Above every bulk VNI (5000..5069), so its record sorts last under the prefix.
const VNI = 9000;
const hex = (n: number) => n.toString(16).padStart(2, '0');
const SPEC: HostSpec = { name: 'pg', addr: '192.0.2.1', vnis: [{ vni: VNI, cts: [{ name: 'p1', ip: '198.51.100.1', mac: '02:00:00:03:00:01' }] }] };
const LAST_MACS = ['02:00:00:03:00:0a', '02:00:00:03:00:0b', '02:00:00:03:00:0c'];

describeKernel('cluster: a list over grpc-js\'s 4 MiB message limit', () => {
  const L = new ClusterLab('cp', 10);
  let client: Etcd3;

  beforeAll(async () => {
    await L.start([SPEC]);
    client = new Etcd3({ hosts: L.etcd.rootEndpoints });
    const member = (name: string, address: string, vni: number) =>
      ({ request_put: { key: Buffer.from(`/xvtep/v1/members/${name}`), value: Buffer.from(JSON.stringify({ v: 1, name, address, family: 4, port: 4789, vnis: [vni], software: 'test', layout: 1 })) } });
    const vniRec = (name: string, vni: number, macs: string[]) =>
      ({ request_put: { key: Buffer.from(`/xvtep/v1/vnis/${vni}/${name}`), value: Buffer.from(JSON.stringify({ v: 1, macs, neighbors: [] })) } });
    for (let m = 0; m < BULK; m += 10) {
      const ops = [];
      for (let k = m; k < m + 10; k++) {
        ops.push(member(`bulk${k}`, `10.1.${k}.1`, 5000 + k));
        ops.push(vniRec(`bulk${k}`, 5000 + k, Array.from({ length: BULK_MACS }, (_, j) => `02:5f:00:${hex(k)}:${hex(j >> 8)}:${hex(j & 255)}`)));
      }
      await client.kv.txn({ compare: [], success: ops, failure: [] });
    }
    await client.kv.txn({ compare: [], success: [member('zz', '192.0.2.99', VNI), vniRec('zz', VNI, LAST_MACS)], failure: [] });
  }, 120_000);
  afterAll(async () => {
    client?.close();
    await L.destroy();
  });

  it('the premise: one range over the whole prefix is refused by the client (> 4 MiB)', async () => {
    const err = await client.getAll().prefix('/xvtep/v1/').strings().then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/larger than max/);
  });

  it('the daemon lists it in pages and applies the record that sorts last', async () => {
    await L.run('pg');
    const want = LAST_MACS.map((mac) => ({ vni: VNI, mac, remote: '192.0.2.99', static: true }));
    await waitFor(() => {
      const m = L.maps('pg');
      return m.peers.includes(`${VNI}|192.0.2.99`) && want.every((w) => m.fdb.some((f) => f.mac === w.mac && f.remote === w.remote));
    }, 30_000, () => `zz's entries never applied: ${L.host('pg').out.slice(-2000)}`);
    const s = L.status('pg');
    expect(s.members.length).toBe(BULK + 2); // the bulk members, zz and pg itself
    expect(s.members.find((m) => m.name === 'bulk69')?.macs).toBe(BULK_MACS);
    expect(s.counters.refused).toBe(0);
    expect(s.counters.listPages).toBeGreaterThan(1);
    // nothing from VNIs the file does not take
    expect(L.maps('pg').fdb.filter((f) => f.static).map((f) => f.mac).sort()).toEqual(LAST_MACS);
  });
});
