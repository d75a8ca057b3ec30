// The pure parts of the cluster: record validation (what is refused and
// why), the view computed from everyone's records, and the merge rule.
import { expect, it } from 'vitest';
import { mergeCluster, parseKey, parseMember, parseVniRecord, viewOf } from '../../src/cluster/index.js';
import { validateConfig } from '../../src/config/parser.js';

const P = '/xvtep/v1/';
const member = (name: string, address: string, vnis: number[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ v: 1, name, address, family: address.includes(':') ? 6 : 4, port: 4789, vnis, software: '0.1.0', layout: 1, ...extra });

it('parses keys under the prefix and refuses the others', () => {
  expect(parseKey(P, '/xvtep/v1/members/h1')).toEqual({ kind: 'member', node: 'h1' });
  expect(parseKey(P, '/xvtep/v1/vnis/42/h1')).toEqual({ kind: 'vni', vni: 42, node: 'h1' });
  expect(parseKey(P, '/xvtep/v1/vnis/16777216/h1')).toMatch(/out of range/);
  expect(parseKey(P, '/xvtep/v1/vnis/0/h1')).toMatch(/out of range/);
  expect(parseKey(P, '/xvtep/v1/vnis/042/h1')).toMatch(/out of range/);
  expect(parseKey(P, '/xvtep/v1/other/h1')).toMatch(/not a members/);
  expect(parseKey(P, '/xvtep/v1/members/a b')).toMatch(/not a members/);
});

it.each([
  ['not json', /not JSON/],
  ['[1]', /not a JSON object/],
  [member('h1', '239.1.1.1', [1]), /multicast/],
  [member('h1', '127.0.0.1', [1]), /loopback/],
  [member('h1', '0.0.0.0', [1]), /a VTEP address must be routable unicast/],
  [member('h2', '192.0.2.1', [1]), /does not match its key/],
  [member('h1', '192.0.2.1', [0]), /vnis/],
  [member('h1', '192.0.2.1', [1], { port: 0 }), /port/],
  [member('h1', '192.0.2.1', [1], { family: 6 }), /family/],
  [member('h1', '192.0.2.1', [1], { v: 2 }), /record version/],
])('refuses the member record %s', (text, why) => {
  expect(parseMember('h1', text)).toMatch(why);
});

it('normalizes a valid member record', () => {
  expect(parseMember('h1', member('h1', '2001:DB8::1', [7, 3, 7]))).toMatchObject({ address: '2001:db8::1', family: 6, vnis: [3, 7] });
});

it.each([
  [JSON.stringify({ v: 1, macs: ['01:00:5e:00:00:01'], neighbors: [] }), /multicast/],
  [JSON.stringify({ v: 1, macs: ['zz'], neighbors: [] }), /macs\[0\]/],
  [JSON.stringify({ v: 1, macs: [], neighbors: [{ ip: '224.0.0.1', mac: '02:00:00:00:00:01' }] }), /neighbors\[0\]/],
  [JSON.stringify({ v: 1, macs: Array(11).fill('02:00:00:00:00:01'), neighbors: [] }), /11 entries, more than the 10/],
  [JSON.stringify({ v: 1, macs: 'x', neighbors: [] }), /not a list/],
])('refuses the VNI record %s', (text, why) => {
  expect(parseVniRecord(text, 10)).toMatch(why);
});

