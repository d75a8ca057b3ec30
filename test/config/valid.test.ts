import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS, ConfigError, formatConfigIssues, type Config } from '../../src/config/index.js';
import { configFromFlags, loadConfigFile, parseConfig, validateConfig } from '../../src/config/parser.js';
import { parseIp, parseListen } from '../../src/config/addresses.js';

const EXAMPLE_YAML = `
underlay:
  interface: eth0          # required: the NIC carrying VXLAN
  address: 192.0.2.1
  port: 4789
  xdpMode: native
vnis:
  - vni: 42
    endpoints: [veth0]
    peers: [192.0.2.2]
    fdb:
      - { mac: "02:00:00:00:00:02", remote: 192.0.2.2 }
    neighbors:
      - { ip: 198.51.100.2, mac: "02:00:00:00:00:02" }
    learning: true
metrics:
  listen: 127.0.0.1:9469
state:
  pinDir: /sys/fs/bpf/xvtep
`;

const EXAMPLE_JSON = JSON.stringify({
  underlay: { interface: 'eth0', address: '192.0.2.1', port: 4789, xdpMode: 'native' },
  vnis: [
    {
      vni: 42,
      endpoints: ['veth0'],
      peers: ['192.0.2.2'],
      fdb: [{ mac: '02:00:00:00:00:02', remote: '192.0.2.2' }],
      neighbors: [{ ip: '198.51.100.2', mac: '02:00:00:00:00:02' }],
      learning: true,
    },
  ],
  metrics: { listen: '127.0.0.1:9469' },
  state: { pinDir: '/sys/fs/bpf/xvtep' },
}, null, 2);

function ok(text: string, source = 'test.yaml'): Config {
  const result = parseConfig(text, source);
  if (!result.ok) throw new Error(formatConfigIssues(result.errors, source));
  return result.config;
}

const EXPECTED_EXAMPLE: Config = {
  underlay: {
    interface: 'eth0',
    address: '192.0.2.1',
    family: 4,
    port: 4789,
    srcPortMin: 32768,
    srcPortMax: 60999,
    xdpMode: 'native',
    tcMode: 'auto',
    ttl: 64,
    tos: 0,
    df: 'unset',
    udpChecksumV6: true,
    udpZeroChecksumRxV6: false,
    mtu: null,
  },
  vnis: [
    {
      vni: 42,
      endpoints: ['veth0'],
      peers: ['192.0.2.2'],
      fdb: [{ kind: 'remote', mac: '02:00:00:00:00:02', remote: '192.0.2.2' }],
      neighbors: [{ ip: '198.51.100.2', family: 4, mac: '02:00:00:00:00:02' }],
      learning: true,
      allowUnknownPeers: false,
      proxyArp: true,
      ageingSeconds: 300,
      maxLearned: 4096,
      endpointXdp: 'auto',
    },
  ],
  metrics: { enabled: true, listen: { host: '127.0.0.1', port: 9469 }, maxVniSeries: 4096 },
  state: { pinDir: '/sys/fs/bpf/xvtep' },
  capacity: { vnis: 4096, endpoints: 4096, peers: 16384, fdb: 65536, neighbors: 16384 },
  cluster: null,
};

