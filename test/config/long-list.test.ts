// The FDB list's fast path (src/config/long-list.ts) must be invisible: an
// entry it accepts is one zod passes unchanged, every valid entry takes it,
// and a large file with one bad entry reports exactly zod's issue.
import { describe, expect, it } from 'vitest';
import { formatConfigIssues } from '../../src/config/index.js';
import { parseConfig, validateConfig } from '../../src/config/parser.js';
import { fdbEntryAccepts, fdbEntrySchema } from '../../src/config/schema.js';

const VALID: unknown[] = [
  { mac: '02:00:00:00:00:01', remote: '192.0.2.2' },
  { mac: '02-AA-00-00-00-01', remote: '2001:DB8::2' },
  { mac: 'AA:00:00:00:00:01', endpoint: 'v1' },
  { mac: '00:00:00:00:00:00', remote: '192.0.2.2' },
  { mac: '02:00:00:00:00:03', remote: '192.0.2.2', endpoint: undefined },
  Object.assign(Object.create(null), { mac: '02:00:00:00:00:04', remote: '192.0.2.4' }),
];

const INVALID: unknown[] = [
  null, 42, 'text', [], ['02:00:00:00:00:01'], {}, new Map([['mac', '02:00:00:00:00:01']]),
  { mac: 42, remote: '192.0.2.2' }, { mac: 'zz', remote: '192.0.2.2' }, { mac: '02:00-00:00:00:01', remote: '192.0.2.2' },
  { mac: '01:00:5e:00:00:01', remote: '192.0.2.2' }, { mac: '02:00:00:00:00:01' }, { mac: undefined, remote: '192.0.2.2' },
  { mac: '02:00:00:00:00:01', remote: '192.0.2.2', endpoint: 'v1' }, { mac: '00:00:00:00:00:00', endpoint: 'v1' },
  { mac: '02:00:00:00:00:01', remote: '127.0.0.1' }, { mac: '02:00:00:00:00:01', remote: '169.254.0.1' }, { mac: '02:00:00:00:00:01', remote: 'x' },
  { mac: '02:00:00:00:00:01', remote: null }, { mac: '02:00:00:00:00:01', endpoint: 'a/b' }, { mac: '02:00:00:00:00:01', endpoint: 7 },
  { mac: '02:00:00:00:00:01', remote: '192.0.2.2', dst: '192.0.2.3' }, JSON.parse('{"mac":"02:00:00:00:00:01","remote":"192.0.2.2","__proto__":1}'),
];

describe('FDB long list', () => {
  it('accepts exactly the entries zod passes unchanged', () => {
    for (const e of [...VALID, ...INVALID]) {
      const zod = fdbEntrySchema.safeParse(e);
      const accepted = fdbEntryAccepts(e);
      expect(accepted, `accepts(${JSON.stringify(e)})`).toBe(zod.success);
      if (accepted && zod.success) expect(zod.data).toEqual(e);
    }
  });

  const big = (n: number, bad?: { at: number; entry: unknown }) => {
    const fdb: unknown[] = Array.from({ length: n }, (_, i) => ({ mac: `02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, remote: '192.0.2.2' }));
    if (bad) fdb[bad.at] = bad.entry;
    return { underlay: { interface: 'eth0', address: '192.0.2.1' }, vnis: [{ vni: 1, endpoints: ['v1'], fdb }], capacity: { fdb: 131072 } };
  };

  it('normalizes a valid 100k-entry list like any other', () => {
    const r = validateConfig(big(100_000));
    if (!r.ok) throw new Error(formatConfigIssues(r.errors, 'big'));
    const fdb = r.config.vnis[0]!.fdb;
    expect(fdb).toHaveLength(100_000);
    expect(fdb[99_999]).toEqual({ kind: 'remote', mac: '02:00:00:01:86:9f', remote: '192.0.2.2' });
    expect(Object.isFrozen(fdb) && Object.isFrozen(fdb[0])).toBe(true);
  });

  it('reports one bad entry among 20k at its path, line and column, as zod words it', () => {
    const text = JSON.stringify(big(20_000, { at: 17_777, entry: { mac: '02:ff:00:00:00:01', remote: '192.0.2.2', dest: 'x' } }), null, 1);
    const r = parseConfig(text, 'big.json');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const line = text.split('\n').findIndex((l) => l.includes('"dest"')) + 1;
    expect(formatConfigIssues(r.errors, 'big.json')).toBe(`big.json:${line}:6: vnis[0].fdb[17777].dest: unknown key; expected one of: mac, remote, endpoint`);
  });

  it('still runs the VNI rules when an entry fails, and stops them for a non-mapping entry', () => {
    const dup = big(3, { at: 2, entry: { mac: '02:00:00:00:00:00', remote: '127.0.0.1' } });
    const first = validateConfig(dup);
    expect(first.ok ? [] : first.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      'vnis[0].fdb[2].remote: 127.0.0.1 is a loopback address; a VTEP address must be routable unicast',
      'vnis[0].fdb[2].mac: MAC 02:00:00:00:00:00 already has an FDB entry at vnis[0].fdb[0]',
    ]);
    const nonMapping = big(3, { at: 1, entry: 'x' });
    (nonMapping.vnis[0]!.fdb as unknown[])[2] = (nonMapping.vnis[0]!.fdb as unknown[])[0];
    const second = validateConfig(nonMapping);
    expect(second.ok ? [] : second.errors.map((e) => `${e.path}: ${e.message}`)).toEqual(['vnis[0].fdb[1]: expected a mapping, got "x"']);
  });
});
