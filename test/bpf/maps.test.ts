import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  BpfError, BpfMap, MapType, UpdateFlag, bytes, ipv4, struct, u16, u32, u64, u8, type Collection,
} from '../../src/bpf/index.js';
import { loadFixture } from '../helpers/fixtures.js';
import { describeKernel } from '../helpers/kernel.js';

const pair = struct({ a: u32, b: u16, c: u8, _pad: u8, d: u64 });
const lpmKey = struct({ prefixlen: u32, addr: ipv4 });

describeKernel('maps of every promised type', () => {
  let coll: Collection;
  beforeAll(async () => {
    coll = await loadFixture('maps');
  });
  afterAll(() => coll?.close());

  it('hash: set/get/delete/iterate and honours NOEXIST/EXIST', () => {
    const m = coll.map('t_hash', u32, pair);
    expect(m.info).toMatchObject({ typeName: 'hash', keySize: 4, valueSize: 16, maxEntries: 200000 });
    expect(m.info.id).toBeGreaterThan(0);
    m.set(1, { a: 10, b: 20, c: 30, d: 40n });
    m.set(2, { a: 11, b: 21, c: 31, d: 41n }, UpdateFlag.NOEXIST);
    expect(m.get(1)).toEqual({ a: 10, b: 20, c: 30, d: 40n });
    expect(() => m.set(1, { a: 0, b: 0, c: 0, d: 0n }, UpdateFlag.NOEXIST)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => m.set(99, { a: 0, b: 0, c: 0, d: 0n }, UpdateFlag.EXIST)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    m.set(1, { a: 12, b: 0, c: 0, d: 0n }, UpdateFlag.EXIST);
    expect(m.get(1)!.a).toBe(12);
    expect([...m.keys()].sort()).toEqual([1, 2]);
    expect(new Map(m.entries()).get(2)).toEqual({ a: 11, b: 21, c: 31, d: 41n });
    expect(m.delete(1)).toBe(true);
    expect(m.delete(1)).toBe(false);
    expect(m.get(1)).toBeUndefined();
    expect(m.clear()).toBe(1);
    expect(m.count()).toBe(0);
  });

  it('lru hash: evicts instead of failing when full', () => {
    const m = coll.map('t_lru', u32, u64);
    for (let i = 0; i < 3000; i++) m.set(i, BigInt(i));
    const n = m.count();
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(1024);
    expect(m.get(2999)).toBe(2999n);
  });

  it('array: every index exists, delete is refused, NOEXIST is EEXIST', () => {
    const m = coll.map('t_array', u32, u64);
    expect(m.get(3)).toBe(0n);
    m.set(3, 77n);
    expect(m.get(3)).toBe(77n);
    expect([...m.keys()]).toHaveLength(16);
    expect(() => m.set(3, 1n, UpdateFlag.NOEXIST)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => m.delete(3)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => m.set(16, 1n)).toThrow(expect.objectContaining({ code: 'E2BIG' }));
  });

  it('lpm trie: longest prefix wins', () => {
    const m = coll.map('t_lpm', lpmKey, u32);
    m.set({ prefixlen: 24, addr: '192.0.2.0' }, 24);
    m.set({ prefixlen: 28, addr: '192.0.2.16' }, 28);
    expect(m.get({ prefixlen: 32, addr: '192.0.2.17' })).toBe(28);
    expect(m.get({ prefixlen: 32, addr: '192.0.2.200' })).toBe(24);
    expect(m.get({ prefixlen: 32, addr: '198.51.100.1' })).toBeUndefined();
    expect([...m.keys()]).toHaveLength(2);
    expect(m.delete({ prefixlen: 28, addr: '192.0.2.16' })).toBe(true);
    expect(m.get({ prefixlen: 32, addr: '192.0.2.17' })).toBe(24);
  });

  it('devmap and devmap-hash hold interfaces', () => {
    const dm = coll.map('t_devmap', u32, u32);
    dm.set(0, 1); // lo
    expect(dm.get(0)).toBe(1);
    expect(() => dm.set(1, 999999)).toThrow(expect.objectContaining({ code: 'EINVAL' })); // no such ifindex
    const dh = coll.map('t_devhash', u32, u32);
    dh.set(7, 1);
    expect(dh.get(7)).toBe(1);
    expect([...dh.keys()]).toEqual([7]);
    expect(dh.delete(7)).toBe(true);
  });

  it('prog array: stores a program by fd, reads back its id', () => {
    const m = coll.map('t_progs', u32, u32);
    const p = coll.program('use_maps');
    m.set(0, p.fd);
    expect(m.get(0)).toBe(p.id);
    expect(m.delete(0)).toBe(true);
  });

  it('maps created without an ELF work the same way', () => {
    using m = BpfMap.create({ type: MapType.HASH, name: 'xvt_created', keySize: 8, valueSize: 4, maxEntries: 4 }).typed(bytes(8), u32);
    m.set(Buffer.from('abcdefgh'), 5);
    expect(m.get(Buffer.from('abcdefgh'))).toBe(5);
    for (let i = 0; i < 3; i++) m.set(Buffer.from(`key${i}____`), i);
    expect(() => m.set(Buffer.from('overflow'), 1)).toThrow(expect.objectContaining({ code: 'E2BIG' }));
  });

  it('a codec of the wrong size is refused up front', () => {
    expect(() => coll.map('t_hash', u16, pair)).toThrow(BpfError);
  });
});