describe('valid configurations', () => {
  it('normalizes the example from the issue, filling every default', () => {
    expect(ok(EXAMPLE_YAML)).toEqual(EXPECTED_EXAMPLE);
  });

  it('reads the JSON equivalent to the same Config', () => {
    expect(ok(EXAMPLE_JSON, 'test.json')).toEqual(EXPECTED_EXAMPLE);
  });

  it('takes every endpointXdp setting as written', () => {
    for (const x of ['off', 'on', 'frags', 'auto'] as const) {
      expect(ok(`underlay: { interface: eth0 }\nvnis:\n  - { vni: 1, endpoints: [veth0], endpointXdp: ${x} }\n`).vnis[0]!.endpointXdp).toBe(x);
    }
  });

  it('accepts a minimal file', () => {
    const config = ok('underlay: { interface: eth0 }\nvnis:\n  - { vni: 1, endpoints: [veth0] }\n');
    expect(config.underlay).toMatchObject({ interface: 'eth0', address: null, family: null, port: 4789, mtu: null });
    expect(config.vnis).toEqual([
      {
        vni: 1,
        endpoints: ['veth0'],
        peers: [],
        fdb: [],
        neighbors: [],
        learning: true,
        allowUnknownPeers: false,
        proxyArp: false,
        ageingSeconds: 300,
        maxLearned: 4096,
        endpointXdp: 'auto',
      },
    ]);
    expect(config.metrics.listen).toEqual({ host: '127.0.0.1', port: 9469 });
    expect(config.capacity).toEqual(CONFIG_DEFAULTS.capacity);
  });

  it('normalizes an IPv6 underlay to canonical compressed form', () => {
    const config = ok(`
underlay:
  interface: eth1
  address: 2001:0DB8:0000:0000:0000:0000:0000:0001
  udpChecksumV6: false
  mtu: 9000
vnis:
  - vni: 16777215
    endpoints: [veth0, veth1]
    peers: ["2001:db8:0:0:1:0:0:2", "2001:DB8::3"]
    fdb:
      - { mac: "02-AA-BB-CC-DD-EE", remote: "2001:db8:0::3" }
      - { mac: "00:00:00:00:00:00", remote: "2001:db8::1:0:0:2" }
      - { mac: "00:00:00:00:00:00", remote: "2001:db8::3" }
      - { mac: "02:00:00:00:00:10", endpoint: veth1 }
    neighbors:
      - { ip: "FE80::0001", mac: "02:00:00:00:00:10" }
      - { ip: 10.0.0.5, mac: "02:00:00:00:00:11" }
    proxyArp: false
    allowUnknownPeers: true
    learning: false
    ageingSeconds: 0
metrics: { listen: "[0:0::0:1]:9100", enabled: false, maxVniSeries: 0 }
state: { pinDir: /sys/fs/bpf//xvtep/v6/ }
`);
    expect(config.underlay).toMatchObject({ address: '2001:db8::1', family: 6, udpChecksumV6: false, mtu: 9000 });
    const [vni] = config.vnis;
    expect(vni?.peers).toEqual(['2001:db8::1:0:0:2', '2001:db8::3']);
    expect(vni?.fdb).toEqual([
      { kind: 'remote', mac: '02:aa:bb:cc:dd:ee', remote: '2001:db8::3' },
      { kind: 'remote', mac: '00:00:00:00:00:00', remote: '2001:db8::1:0:0:2' },
      { kind: 'remote', mac: '00:00:00:00:00:00', remote: '2001:db8::3' },
      { kind: 'local', mac: '02:00:00:00:00:10', endpoint: 'veth1' },
    ]);
    expect(vni?.neighbors).toEqual([
      { ip: 'fe80::1', family: 6, mac: '02:00:00:00:00:10' },
      { ip: '10.0.0.5', family: 4, mac: '02:00:00:00:00:11' },
    ]);
    expect(vni).toMatchObject({ proxyArp: false, allowUnknownPeers: true, learning: false, ageingSeconds: 0, maxLearned: 4096 });
    expect(config.metrics).toEqual({ enabled: false, listen: { host: '::1', port: 9100 }, maxVniSeries: 0 });
    expect(config.state.pinDir).toBe('/sys/fs/bpf/xvtep/v6');
  });

  it('maxLearned: capacity.fdb / 16 unless given; 0 (no per-VNI cap) and values up to the capacity limit are taken', () => {
    const cfg = (extra: string, cap = '') => ok(`underlay: { interface: eth0 }\nvnis: [{ vni: 1, endpoints: [v1]${extra} }]\n${cap}`).vnis[0]?.maxLearned;
    expect(cfg('')).toBe(4096);
    expect(cfg('', 'capacity: { fdb: 1000 }\n')).toBe(62);
    expect(cfg('', 'capacity: { fdb: 8 }\n')).toBe(1);
    expect(cfg(', maxLearned: 0')).toBe(0);
    expect(cfg(', maxLearned: 100000')).toBe(100000);
  });

  it('takes the underlay family from the peers when no address is given', () => {
    const config = ok('underlay: { interface: eth0 }\nvnis: [{ vni: 7, endpoints: [v7], peers: ["2001:db8::7"] }]\n');
    expect(config.underlay).toMatchObject({ address: null, family: 6 });
  });

  it('accepts every underlay knob', () => {
    const config = ok(`
underlay: { interface: eth0, port: 8472, srcPortMin: 1000, srcPortMax: 1000, xdpMode: skb, ttl: 255, tos: inherit, df: inherit }
vnis: [{ vni: 1, endpoints: [veth0] }]
capacity: { vnis: 1, endpoints: 1, peers: 1, fdb: 1, neighbors: 1 }
`);
    expect(config.underlay).toMatchObject({ port: 8472, srcPortMin: 1000, srcPortMax: 1000, xdpMode: 'skb', ttl: 255, tos: 'inherit', df: 'inherit' });
    expect(config.capacity).toEqual({ vnis: 1, endpoints: 1, peers: 1, fdb: 1, neighbors: 1 });
  });

  it('returns a deeply frozen Config', () => {
    const config = ok(EXAMPLE_YAML);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.vnis[0]?.fdb[0])).toBe(true);
    expect(Object.isFrozen(config.metrics.listen)).toBe(true);
    expect(() => {
      (config.underlay as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('validates objects already in memory', () => {
    const result = validateConfig(JSON.parse(EXAMPLE_JSON));
    expect(result.ok && result.config).toEqual(EXPECTED_EXAMPLE);
  });
});

describe('loadConfigFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xvtep-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('chooses the format by extension', async () => {
    await writeFile(join(dir, 'a.yml'), EXAMPLE_YAML);
    await writeFile(join(dir, 'a.json'), EXAMPLE_JSON);
    expect(await loadConfigFile(join(dir, 'a.yml'))).toEqual(EXPECTED_EXAMPLE);
    expect(await loadConfigFile(join(dir, 'a.json'))).toEqual(EXPECTED_EXAMPLE);
  });

  it('detects the format from the content for other names', async () => {
    await writeFile(join(dir, 'json.conf'), `\uFEFF${EXAMPLE_JSON}`);
    await writeFile(join(dir, 'yaml.conf'), EXAMPLE_YAML);
    expect(await loadConfigFile(join(dir, 'json.conf'))).toEqual(EXPECTED_EXAMPLE);
    expect(await loadConfigFile(join(dir, 'yaml.conf'))).toEqual(EXPECTED_EXAMPLE);
  });

  it('rejects JSON syntax that YAML would accept in a .json file', async () => {
    await writeFile(join(dir, 'trailing.json'), '{\n  "underlay": {"interface": "eth0"},\n}\n');
    const err = await loadConfigFile(join(dir, 'trailing.json')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues[0]).toMatchObject({ path: '', line: 3, column: 1 });
    expect((err as ConfigError).message).toMatch(/^.*trailing\.json:3:1: invalid JSON: /);
  });

  it('reports a missing file with its path and errno code', async () => {
    const path = join(dir, 'missing.yaml');
    const err = await loadConfigFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(1);
    expect((err as ConfigError).message).toBe(`${path}: cannot read config: no such file (ENOENT)`);
  });

  it('reports a directory given as the file', async () => {
    await mkdir(join(dir, 'sub'));
    const err = await loadConfigFile(join(dir, 'sub')).catch((e: unknown) => e);
    expect((err as ConfigError).message).toContain('(EISDIR)');
  });

  it('throws ConfigError with one line per issue for invalid files', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, 'underlay:\n  interface: eth0\n  ttl: 0\nvnis:\n  - vni: 0\n    endpoints: [veth0]\n');
    const err = (await loadConfigFile(path).catch((e: unknown) => e)) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.name).toBe('ConfigError');
    expect(err.message.split('\n')).toEqual([
      `${path}:3:8: underlay.ttl: TTL 0 is out of range 1..255`,
      `${path}:5:10: vnis[0].vni: VNI 0 is out of range 1..16777215`,
    ]);
  });
});

