// The cluster: section: defaults, and one line with the path for each bad key.
import { hostname } from 'node:os';
import { expect, it } from 'vitest';
import { validateConfig } from '../../src/config/parser.js';

const base = { underlay: { interface: 'eth0', address: '192.0.2.1' }, vnis: [{ vni: 42, endpoints: ['veth0'] }] };

it('is null when absent and filled with defaults when present', () => {
  const none = validateConfig(base);
  expect(none.ok && none.config.cluster).toBe(null);
  const r = validateConfig({ ...base, cluster: { etcd: { endpoints: ['http://192.0.2.254:2379'] } } });
  expect(r.ok).toBe(true);
  if (!r.ok) return;
  expect(r.config.cluster).toEqual({
    etcd: { endpoints: ['http://192.0.2.254:2379'], caFile: null, certFile: null, keyFile: null },
    prefix: '/xvtep/v1/', nodeName: hostname(), leaseTtlSeconds: 10,
  });
  // peers, fdb and neighbors may be left out: the cluster fills them
  expect(r.config.vnis[0]).toMatchObject({ peers: [], fdb: [], neighbors: [] });
});

it.each([
  [{ etcd: { endpoints: [] } }, 'cluster.etcd.endpoints', 'at least one etcd endpoint'],
  [{ etcd: { endpoints: ['192.0.2.254:2379'] } }, 'cluster.etcd.endpoints[0]', 'is not a URL'],
  [{ etcd: { endpoints: ['ftp://192.0.2.254:2379'] } }, 'cluster.etcd.endpoints[0]', 'scheme must be http or https'],
  [{ etcd: { endpoints: ['https://192.0.2.254:2379/v3'] } }, 'cluster.etcd.endpoints[0]', 'no path'],
  [{ etcd: { endpoints: ['http://a:1', 'https://b:1'] } }, 'cluster.etcd.endpoints', 'same scheme'],
  [{ etcd: { endpoints: ['https://a:1'], certFile: '/c.pem' } }, 'cluster.etcd.keyFile', 'go together'],
  [{ etcd: { endpoints: ['http://a:1'], caFile: '/ca.pem' } }, 'cluster.etcd.endpoints', 'use https://'],
  [{ etcd: { endpoints: ['https://a:1'], caFile: 'ca.pem' } }, 'cluster.etcd.caFile', 'not an absolute path'],
  [{ etcd: { endpoints: ['http://a:1'] }, prefix: 'xvtep' }, 'cluster.prefix', 'start and end with /'],
  [{ etcd: { endpoints: ['http://a:1'] }, nodeName: 'a b' }, 'cluster.nodeName', 'not a node name'],
  [{ etcd: { endpoints: ['http://a:1'] }, leaseTtlSeconds: 1 }, 'cluster.leaseTtlSeconds', 'out of range 2..3600'],
  [{ etcd: { endpoints: ['http://a:1'] }, ttl: 3 }, 'cluster.ttl', 'unknown key'],
  [{}, 'cluster.etcd', 'required'],
])('refuses %j at its path', (cluster, path, message) => {
  const r = validateConfig({ ...base, cluster });
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.errors.some((e) => e.path === path && e.message.includes(message)), JSON.stringify(r.errors)).toBe(true);
});
