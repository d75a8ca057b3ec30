// Hostile config files and command lines, generated: every file case is the
// valid base config with ONE mutation (a bad value put in one place, a key
// removed, added or doubled, a size pushed past a limit) or a broken text;
// every command case is a valid command line with one slot given a bad value,
// cut short, or given a bad flag. Each case says which exit code it must get
// and what the one-line error must name. hostile-config.test.ts runs them.
import { existsSync } from 'node:fs';
import YAML from 'yaml';
import { Rng } from './fuzzlib.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Doc = Record<string, any>;
type Seg = string | number;

export interface Ctx {
  pinDir: string;
  /** MAC of host b's vxlan0 (the base config's static entry and neighbor). */
  bMac: string;
  /** An existing directory that is not on a bpffs, with a file in it that must survive. */
  plainDir: string;
  /** A config file for commands that take one (the base config). */
  baseFile: string;
}

export interface FileCase {
  kind: 'file';
  id: string;
  category: string;
  format: 'json' | 'yaml';
  /** The file's bytes (lazily: some are tens of MB). */
  content: () => string | Buffer;
  /** What the error must name (the path in the file, or the document-level problem). */
  names: RegExp;
  /** Exit codes of `config check` (touches nothing) and `attach -c` (applies). */
  check: 0 | 1;
  apply: 1 | 2;
  /** Error lines (one per issue); 1 unless the one mutation really makes several. */
  lines: number;
}

export interface CliCase {
  kind: 'cli';
  id: string;
  category: string;
  args: string[];
  /** False when the case brings its own --pin-dir (or none must be added). */
  addPinDir: boolean;
  code: 1 | 2;
  names: RegExp;
  /** Extra check after the command (a directory that must survive, ...). */
  after?: () => string | null;
}

export type HostileCase = FileCase | CliCase;

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const re = (s: string) => new RegExp(esc(s));

