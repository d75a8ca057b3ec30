import { describe, expect, it } from 'vitest';
import { array, be16, u64n, decode, encode, ipv4, ipv6, mac, pad, struct, u16, u32, u64, u8, formatIPv6, parseIPv6 } from '../../src/bpf/index.js';

describe('codecs', () => {
  it('lay out structs like C, padding zeroed', () => {
    const s = struct({ a: u8, b: u32, c: u16, d: u64 });
    expect(s.offsets).toEqual({ a: 0, b: 4, c: 8, d: 16 });
    expect(s.size).toBe(24);
    const b = Buffer.alloc(24, 0xff);
    s.encode({ a: 1, b: 2, c: 3, d: 4n }, b, 0);
    expect(b.toString('hex')).toBe('01000000' + '02000000' + '03000000' + '00000000' + '0400000000000000');
    expect(decode(s, b)).toEqual({ a: 1, b: 2, c: 3, d: 4n });
  });

  it('leave padding fields out of values', () => {
    const key = struct({ vni: u32, mac, _pad: pad(2) });
    expect(key.size).toBe(12);
    const b = encode(key, { vni: 42, mac: '02:00:00:00:00:01' });
    expect(b.toString('hex')).toBe('2a000000' + '020000000001' + '0000');
    expect(decode(key, b)).toEqual({ vni: 42, mac: '02:00:00:00:00:01' });
  });

  it('encode addresses in network order and print them canonically', () => {
    expect(encode(ipv4, '192.0.2.1').toString('hex')).toBe('c0000201');
    expect(encode(be16, 4789).toString('hex')).toBe('12b5');
    expect(decode(ipv6, encode(ipv6, '2001:DB8:0:0:0:0:0:1'))).toBe('2001:db8::1');
    expect(formatIPv6(parseIPv6('::ffff:192.0.2.1'))).toBe('::ffff:c000:201');
    expect(formatIPv6(parseIPv6('2001:db8:0:1:0:0:0:1'))).toBe('2001:db8:0:1::1');
    expect(decode(mac, encode(mac, '02-AA-bb-00-00-01'))).toBe('02:aa:bb:00:00:01');
    expect(() => encode(mac, '02:00:00:00:00')).toThrow(/not a MAC/);
    expect(() => encode(ipv4, '300.1.1.1')).toThrow(/not an IPv4/);
  });

  it('arrays repeat the element at its aligned stride', () => {
    const a = array(u16, 3);
    expect(encode(a, [1, 2]).toString('hex')).toBe('010002000000');
    expect(decode(a, encode(a, [1, 2, 3]))).toEqual([1, 2, 3]);
  });

  it('u64n reads and writes numbers exactly below 2^53, without BigInt', () => {
    for (const v of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER]) {
      const b = encode(u64n, v);
      expect(b.readBigUInt64LE(0)).toBe(BigInt(v));
      expect(decode(u64n, b)).toBe(v);
    }
  });

  it('refuse a missing field instead of writing garbage', () => {
    const s = struct({ a: u32, b: u32 });
    expect(() => encode(s, { a: 1 } as never)).toThrow(/field "b" is missing/);
  });
});
