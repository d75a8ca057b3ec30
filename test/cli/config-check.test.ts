// 30+ broken config files: `config check`, `config diff` and `attach -c`
// each exit 1 with a line naming the path in the file, and the live maps
// stay byte-for-byte what they were.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { VtepLab } from '../helpers/vtep-lab.js';
import { snapshotMaps } from '../helpers/snapshot.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describeKernel('broken config files change nothing', () => {
  let L: VtepLab;
  let base: () => Doc;
  beforeAll(() => {
    L = new VtepLab('chk', { ipv6: false });
    L.endpoint('epa2', 'ca2');
    base = () => L.config({
      vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'], fdb: [{ mac: '02:00:00:00:00:02', remote: '192.0.2.2' }], neighbors: [{ ip: '198.51.100.2', mac: '02:00:00:00:00:02' }] }],
    }) as Doc;
    L.ok('attach', '-c', L.file('base.json', base()));
    L.ok('vni', 'add', '43', 'endpoint', 'epa2');
    L.ok('fdb', 'add', '02:00:00:00:00:09', 'vni', '43', 'dev', 'epa2');
  });
  afterAll(() => L?.destroy());

  const cases: Array<[string, (d: Doc) => Doc | string, RegExp]> = [
    ['no underlay interface', (d) => (delete d.underlay.interface, d), /underlay\.interface/],
    ['port 0', (d) => ((d.underlay.port = 0), d), /underlay\.port/],
    ['port 70000', (d) => ((d.underlay.port = 70000), d), /underlay\.port/],
    ['xdpMode hw', (d) => ((d.underlay.xdpMode = 'hw'), d), /underlay\.xdpMode/],
    ['ttl 0', (d) => ((d.underlay.ttl = 0), d), /underlay\.ttl/],
    ['tos 300', (d) => ((d.underlay.tos = 300), d), /underlay\.tos/],
    ['df maybe', (d) => ((d.underlay.df = 'maybe'), d), /underlay\.df/],
    ['address 999.1.1.1', (d) => ((d.underlay.address = '999.1.1.1'), d), /underlay\.address/],
    ['loopback address', (d) => ((d.underlay.address = '127.0.0.1'), d), /underlay\.address/],
    ['srcPortMin > srcPortMax', (d) => ((d.underlay.srcPortMin = 50000), (d.underlay.srcPortMax = 40000), d), /underlay\.srcPort(Min|Max)/],
    ['mtu 50', (d) => ((d.underlay.mtu = 50), d), /underlay\.mtu/],
    ['no VNIs', (d) => ((d.vnis = []), d), /vnis/],
    ['vni 0', (d) => ((d.vnis[0].vni = 0), d), /vnis\[0\]\.vni/],
    ['vni 2^24', (d) => ((d.vnis[0].vni = 16777216), d), /vnis\[0\]\.vni/],
    ['vni as string', (d) => ((d.vnis[0].vni = '42'), d), /vnis\[0\]\.vni/],
    ['duplicate VNI', (d) => (d.vnis.push({ vni: 42, endpoints: ['epa2'] }), d), /vnis\[1\]\.vni/],
    ['no endpoints', (d) => ((d.vnis[0].endpoints = []), d), /vnis\[0\]\.endpoints/],
    ['endpoint name too long', (d) => ((d.vnis[0].endpoints = ['a-very-long-interface-name']), d), /vnis\[0\]\.endpoints\[0\]/],
    ['endpoint is the underlay', (d) => ((d.vnis[0].endpoints = ['ua']), d), /vnis\[0\]\.endpoints\[0\]/],
    ['endpoint in two VNIs', (d) => (d.vnis.push({ vni: 43, endpoints: ['epa'] }), d), /vnis\[1\]\.endpoints\[0\]/],
    ['peer not an address', (d) => ((d.vnis[0].peers = ['abc']), d), /vnis\[0\]\.peers\[0\]/],
    ['multicast peer', (d) => ((d.vnis[0].peers = ['224.0.0.1']), d), /vnis\[0\]\.peers\[0\]/],
    ['peer of the other family', (d) => ((d.vnis[0].peers = ['2001:db8::2']), d), /vnis\[0\]\.peers\[0\]/],
    ['duplicate peer', (d) => ((d.vnis[0].peers = ['192.0.2.2', '192.0.2.2']), d), /vnis\[0\]\.peers\[1\]/],
    ['fdb MAC zz', (d) => ((d.vnis[0].fdb[0].mac = 'zz'), d), /vnis\[0\]\.fdb\[0\]\.mac/],
    ['fdb multicast MAC', (d) => ((d.vnis[0].fdb[0].mac = '01:00:5e:00:00:01'), d), /vnis\[0\]\.fdb\[0\]\.mac/],
    ['fdb without destination', (d) => ((d.vnis[0].fdb[0] = { mac: '02:00:00:00:00:02' }), d), /vnis\[0\]\.fdb\[0\]/],
    ['fdb endpoint of another VNI', (d) => ((d.vnis[0].fdb[0] = { mac: '02:00:00:00:00:02', endpoint: 'epa2' }), d), /vnis\[0\]\.fdb\[0\]\.endpoint/],
    ['duplicate fdb MAC', (d) => (d.vnis[0].fdb.push({ mac: '02:00:00:00:00:02', remote: '192.0.2.3' }), d), /vnis\[0\]\.fdb\[1\]\.mac/],
    ['neighbor IP bad', (d) => ((d.vnis[0].neighbors[0].ip = '198.51.100.300'), d), /vnis\[0\]\.neighbors\[0\]\.ip/],
    ['neighbor MAC all zero', (d) => ((d.vnis[0].neighbors[0].mac = '00:00:00:00:00:00'), d), /vnis\[0\]\.neighbors\[0\]\.mac/],
    ['unknown key', (d) => ((d.vnis[0].learnin = true), d), /vnis\[0\]\.learnin/],
    ['learning "yes"', (d) => ((d.vnis[0].learning = 'yes'), d), /vnis\[0\]\.learning/],
    ['negative ageing', (d) => ((d.vnis[0].ageingSeconds = -1), d), /vnis\[0\]\.ageingSeconds/],
    ['metrics.listen nonsense', (d) => ((d.metrics.listen = 'nope'), d), /metrics\.listen/],
    ['maxVniSeries -1', (d) => ((d.metrics.maxVniSeries = -1), d), /metrics\.maxVniSeries/],
    ['relative pinDir', (d) => ((d.state.pinDir = 'x/y'), d), /state\.pinDir/],
    ['capacity.fdb 0', (d) => ((d.capacity = { fdb: 0 }), d), /capacity\.fdb/],
    ['more VNIs than capacity', (d) => (d.vnis.push({ vni: 43, endpoints: ['epa2'] }), (d.capacity = { vnis: 1 }), d), /capacity\.vnis/],
    ['JSON syntax error', () => '{"underlay": {"interface": "ua",}}', /broken-\d+\.json:\d+/],
  ];

  it('has at least 30 cases', () => expect(cases.length).toBeGreaterThanOrEqual(30));

  it.each(cases.map((c, i) => [i, ...c] as const))('#%i %s', (i, _name, mutate, path) => {
    const before = snapshotMaps(L.pinDir);
    const doc = mutate(base());
    const f = L.file(`broken-${i}.json`, doc);
    for (const args of [['config', 'check', f], ['config', 'diff', f], ['attach', '-c', f]]) {
      const r = L.cli(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(path);
      expect(r.stdout).toBe('');
    }
    const j = L.cli(['config', 'check', f, '-j']);
    expect(j.code).toBe(1);
    const issues = (JSON.parse(j.stdout) as { issues: Array<{ path: string }> }).issues;
    expect(issues.length).toBeGreaterThan(0);
    expect(snapshotMaps(L.pinDir)).toEqual(before);
  });

  it('every issue of a file with several problems is reported, one line each', () => {
    const d = base();
    d.underlay.port = 0;
    d.vnis[0].vni = 0;
    d.vnis[0].peers = ['abc'];
    const r = L.cli(['config', 'check', L.file('many.json', d)]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(r.stderr).toMatch(/underlay\.port/);
    expect(r.stderr).toMatch(/vnis\[0\]\.vni/);
    expect(r.stderr).toMatch(/vnis\[0\]\.peers\[0\]/);
  });
});