describe('configFromFlags', () => {
  it('builds the same Config a file would', () => {
    const result = configFromFlags({ underlay: 'eth0', vni: '42', endpoints: ['veth0'], peers: '192.0.2.2', port: '4789', address: '192.0.2.1' });
    const file = ok('underlay: { interface: eth0, address: 192.0.2.1 }\nvnis: [{ vni: 42, endpoints: [veth0], peers: [192.0.2.2] }]\n');
    expect(result.ok && result.config).toEqual(file);
  });

  it('names the flags in its errors', () => {
    const result = configFromFlags({ underlay: 'eth0', vni: 'forty', endpoints: ['eth0'], peers: ['224.0.0.1', '192.0.2.2', '192.0.2.2'], port: '70000' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual(
      expect.arrayContaining([
        { path: '--vni', message: 'expected an integer, got "forty"' },
        { path: '--port', message: 'port 70000 is out of range 1..65535' },
        { path: '--endpoint', message: 'eth0 is the underlay interface; it cannot also be an endpoint' },
        expect.objectContaining({ path: '--peer', message: expect.stringContaining('224.0.0.1 is a multicast address') }),
        expect.objectContaining({ path: '--peer', message: 'peer 192.0.2.2 is already listed at --peer' }),
      ]),
    );
  });
});

describe('address helpers', () => {
  it.each([
    ['::', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:db8::0:1', '2001:db8::1'],
    ['FE80::A', 'fe80::a'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
  ])('canonicalizes %s as %s (RFC 5952)', (input, canonical) => {
    expect(parseIp(input)?.text).toBe(canonical);
  });

  it('classifies addresses', () => {
    expect(parseIp('169.254.1.1')?.kind).toBe('link-local');
    expect(parseIp('fe80::1')?.kind).toBe('link-local');
    expect(parseIp('ff02::1')?.kind).toBe('multicast');
    expect(parseIp('0.1.2.3')?.kind).toBe('unspecified');
    expect(parseIp('::ffff:10.0.0.1')?.kind).toBe('ipv4-mapped');
    expect(parseIp('fe80::1%eth0')).toBeNull();
  });

  it('parses listen addresses', () => {
    expect(parseListen('localhost:9469')).toEqual({ host: 'localhost', port: 9469 });
    expect(parseListen('[::]:80')).toEqual({ host: '::', port: 80 });
    expect(parseListen('0.0.0.0:65535')).toEqual({ host: '0.0.0.0', port: 65535 });
  });
});