function pathText(path: readonly Seg[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}
const pathRe = (path: readonly Seg[]) => re(pathText(path));

function setAt(doc: Doc, path: readonly Seg[], value: unknown): Doc {
  let o: Doc = doc;
  for (const seg of path.slice(0, -1)) o = o[seg];
  o[path.at(-1)!] = value;
  return doc;
}

function deleteAt(doc: Doc, path: readonly Seg[]): Doc {
  let o: Doc = doc;
  for (const seg of path.slice(0, -1)) o = o[seg];
  if (Array.isArray(o)) o.splice(path.at(-1) as number, 1);
  else delete o[path.at(-1)!];
  return doc;
}

export function baseDoc(ctx: Ctx): Doc {
  return {
    underlay: { interface: 'ua', address: '192.0.2.1' },
    vnis: [
      {
        vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'],
        fdb: [{ mac: ctx.bMac, remote: '192.0.2.2' }, { mac: '02:00:00:00:00:0c', endpoint: 'epa' }],
        neighbors: [{ ip: '198.51.100.2', mac: ctx.bMac }],
      },
      { vni: 43, endpoints: ['epa2'], peers: ['192.0.2.3'] },
    ],
    metrics: { enabled: false },
    state: { pinDir: ctx.pinDir },
    capacity: { ...CAPACITY },
  };
}

/** What the lab loads; small enough that "more than fits" is cheap to write. */
export const CAPACITY = { vnis: 64, endpoints: 64, peers: 256, fdb: 1024, neighbors: 256 };

const serialize = (doc: Doc, format: 'json' | 'yaml') => (format === 'json' ? JSON.stringify(doc, null, 2) : YAML.stringify(doc));

// ---- bad values, by what a slot holds ----

/** Not routable unicast, not an address at all, or not a string: refused for the underlay, peers and FDB remotes. */
export const BAD_VTEP: unknown[] = [
  '224.0.0.1', '239.255.255.250', '255.255.255.255', '127.0.0.1', '127.8.9.10', '0.0.0.0', '0.1.2.3', '169.254.1.1',
  '::', '::1', 'ff02::1', 'fe80::1', '::ffff:192.0.2.2', 'fe80::1%ua', '192.0.2.256', '192.0.2', '192.0.2.1/24',
  '', ' 192.0.2.2', '0x7f000001', '192.000.002.002', '1.2.3.4.5', '2001:db8::g', 'localhost', 42, null, ['192.0.2.2'], true,
];
/** Neighbor (overlay) addresses: link-local is fine there, the rest is not. */
export const BAD_NEIGHBOR_IP: unknown[] = [
  '224.0.0.1', '255.255.255.255', '0.0.0.0', '::', '127.0.0.1', '::1', 'ff02::1', '::ffff:198.51.100.2', 'abc', '',
  '198.51.100.2/32', 'fe80::1%ua', 42, null,
];
/** Not a MAC in any form the file accepts. */
export const BAD_MAC_SYNTAX: unknown[] = [
  'zz:00:00:00:00:02', '02:00:00:00:00', '02:00:00:00:00:00:02', '0200.0000.0002', '02-00:00:00:00:02', '020000000002',
  ' 02:00:00:00:00:02', '02:00:00:00:00:2', '02:00:00:00:00:002', 'g2:00:00:00:00:02', '', 2, null, true,
];
/** Group MACs: an FDB entry or a neighbor must be a station. */
export const MULTICAST_MACS = ['01:00:5e:00:00:01', 'ff:ff:ff:ff:ff:ff', '33:33:00:00:00:01', '03:00:00:00:00:01'];
export const BAD_VNI: unknown[] = [0, 16777216, -1, '42abc', '42', 4.2, null, true, 2 ** 32, 1e30, '', [42], {}];
const BAD_IFNAME: unknown[] = ['a-very-long-interface-name', 'eth/0', 'eth 0', '.', '..', 'eth:0', '', 'ep\u0000a', 'é'.repeat(8), 7, null];

/** (path, bad values) for every scalar setting with a range or a type. */
const RANGES: Array<[Seg[], unknown[]]> = [
  [['underlay', 'port'], [0, 65536, -1, '4789', 4789.5, null, true]],
  [['underlay', 'srcPortMin'], [0, 65536, 'low']],
  [['underlay', 'srcPortMax'], [0, 65536, -5]],
  [['underlay', 'ttl'], [0, 256, -1, '64', 1.5]],
  [['underlay', 'tos'], [256, -1, 'high', 1.5, 'INHERIT']],
  [['underlay', 'mtu'], [50, 117, 65536, '1500']],
  [['underlay', 'df'], ['maybe', true, 'SET']],
  [['underlay', 'xdpMode'], ['hw', 'driver', 'generic', '']],
  [['underlay', 'udpChecksumV6'], ['yes', 1, 'true']],
  [['vnis', 0, 'learning'], ['yes', 1, null, 'on']],
  [['vnis', 0, 'allowUnknownPeers'], ['no', 0]],
  [['vnis', 0, 'proxyArp'], ['on', 1]],
  [['vnis', 0, 'ageingSeconds'], [-1, 2 ** 32, 1.5, '300']],
  [['metrics', 'enabled'], ['true', 1]],
  [['metrics', 'listen'], ['nope', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:65536', '::1:9469', '[127.0.0.1]:9469', 'exa mple:80', ':9469', 9469]],
  [['metrics', 'maxVniSeries'], [-1, 16777216, 1.5]],
  [['state', 'pinDir'], ['x/y', '/', '', 42, '//', '/sys/fs/bpf/../../..', '/a/\u0000b']],
  ...(['vnis', 'endpoints', 'peers', 'fdb', 'neighbors'] as const).map((k): [Seg[], unknown[]] => [['capacity', k], [0, -1, 16777217, '1024', 1.5, null]]),
];

/** (path, value of the wrong shape) for every container. */
const WRONG_SHAPES: Array<[Seg[], unknown]> = [
  [['underlay'], ['ua']], [['underlay'], 'ua'], [['underlay'], null], [['underlay'], 42],
  [['vnis'], {}], [['vnis'], 'x'], [['vnis'], null], [['vnis'], []],
  [['vnis', 1], 43], [['vnis', 1], 'x'], [['vnis', 1], []],
  [['vnis', 1, 'endpoints'], 'epa2'], [['vnis', 1, 'endpoints'], [42]], [['vnis', 1, 'endpoints'], null],
  [['vnis', 1, 'peers'], '192.0.2.3'], [['vnis', 1, 'peers'], {}], [['vnis', 1, 'peers'], null],
  [['vnis', 0, 'fdb'], {}], [['vnis', 0, 'fdb'], 'x'], [['vnis', 0, 'fdb', 0], 'x'], [['vnis', 0, 'fdb', 0], []],
  [['vnis', 0, 'neighbors'], {}], [['vnis', 0, 'neighbors', 0], '198.51.100.2'],
  [['metrics'], 'on'], [['metrics'], []], [['state'], '/x'], [['capacity'], 1024], [['capacity'], []],
];

const UNKNOWN_KEYS: Array<[Seg[], string]> = [
  [[], 'underlays'], [[], 'vni'], [['underlay'], 'iface'], [['underlay'], 'Port'], [['vnis', 0], 'learnin'], [['vnis', 0], 'peer'],
  [['vnis', 0, 'fdb', 0], 'dst'], [['vnis', 0, 'neighbors', 0], 'lladdr'], [['metrics'], 'port'], [['state'], 'pindir'],
  [['capacity'], 'macs'], [[], 'constructor'],
];

const REQUIRED: Seg[][] = [
  ['underlay', 'interface'], ['underlay'], ['vnis'], ['vnis', 1, 'vni'], ['vnis', 1, 'endpoints'], ['vnis', 0, 'fdb', 0, 'mac'],
  ['vnis', 0, 'fdb', 0, 'remote'], ['vnis', 0, 'neighbors', 0, 'ip'], ['vnis', 0, 'neighbors', 0, 'mac'],
];

function valueLabel(v: unknown): string {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length > 24 ? `${s.slice(0, 21)}...` : s;
}

interface Mutation {
  category: string;
  name: string;
  mutate: (d: Doc, ctx: Ctx) => Doc;
  names: RegExp;
  check?: 0 | 1;
  apply?: 1 | 2;
  lines?: number;
  /** Only JSON: the text is tens of MB and YAML has its own limit case. */
  jsonOnly?: boolean;
}

const mac6 = (i: number, prefix = 0x02) => [prefix, 0x5a, (i >> 16) & 255, (i >> 8) & 255, i & 255, 1].map((x) => x.toString(16).padStart(2, '0')).join(':');

function mutations(): Mutation[] {
  const out: Mutation[] = [];
  const put = (category: string, path: Seg[], v: unknown, extra: Partial<Mutation> = {}) =>
    out.push({ category, name: `${pathText(path)} = ${valueLabel(v)}`, mutate: (d) => setAt(d, path, v), names: pathRe(path), ...extra });

  for (const path of [['underlay', 'address'], ['vnis', 0, 'peers', 0], ['vnis', 1, 'peers', 0], ['vnis', 0, 'fdb', 0, 'remote']] as Seg[][]) {
    for (const v of BAD_VTEP) put('VTEP address (multicast, broadcast, loopback, ...)', path, v);
  }
  for (const v of BAD_NEIGHBOR_IP) put('neighbor address', ['vnis', 0, 'neighbors', 0, 'ip'], v);
  for (const path of [['vnis', 0, 'fdb', 0, 'mac'], ['vnis', 0, 'fdb', 1, 'mac'], ['vnis', 0, 'neighbors', 0, 'mac']] as Seg[][]) {
    for (const v of [...BAD_MAC_SYNTAX, ...MULTICAST_MACS]) put('MAC address', path, v);
  }
  put('MAC address', ['vnis', 0, 'neighbors', 0, 'mac'], '00:00:00:00:00:00');
  put('MAC address', ['vnis', 0, 'fdb', 1, 'mac'], '00:00:00:00:00:00'); // the flood MAC bound to an endpoint
  for (const path of [['vnis', 0, 'vni'], ['vnis', 1, 'vni']] as Seg[][]) for (const v of BAD_VNI) put('VNI', path, v);
  for (const [path, values] of RANGES) for (const v of values) put('port, range or type of a setting', path, v);
  out.push({
    category: 'port, range or type of a setting', name: 'srcPortMin > srcPortMax',
    mutate: (d) => setAt(setAt(d, ['underlay', 'srcPortMin'], 50000), ['underlay', 'srcPortMax'], 40000), names: /underlay\.srcPortMin/,
  });
  for (const [path, v] of WRONG_SHAPES) put('wrong type of a list or mapping', path, v);
  for (const [path, key] of UNKNOWN_KEYS) {
    out.push({ category: 'unknown key', name: `${pathText([...path, key]) || key}`, mutate: (d) => setAt(d, [...path, key], 1), names: pathRe([...path, key]) });
  }
  for (const path of REQUIRED) {
    out.push({ category: 'required key missing', name: `no ${pathText(path)}`, mutate: (d) => deleteAt(d, path), names: path.at(-1) === 'remote' ? pathRe(path.slice(0, -1)) : pathRe(path) });
  }
  for (const path of [['underlay', 'interface'], ['vnis', 1, 'endpoints', 0], ['vnis', 0, 'fdb', 1, 'endpoint']] as Seg[][]) {
    for (const v of BAD_IFNAME) put('interface name', path, v);
  }

  const dup = (name: string, mutate: (d: Doc) => Doc, path: Seg[], lines = 1) =>
    out.push({ category: 'duplicate', name, mutate, names: pathRe(path), lines });
  dup('VNI twice', (d) => setAt(d, ['vnis', 1, 'vni'], 42), ['vnis', 1, 'vni']);
  dup('VNI twice (42.0)', (d) => (d.vnis.push({ vni: 42.0, endpoints: ['epa3'] }), d), ['vnis', 2, 'vni']);
  dup('endpoint twice in a VNI', (d) => setAt(d, ['vnis', 1, 'endpoints'], ['epa2', 'epa2']), ['vnis', 1, 'endpoints', 1]);
  dup('endpoint in two VNIs', (d) => setAt(d, ['vnis', 1, 'endpoints'], ['epa']), ['vnis', 1, 'endpoints', 0]);
  dup('endpoint in two VNIs (second of two)', (d) => setAt(d, ['vnis', 1, 'endpoints'], ['epa2', 'epa']), ['vnis', 1, 'endpoints', 1]);
  dup('peer twice', (d) => setAt(d, ['vnis', 0, 'peers'], ['192.0.2.2', '192.0.2.2']), ['vnis', 0, 'peers', 1]);
  dup('IPv6 peer twice in two spellings', (d) => {
    d.underlay.address = '2001:db8::1';
    d.vnis[0].peers = ['2001:db8::2', '2001:DB8:0:0::2'];
    d.vnis[0].fdb[0].remote = '2001:db8::2';
    d.vnis[1].peers = [];
    return d;
  }, ['vnis', 0, 'peers', 1]);
  dup('FDB MAC twice (case)', (d) => (d.vnis[0].fdb.push({ mac: '02:00:00:00:00:0C', remote: '192.0.2.3' }), d), ['vnis', 0, 'fdb', 2, 'mac']);
  dup('FDB MAC twice (dashes)', (d) => (d.vnis[0].fdb.push({ mac: '02-00-00-00-00-0c', remote: '192.0.2.3' }), d), ['vnis', 0, 'fdb', 2, 'mac']);
  dup('flood destination twice', (d) => (d.vnis[0].fdb.push({ mac: '00:00:00:00:00:00', remote: '192.0.2.9' }, { mac: '00:00:00:00:00:00', remote: '192.0.2.9' }), d), ['vnis', 0, 'fdb', 3, 'remote']);
  dup('neighbor twice', (d) => (d.vnis[0].neighbors.push({ ip: '198.51.100.2', mac: '02:00:00:00:00:05' }), d), ['vnis', 0, 'neighbors', 1, 'ip']);
  dup('IPv6 neighbor twice in two spellings', (d) => (d.vnis[0].neighbors.push({ ip: '2001:db8:1::5', mac: '02:00:00:00:00:05' }, { ip: '2001:DB8:1:0::5', mac: '02:00:00:00:00:06' }), d), ['vnis', 0, 'neighbors', 2, 'ip']);

  const rule = (category: string, name: string, mutate: (d: Doc) => Doc, names: RegExp, extra: Partial<Mutation> = {}) =>
    out.push({ category, name, mutate, names, ...extra });
  rule('endpoint', 'the underlay as an endpoint', (d) => setAt(d, ['vnis', 1, 'endpoints'], ['ua']), /vnis\[1\]\.endpoints\[0\]/);
  rule('endpoint', 'FDB entry on another VNI\'s endpoint', (d) => setAt(d, ['vnis', 0, 'fdb', 1, 'endpoint'], 'epa2'), /vnis\[0\]\.fdb\[1\]\.endpoint/);
  rule('endpoint', 'FDB entry with remote and endpoint', (d) => setAt(d, ['vnis', 0, 'fdb', 0, 'endpoint'], 'epa'), /vnis\[0\]\.fdb\[0\]\.endpoint/);
  rule('endpoint', 'no endpoints', (d) => setAt(d, ['vnis', 1, 'endpoints'], []), /vnis\[1\]\.endpoints/);
  rule('underlay family', 'IPv6 peer on an IPv4 underlay', (d) => setAt(d, ['vnis', 1, 'peers', 0], '2001:db8::3'), /vnis\[1\]\.peers\[0\]/);
  rule('underlay family', 'IPv6 FDB remote on an IPv4 underlay', (d) => setAt(d, ['vnis', 0, 'fdb', 0, 'remote'], '2001:db8::2'), /vnis\[0\]\.fdb\[0\]\.remote/);
  // every other address now disagrees: one line for each of the three
  rule('underlay family', 'IPv6 underlay address, IPv4 peers', (d) => setAt(d, ['underlay', 'address'], '2001:db8::1'), /vnis\[0\]\.peers\[0\]/, { lines: 3 });
  rule('underlay family', 'IPv6 underlay, MTU below 1280', (d) => {
    d.underlay.address = '2001:db8::1';
    d.vnis[0].peers = ['2001:db8::2'];
    d.vnis[0].fdb[0].remote = '2001:db8::2';
    d.vnis[1].peers = [];
    d.underlay.mtu = 1200;
    return d;
  }, /underlay\.mtu/);

  // Sizes: more than a map holds is refused before any entry is looked at.
  const bulkFdb = (n: number) => Array.from({ length: n }, (_, i) => ({ mac: mac6(i), remote: '192.0.2.2' }));
  rule('size', '1,000,000 FDB entries, capacity.fdb 1024', (d) => ((d.vnis[0].fdb = d.vnis[0].fdb.concat(bulkFdb(1_000_000))), d), /capacity\.fdb: the file lists 1000002 static FDB entries/, { jsonOnly: true });
  rule('size', '2000 VNIs, capacity.vnis 64', (d) => {
    for (let i = 0; i < 2000; i++) d.vnis.push({ vni: 1000 + i, endpoints: [`x${i}`] });
    return d;
  }, /capacity\.vnis/, { lines: 2 }); // and capacity.endpoints: each VNI brings one
  const addrs = (n: number) => Array.from({ length: n }, (_, i) => (i < 245 ? `192.0.2.${10 + i}` : `203.0.113.${i - 244}`));
  rule('size', '300 peers, capacity.peers 256', (d) => setAt(d, ['vnis', 1, 'peers'], addrs(300)), /capacity\.peers/);
  rule('size', '300 neighbors, capacity.neighbors 256', (d) => setAt(d, ['vnis', 1, 'neighbors'], addrs(300).map((ip) => ({ ip, mac: '02:00:00:00:00:05' }))), /capacity\.neighbors/);
  rule('size', '33 peers: more than a flood list holds', (d) => setAt(d, ['vnis', 1, 'peers'], Array.from({ length: 33 }, (_, i) => `192.0.2.${10 + i}`)), /vnis\[1\]: VNI 43 floods to 33 IPv4/);
  rule('size', 'fits the file\'s capacity, not the loaded map', (d) => {
    d.capacity = { ...d.capacity, fdb: 2048 };
    d.vnis[0].fdb.push(...bulkFdb(1500));
    return d;
  }, /capacity\.fdb: the file needs 1502 entries but the loaded fdb map holds 1024/, { check: 0, apply: 1 });

  // Only the host can tell: config check passes, the apply refuses with exit 2.
  rule('host (interface missing)', 'underlay that does not exist', (d) => setAt(d, ['underlay', 'interface'], 'nope0'), /underlay\.interface: .*nope0/, { check: 0, apply: 2 });
  rule('host (interface missing)', 'endpoint that does not exist', (d) => setAt(d, ['vnis', 1, 'endpoints'], ['nope1']), /vnis\[1\]\.endpoints\[0\]: .*nope1/, { check: 0, apply: 2 });
  rule('host (interface missing)', 'underlay without a global address', (d) => setAt(d, ['underlay'], { interface: 'lo' }), /underlay\.address: interface lo has no global IPv4 address/, { check: 0, apply: 2 });
  return out;
}

interface RawText {
  category: string;
  name: string;
  format: 'json' | 'yaml' | 'both';
  text: (base: Doc) => string | Buffer;
  names: RegExp;
  lines?: number;
}

function rawTexts(seed: number): RawText[] {
  const json = (d: Doc) => JSON.stringify(d, null, 2);
  const bytes = (n: number, s: number) => new Rng(s).bytes(n);
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  return [
    { category: 'empty or garbage', name: 'empty file', format: 'both', text: () => '', names: /the file is empty/ },
    { category: 'empty or garbage', name: 'whitespace only', format: 'both', text: () => '  \n\t\n   \n', names: /the file is empty/ },
    { category: 'empty or garbage', name: 'byte order mark only', format: 'both', text: () => '\uFEFF', names: /the file is empty/ },
    { category: 'empty or garbage', name: 'NUL bytes', format: 'both', text: () => '\0\0\0\0', names: /invalid (JSON|YAML)|top level/ },
    { category: 'empty or garbage', name: 'binary garbage (4 KiB)', format: 'both', text: () => bytes(4096, seed), names: /not UTF-8 text/ },
    { category: 'empty or garbage', name: 'binary garbage after a brace', format: 'json', text: () => Buffer.concat([Buffer.from('{"underlay": '), bytes(512, seed + 1)]), names: /not UTF-8 text|invalid JSON/ },
    { category: 'empty or garbage', name: 'invalid UTF-8 in a name', format: 'both', text: (d) => Buffer.from(serialize(d, 'json').replace('"ua"', '"ua\u0001"').replace('\u0001', '\u00ff'), 'latin1'), names: /not UTF-8 text \(byte 0xff/ },
    { category: 'empty or garbage', name: 'top level is a list', format: 'both', text: (d) => serialize([d] as unknown as Doc, 'json'), names: /top level must be a mapping/ },
    { category: 'empty or garbage', name: 'top level is a number', format: 'both', text: () => '42\n', names: /top level must be a mapping/ },
    { category: 'empty or garbage', name: 'top level is null', format: 'both', text: () => 'null\n', names: /the file is empty/ },
    { category: 'JSON syntax', name: 'trailing comma', format: 'json', text: (d) => json(d).replace(/\n}$/, ',\n}'), names: /invalid JSON/ },
    { category: 'JSON syntax', name: 'comment', format: 'json', text: (d) => `// xvtep\n${json(d)}`, names: /invalid JSON/ },
    { category: 'JSON syntax', name: 'cut in the middle', format: 'json', text: (d) => json(d).slice(0, Math.floor(json(d).length * 0.6)), names: /invalid JSON/ },
    { category: 'JSON syntax', name: 'NaN', format: 'json', text: (d) => json(d).replace('"ttl"', '"x"').replace('"enabled": false', '"enabled": NaN'), names: /invalid JSON/ },
    { category: 'JSON syntax', name: 'single quotes', format: 'json', text: (d) => json(d).replace('"ua"', "'ua'"), names: /invalid JSON/ },
    { category: 'JSON syntax', name: 'nested 100,000 deep', format: 'json', text: () => deep(100_000), names: /top level must be a mapping|invalid JSON/ },
    { category: 'duplicate', name: 'duplicate JSON key', format: 'json', text: (d) => json(d).replace('"vni": 42,', '"vni": 42, "vni": 44,'), names: /duplicate key "vni"/ },
    { category: 'duplicate', name: 'duplicate top-level JSON key', format: 'json', text: (d) => json(d).replace(/^{/, '{"vnis": [],'), names: /duplicate key "vnis"/ },
    { category: 'duplicate', name: 'duplicate YAML key', format: 'yaml', text: (d) => YAML.stringify(d).replace('  address: 192.0.2.1\n', '  address: 192.0.2.1\n  address: 192.0.2.9\n'), names: /duplicate key "address"/ },
    { category: 'duplicate', name: 'duplicate top-level YAML key', format: 'yaml', text: (d) => `metrics: {}\n${YAML.stringify(d)}`, names: /duplicate key "metrics"/ },
    { category: 'YAML syntax', name: 'tab indentation', format: 'yaml', text: (d) => YAML.stringify(d).replace('\n  address:', '\n\taddress:'), names: /invalid YAML/ },
    { category: 'YAML syntax', name: 'alias bomb', format: 'yaml', text: () => 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n', names: /invalid YAML: .*alias/i },
    { category: 'YAML syntax', name: 'unresolved tag', format: 'yaml', text: (d) => YAML.stringify(d).replace('interface: ua', 'interface: !!js/function "f(){}"'), names: /invalid YAML: Unresolved tag/ },
    { category: 'YAML syntax', name: 'two documents', format: 'yaml', text: (d) => `${YAML.stringify(d)}---\n${YAML.stringify(d)}`, names: /invalid YAML/ },
    { category: 'YAML syntax', name: 'alias to nothing', format: 'yaml', text: (d) => YAML.stringify(d).replace('interface: ua', 'interface: *nowhere'), names: /invalid YAML/ },
    { category: 'YAML syntax', name: 'nested 10,000 deep', format: 'yaml', text: () => `a: ${deep(10_000)}\n`, names: /invalid YAML/ },
    { category: 'YAML syntax', name: 'YAML 1.1 "yes"', format: 'yaml', text: (d) => YAML.stringify(d).replace('enabled: false', 'enabled: yes'), names: /metrics\.enabled: expected true or false, got "yes"/ },
    { category: 'YAML syntax', name: 'merge key', format: 'yaml', text: (d) => YAML.stringify(d).replace('underlay:\n', 'base: &b {port: 4789}\nunderlay:\n  <<: *b\n'), names: /unknown key/, lines: 2 }, // base and underlay.<<
    { category: 'huge file', name: '17 MiB of YAML', format: 'yaml', text: (d) => `${YAML.stringify(d)}#${'x'.repeat(17 * 1024 * 1024)}\n`, names: /17 MiB of YAML is more than the 16 MiB/ },
    { category: 'huge file', name: '64 MiB interface name', format: 'json', text: (d) => json(setAt(d, ['underlay', 'interface'], 'a'.repeat(64 * 1024 * 1024))), names: /underlay\.interface: "a{20,60}\.\.\."/ },
    { category: 'huge file', name: '100 MiB of whitespace around a valid config', format: 'json', text: (d) => `${' '.repeat(100 * 1024 * 1024)}${json(setAt(d, ['underlay', 'port'], 0))}`, names: /underlay\.port/ },
  ];
}

export function fileCases(ctx: Ctx, seed: number): FileCase[] {
  const out: FileCase[] = [];
  for (const m of mutations()) {
    for (const format of m.jsonOnly ? ['json' as const] : ['json' as const, 'yaml' as const]) {
      out.push({
        kind: 'file', id: `${m.category} / ${m.name} / ${format}`, category: m.category, format,
        content: () => serialize(m.mutate(baseDoc(ctx), ctx), format), names: m.names, check: m.check ?? 1, apply: m.apply ?? 1, lines: m.lines ?? 1,
      });
    }
  }
  // The same 1M-entry list in YAML meets the YAML size limit first.
  out.push({
    kind: 'file', id: 'size / 1,000,000 FDB entries / yaml', category: 'size', format: 'yaml', check: 1, apply: 1, lines: 1,
    content: () => {
      const d = baseDoc(ctx);
      d.vnis[0].fdb = d.vnis[0].fdb.concat(Array.from({ length: 1_000_000 }, (_, i) => ({ mac: mac6(i), remote: '192.0.2.2' })));
      return YAML.stringify(d);
    },
    names: /MiB of YAML is more than the 16 MiB/,
  });
  for (const t of rawTexts(seed)) {
    for (const format of t.format === 'both' ? ['json' as const, 'yaml' as const] : [t.format]) {
      out.push({ kind: 'file', id: `${t.category} / ${t.name} / ${format}`, category: t.category, format, content: () => t.text(baseDoc(ctx)), names: t.names, check: 1, apply: 1, lines: t.lines ?? 1 });
    }
  }
  return out;
}

// ---- command lines ----

type SlotKind = 'mac' | 'umac' | 'zmac' | 'vni' | 'newvni' | 'delvni' | 'vtep' | 'anyip' | 'nip' | 'nmac' | 'dev' | 'newdev';
type Tok = string | { slot: SlotKind; value: string; label: string };

/** Valid command lines against the lab's base state; only their mutations run. */
const TEMPLATES: Tok[][] = [
  ['fdb', 'add', { slot: 'umac', value: '02:00:00:00:00:77', label: 'mac' }, 'vni', { slot: 'vni', value: '42', label: 'vni' }, 'dst', { slot: 'vtep', value: '192.0.2.9', label: 'dst' }],
  ['fdb', 'replace', { slot: 'umac', value: '02:00:00:00:00:77', label: 'mac' }, 'vni', { slot: 'vni', value: '42', label: 'vni' }, 'dst', { slot: 'vtep', value: '192.0.2.9', label: 'dst' }],
  ['fdb', 'add', { slot: 'umac', value: '02:00:00:00:00:78', label: 'mac' }, 'vni', { slot: 'vni', value: '42', label: 'vni' }, 'dev', { slot: 'dev', value: 'epa', label: 'dev' }],
  ['fdb', 'append', { slot: 'zmac', value: '00:00:00:00:00:00', label: 'mac' }, 'vni', { slot: 'vni', value: '42', label: 'vni' }, 'dst', { slot: 'vtep', value: '192.0.2.9', label: 'dst' }],
  ['fdb', 'del', { slot: 'mac', value: '02:00:00:00:00:0c', label: 'mac' }, 'vni', { slot: 'delvni', value: '42', label: 'vni' }],
  ['peer', 'add', { slot: 'vtep', value: '192.0.2.9', label: 'address' }, 'vni', { slot: 'vni', value: '42', label: 'vni' }],
  ['peer', 'del', { slot: 'anyip', value: '192.0.2.2', label: 'address' }, 'vni', { slot: 'delvni', value: '42', label: 'vni' }],
  ['neigh', 'add', { slot: 'nip', value: '198.51.100.9', label: 'ip' }, 'lladdr', { slot: 'nmac', value: '02:00:00:00:00:99', label: 'lladdr' }, 'vni', { slot: 'vni', value: '42', label: 'vni' }],
  ['neigh', 'replace', { slot: 'nip', value: '198.51.100.9', label: 'ip' }, 'lladdr', { slot: 'nmac', value: '02:00:00:00:00:99', label: 'lladdr' }, 'vni', { slot: 'vni', value: '42', label: 'vni' }],
  ['neigh', 'del', { slot: 'anyip', value: '198.51.100.2', label: 'ip' }, 'vni', { slot: 'delvni', value: '42', label: 'vni' }],
  ['vni', 'add', { slot: 'newvni', value: '44', label: 'vni' }, 'endpoint', { slot: 'newdev', value: 'epa3', label: 'endpoint' }],
  ['vni', 'del', { slot: 'delvni', value: '43', label: 'vni' }],
];

const BAD_VNI_ARGS = ['0', '16777216', '-1', '42abc', '4.2', '', '0x2a', '1e3', ' 42', '4294967338'];
const BAD_MAC_ARGS = ['zz:00:00:00:00:01', '02:00:00:00:01', '02:00:00:00:00:00:01', '0200.0000.0001', '02-00:00:00:00:01', '020000000001', '', 'g2:00:00:00:00:01', '02:00:00:00:00:1'];
const BAD_VTEP_ARGS = (BAD_VTEP.filter((v) => typeof v === 'string') as string[]).concat('2001:db8::9');
const BAD_NIP_ARGS = BAD_NEIGHBOR_IP.filter((v) => typeof v === 'string') as string[];

/** Bad values for a slot, each with the exit code it must get (and what must be named, if not the value). */
function badArgs(kind: SlotKind): Array<{ v: string; code: 1 | 2; names?: RegExp }> {
  const ones = (vs: string[]) => vs.map((v) => ({ v, code: 1 as const }));
  switch (kind) {
    case 'mac': return ones(BAD_MAC_ARGS);
    case 'umac': return [...ones(BAD_MAC_ARGS), ...ones(MULTICAST_MACS), { v: '00:00:00:00:00:00', code: 1, names: /flood entry: use `xvtep fdb append/ }];
    case 'zmac': return [{ v: '02:00:00:00:00:77', code: 1, names: /append adds flood destinations/ }, ...ones(BAD_MAC_ARGS)];
    case 'nmac': return [...ones(BAD_MAC_ARGS), ...ones(MULTICAST_MACS), { v: '00:00:00:00:00:00', code: 1 }];
    case 'vni': return [...ones(BAD_VNI_ARGS), { v: '99', code: 1, names: /VNI 99 is not configured/ }];
    case 'delvni': return [...ones(BAD_VNI_ARGS), { v: '99', code: 2, names: /99.*(ENOENT|not configured)|(ENOENT|not configured).*99/ }];
    case 'newvni': return [...ones(BAD_VNI_ARGS), { v: '42', code: 2, names: /vni 42: EEXIST/ }];
    case 'vtep': return ones(BAD_VTEP_ARGS);
    case 'anyip': return ones(['abc', '', '192.0.2.256', '192.0.2.1/24', 'fe80::1%ua']);
    case 'nip': return ones(BAD_NIP_ARGS);
    case 'dev': return [
      { v: 'nope0', code: 2 }, { v: 'epa2', code: 1, names: /epa2: not an endpoint of VNI 42 \(it belongs to VNI 43\)/ }, { v: 'ua', code: 1 }, { v: 'lo', code: 1 },
      ...ones(['a-very-long-interface-name', 'eth/0', '', 'eth:0']),
    ];
    case 'newdev': return [
      { v: 'nope0', code: 2 }, { v: 'epa2', code: 1, names: /epa2 already belongs to VNI 43/ }, { v: 'epa', code: 1, names: /epa already belongs to VNI 42/ },
      { v: 'ua', code: 1, names: /ua is the underlay/ }, ...ones(['a-very-long-interface-name', 'eth/0', '', 'eth:0']),
    ];
  }
}

function valueRe(v: string): RegExp {
  if (v === '') return /""|empty/;
  if (v.trim() !== v) return re(JSON.stringify(v));
  return re(v);
}

const words = (t: Tok[]) => t.map((x) => (typeof x === 'string' ? x : x.value));

export function cliCases(ctx: Ctx): CliCase[] {
  const out: CliCase[] = [];
  const add = (category: string, args: string[], code: 1 | 2, names: RegExp, extra: Partial<CliCase> = {}) =>
    out.push({ kind: 'cli', id: `${category}: xvtep ${args.map((a) => (a === '' || /\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}`, category, args, addPinDir: true, code, names, ...extra });

  const cut = new Set<string>();
  for (const t of TEMPLATES) {
    // one slot at a time gets a bad value
    t.forEach((tok, i) => {
      if (typeof tok === 'string') return;
      for (const bad of badArgs(tok.slot)) {
        const args = words(t);
        args[i] = bad.v;
        add(`bad ${tok.label}`, args, bad.code, bad.names ?? valueRe(bad.v));
      }
    });
    // cut short before each token: what is missing must be named
    for (let i = 2; i < t.length; i++) {
      const tok = t[i]!;
      const label = typeof tok === 'string' ? tok : tok.label;
      if (t[0] === 'vni' && t[1] === 'add' && i === 3) continue; // `vni add 44` alone is a valid command
      const args = words(t.slice(0, i));
      if (cut.has(args.join(' '))) continue; // fdb add ... has two templates
      cut.add(args.join(' '));
      add('missing argument', args, 1, new RegExp(`\\b${esc(label)}\\b`));
    }
  }
  const valid = ['fdb', 'add', '02:00:00:00:00:77', 'vni', '42', 'dst', '192.0.2.9'];
  for (const [args, names] of [
    [['status', '--bogus'], /--bogus/], [['fdb', 'show', '--force'], /--force/], [[...valid, '--force'], /--force/],
    [['attach', '--vnii', '42'], /--vnii/], [['vni', 'add', '44', '--learning'], /--learning/], [['run', '--daemonize'], /--daemonize/],
    [['stats', '-x'], /-x/], [['config', 'check', ctx.baseFile, '--strict'], /--strict/], [['detach', '--all'], /--all/],
  ] as Array<[string[], RegExp]>) add('unknown flag', args, 1, names);
  for (const [args, names] of [
    [['frobnicate'], /frobnicate/], [['fdb', 'frob'], /frob/], [['vni', 'modify', '42'], /modify/], [['peer', 'list'], /list/],
    [['neigh', 'flush'], /flush/], [['config', 'apply', ctx.baseFile], /apply/], [['FDB', 'show'], /FDB/], [['fdb', 'add-static', '02:00:00:00:00:01'], /add-static/],
  ] as Array<[string[], RegExp]>) add('unknown subcommand', args, 1, names);
  for (const [args, names] of [
    [['status', 'extra'], /too many arguments/], [['vni', 'del', '43', '44'], /too many arguments/], [['detach', 'now'], /too many arguments/],
  ] as Array<[string[], RegExp]>) add('extra argument', args, 1, names);
  for (const [args, code, names] of [
    [['fdb', 'add', '02:00:00:00:00:77', 'vni', '42', 'vni', '42', 'dst', '192.0.2.9'], 1, /"vni" given twice/],
    [['fdb', 'add', '02:00:00:00:00:77', 'vni', '42', 'dst', '192.0.2.9', 'dev', 'epa'], 1, /exactly one of "dst IP".*"dev IFACE"/],
    [['fdb', 'add', '02:00:00:00:00:77', 'vni', '42', 'bogus', 'x'], 1, /"bogus"/],
    [['fdb', 'add', '02:00:00:00:00:77', 'vni', '42', 'dst', '192.0.2.9', 'permanent'], 1, /"permanent"/],
    [['vni', 'add', '44', 'learning', 'maybe'], 1, /learning: "maybe"/],
    [['vni', 'add', '44', 'proxy', 'yes'], 1, /proxy: "yes"/],
    [['vni', 'add', '44', 'allow-unknown-peers', '1'], 1, /allow-unknown-peers: "1"/],
    [['fdb', 'flush', 'vni', 'abc'], 1, /"abc"/],
    [['fdb', 'del', '00:00:00:00:00:00', 'vni', '42'], 1, /needs dst IP/],
    [['fdb', 'del', '00:00:00:00:00:00', 'vni', '42', 'dst', '192.0.2.2'], 1, /192\.0\.2\.2 is a peer of VNI 42: remove it with `xvtep peer del/],
    [['stats', '--vni', '0'], 1, /"0"/], [['stats', '--vni', '99'], 1, /99/],
    [['fdb', 'show', 'vni', '0'], 1, /"0"/], [['peer', 'show', 'vni', 'x'], 1, /"x"/],
    [['attach', '-c', ctx.baseFile, '--underlay', 'ua'], 1, /either -c FILE or the quick-form flags/],
    [['attach'], 1, /nothing to attach/], [['attach', '--vni', '42'], 1, /--underlay/],
    [['attach', '--underlay', 'ua', '--vni', '0', '--endpoint', 'epa'], 1, /--vni/],
    [['attach', '--underlay', 'ua', '--vni', '42', '--endpoint', 'epa', '--peer', '255.255.255.255'], 1, /--peer: 255\.255\.255\.255 is the broadcast address/],
    [['attach', '--underlay', 'ua', '--vni', '42', '--endpoint', 'epa', '--port', '0'], 1, /--port/],
    [['run'], 1, /run needs -c FILE/], [['run', '-c', '/nonexistent/xvtep.yaml'], 1, /\/nonexistent\/xvtep\.yaml: cannot read config: no such file/],
    [['run', '-c', ctx.plainDir], 1, /is a directory/],
    [['config', 'check'], 1, /missing required argument 'file'/],
    [['config', 'check', '/nonexistent/xvtep.json'], 1, /no such file/], [['config', 'check', ctx.plainDir], 1, /is a directory/],
  ] as Array<[string[], 1 | 2, RegExp]>) add('bad combination or state', args, code, names, { addPinDir: args[0] !== 'config' });
  for (const [args, names] of [
    [['fdb', 'add', ctx.bMac, 'vni', '42', 'dst', '192.0.2.2'], /EEXIST/], [['fdb', 'del', '02:00:00:00:00:99', 'vni', '42'], /ENOENT/],
    [['peer', 'add', '192.0.2.2', 'vni', '42'], /EEXIST/], [['vni', 'add', '43'], /EEXIST/], [['neigh', 'add', '198.51.100.2', 'lladdr', '02:00:00:00:00:05', 'vni', '42'], /EEXIST/],
    [['neigh', 'del', '198.51.100.99', 'vni', '42'], /ENOENT/], [['fdb', 'del', '00:00:00:00:00:00', 'vni', '42', 'dst', '192.0.2.99'], /ENOENT/],
  ] as Array<[string[], RegExp]>) add('exists already / does not exist', args, 2, names);

  // --pin-dir that is not a pin directory
  const plainSurvives = () => (existsSync(`${ctx.plainDir}/keep/precious`) ? null : `${ctx.plainDir}/keep/precious was removed`);
  const cmds: Array<[string, string[]]> = [
    ['status', ['status']], ['fdb add', valid], ['vni add', ['vni', 'add', '44', 'endpoint', 'epa3']], ['stats', ['stats']],
    ['attach', ['attach', '--underlay', 'ua', '--vni', '42', '--endpoint', 'epa', '--peer', '192.0.2.2']], ['detach', ['detach']],
    ['config diff', ['config', 'diff', ctx.baseFile]],
  ];
  for (const [name, args] of cmds) {
    const notPinned = name === 'attach' || name === 'detach' ? /not (on )?a bpffs/ : /no xvtep state pinned here/;
    add('--pin-dir', [...args, '--pin-dir', ctx.plainDir], 2, name === 'attach' || name === 'detach' ? /not on a bpffs/ : notPinned, { addPinDir: false, after: plainSurvives });
    if (name !== 'detach') add('--pin-dir', [...args, '--pin-dir', '/nonexistent-xvtep/x'], 2, name === 'attach' ? /\/nonexistent-xvtep: not a bpffs/ : /no xvtep state pinned here/, { addPinDir: false });
    for (const d of ['rel/x', '/', '']) add('--pin-dir', [...args, '--pin-dir', d], 1, /--pin-dir: ".*" must be an absolute directory other than \//, { addPinDir: false });
  }
  return out;
}

export function allCases(ctx: Ctx, seed: number): HostileCase[] {
  const all: HostileCase[] = [...fileCases(ctx, seed), ...cliCases(ctx)];
  const seen = new Set<string>();
  for (const c of all) {
    if (seen.has(c.id)) throw new Error(`two hostile cases share the id ${c.id}`);
    seen.add(c.id);
  }
  return all;
}

/**
 * The quick profile: one case of every category (so CI sees each kind), then
 * a seeded sample of the rest up to `n`. The full profile runs everything.
 */
export function sample<T extends HostileCase>(cases: T[], n: number, seed: number, everyCategory = true): T[] {
  const r = new Rng(seed);
  const shuffled = [...cases].map((c) => [r.u32(), c] as const).sort((a, b) => a[0] - b[0]).map(([, c]) => c);
  const picked = new Set<T>();
  const cats = new Set<string>();
  for (const c of everyCategory ? shuffled : []) {
    const cat = `${c.kind}:${c.category}`;
    if (!cats.has(cat)) {
      cats.add(cat);
      picked.add(c);
    }
  }
  for (const c of shuffled) {
    if (picked.size >= n) break;
    picked.add(c);
  }
  return cases.filter((c) => picked.has(c));
}