it('builds the view: others are peers, their MACs point at them, the newest claim of a MAC wins', () => {
  const m = {
    members: new Map([
      ['a', { rec: parseMember('a', member('a', '192.0.2.1', [1, 2])) as never, rev: 1 }],
      ['b', { rec: parseMember('b', member('b', '192.0.2.2', [1])) as never, rev: 2 }],
      ['c', { rec: parseMember('c', member('c', '192.0.2.3', [2])) as never, rev: 3 }],
    ]),
    vnis: new Map([
      ['1/a', { rec: { v: 1, macs: ['02:00:00:00:00:0a', '02:00:00:00:00:99'], neighbors: [] }, rev: 4, vni: 1, node: 'a' }],
      ['1/b', { rec: { v: 1, macs: ['02:00:00:00:00:0b', '02:00:00:00:00:99'], neighbors: [{ ip: '198.51.100.2', mac: '02:00:00:00:00:0b' }] }, rev: 9, vni: 1, node: 'b' }],
      ['2/c', { rec: { v: 1, macs: ['02:00:00:00:00:0c'], neighbors: [] }, rev: 5, vni: 2, node: 'c' }],
      ['1/ghost', { rec: { v: 1, macs: ['02:00:00:00:00:66'], neighbors: [] }, rev: 6, vni: 1, node: 'ghost' }],
    ]),
  };
  expect(viewOf(m, { name: 'a', address: '192.0.2.1', vnis: [1, 2] })).toEqual({
    vnis: {
      // b's record is newer than a's: the MAC both claim moved to b
      1: { peers: ['192.0.2.2'], fdb: [{ mac: '02:00:00:00:00:0b', remote: '192.0.2.2' }, { mac: '02:00:00:00:00:99', remote: '192.0.2.2' }], neighbors: [{ ip: '198.51.100.2', mac: '02:00:00:00:00:0b' }] },
      2: { peers: ['192.0.2.3'], fdb: [{ mac: '02:00:00:00:00:0c', remote: '192.0.2.3' }], neighbors: [] },
    },
  });
  // seen from b, its own claim is the newest: no entry toward a for it
  expect(viewOf(m, { name: 'b', address: '192.0.2.2', vnis: [1] }).vnis[1]!.fdb).toEqual([{ mac: '02:00:00:00:00:0a', remote: '192.0.2.1' }]);
});

it('merges with the file winning conflicts, each one reported', () => {
  const r = validateConfig({
    underlay: { interface: 'eth0', address: '192.0.2.1' },
    vnis: [{ vni: 1, endpoints: ['e0'], peers: ['192.0.2.9'], fdb: [{ mac: '02:00:00:00:00:0b', remote: '192.0.2.9' }], neighbors: [{ ip: '198.51.100.2', mac: '02:00:00:00:00:01' }] }, { vni: 3, endpoints: ['e1'] }],
    cluster: { etcd: { endpoints: ['http://192.0.2.254:2379'] } },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const { config, conflicts } = mergeCluster(r.config, { vnis: {
    1: { peers: ['192.0.2.2'], fdb: [{ mac: '02:00:00:00:00:0b', remote: '192.0.2.2' }, { mac: '02:00:00:00:00:0c', remote: '192.0.2.2' }], neighbors: [{ ip: '198.51.100.2', mac: '02:00:00:00:00:0b' }, { ip: '198.51.100.3', mac: '02:00:00:00:00:0c' }] },
    2: { peers: ['192.0.2.5'], fdb: [], neighbors: [] },
  } });
  expect(config.vnis[0]!.peers).toEqual(['192.0.2.9', '192.0.2.2']);
  expect(config.vnis[0]!.fdb).toEqual([
    { kind: 'remote', mac: '02:00:00:00:00:0b', remote: '192.0.2.9' },
    { kind: 'remote', mac: '02:00:00:00:00:0c', remote: '192.0.2.2' },
  ]);
  expect(config.vnis[0]!.neighbors.map((n) => `${n.ip}=${n.mac}`)).toEqual(['198.51.100.2=02:00:00:00:00:01', '198.51.100.3=02:00:00:00:00:0c']);
  expect(conflicts).toHaveLength(2);
  expect(conflicts[0]).toMatch(/VNI 1 MAC 02:00:00:00:00:0b: the cluster says 192.0.2.2, the file 192.0.2.9; the file wins/);
  // VNI 2 is not in the file: nothing from it; VNI 3 got nothing
  expect(config.vnis.map((v) => v.vni)).toEqual([1, 3]);
  expect(config.vnis[1]).toBe(r.config.vnis[1]);
});
