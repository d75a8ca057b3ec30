import { afterAll, beforeAll, expect, it } from 'vitest';
import { ipv4, struct, u16, u32, u64, u8, type Collection } from '../../src/bpf/index.js';
import { loadFixture } from '../helpers/fixtures.js';
import { describeKernel } from '../helpers/kernel.js';

const pair = struct({ a: u32, b: u16, c: u8, _pad: u8, d: u64 });

describeKernel('batch operations', () => {
  let coll: Collection;
  beforeAll(async () => {
    coll = await loadFixture('maps');
  });
  afterAll(() => coll?.close());

  it('100,000 entries round-trip exactly through batch update and lookup', () => {
    const m = coll.map('t_hash', u32, pair);
    const n = 100_000;
    const entries: Array<[number, { a: number; b: number; c: number; d: bigint }]> = [];
    for (let i = 0; i < n; i++) entries.push([i * 7 + 1, { a: i, b: i & 0xffff, c: i & 0xff, d: BigInt(i) * 1000003n }]);
    expect(m.updateBatch(entries)).toBe(n);
    const back = m.lookupBatch();
    expect(back).toHaveLength(n);
    back.sort((x, y) => x[0] - y[0]);
    expect(back).toEqual(entries);
    expect(m.count()).toBe(n);
    expect(m.deleteBatch(entries.slice(0, 50_000).map(([k]) => k))).toBe(50_000);
    expect(m.count()).toBe(50_000);
    const drained = m.lookupAndDeleteBatch();
    expect(drained).toHaveLength(50_000);
    expect(m.count()).toBe(0);
  });

  it('falls back to per-key calls where the map type has no batches (LPM trie)', () => {
    const m = coll.map('t_lpm', struct({ prefixlen: u32, addr: ipv4 }), u32);
    const entries = [8, 16, 24].map((p) => [{ prefixlen: p, addr: p === 8 ? '192.0.0.0' : p === 16 ? '192.0.0.0' : '192.0.2.0' }, p] as const);
    expect(m.updateBatch(entries)).toBe(3);
    const back = m.lookupBatch().map(([k, v]) => [k.prefixlen, v]).sort((a, b) => a[0]! - b[0]!);
    expect(back).toEqual([[8, 8], [16, 16], [24, 24]]);
    expect(m.deleteBatch(entries.map(([k]) => k))).toBe(3);
    expect(m.count()).toBe(0);
  });

  it('a batch that overflows the map reports E2BIG with what got in', async () => {
    const small = await loadFixture('maps', (s) => s.setMaxEntries('t_hash', 10));
    try {
      const m = small.map('t_hash', u32, pair);
      const entries = Array.from({ length: 20 }, (_, i) => [i, { a: i, b: 0, c: 0, d: 0n }] as const);
      expect(() => m.updateBatch(entries)).toThrow(expect.objectContaining({ code: 'E2BIG' }));
      expect(m.count()).toBe(10);
    } finally {
      small.close();
    }
  });
});
