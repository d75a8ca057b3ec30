// Ethernet and IP addresses as text <-> bytes, and their codecs. Text forms
// are canonical on output (lower-case MAC with colons; RFC 5952 IPv6), so
// values read back from maps compare equal to normalized input.
import { isIPv6 } from 'node:net';

// node:net's own IPv4 pattern (lib/internal/net.js), so that encoding an IPv4
// address never loads node:net, a few milliseconds of a CLI's start.
const IPV4_RE = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;
const isIPv4 = (s: string): boolean => IPV4_RE.test(s);
import type { Codec } from './codec.js';

const macRe = /^([0-9a-f]{2})([:-]?)([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i;

const hexVal = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) hexVal[48 + i] = i;
for (let i = 0; i < 6; i++) hexVal[97 + i] = hexVal[65 + i] = 10 + i;

/**
 * Writes a MAC into buf at off. The canonical form (aa:bb:cc:dd:ee:ff, any
 * case) is parsed without allocating: FDB batches encode one per entry.
 */
export function macInto(text: string, buf: Buffer, off: number): void {
  if (text.length === 17) {
    let ok = true;
    for (let i = 0; i < 6 && ok; i++) {
      const hi = hexVal[text.charCodeAt(i * 3)] ?? -1, lo = hexVal[text.charCodeAt(i * 3 + 1)] ?? -1;
      if (hi < 0 || lo < 0 || (i < 5 && text.charCodeAt(i * 3 + 2) !== 58)) ok = false;
      else buf[off + i] = (hi << 4) | lo;
    }
    if (ok) return;
  }
  parseMacSlow(text).copy(buf, off);
}

function parseMacSlow(text: string): Buffer {
  const m = macRe.exec(text.trim());
  if (!m) throw new TypeError(`"${text}" is not a MAC address`);
  return Buffer.from([m[1], m[3], m[4], m[5], m[6], m[7]].join(''), 'hex');
}

export function parseMac(text: string): Buffer {
  const b = Buffer.alloc(6);
  macInto(text, b, 0);
  return b;
}

export function formatMac(b: Buffer, offset = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(b[offset + i]!.toString(16).padStart(2, '0'));
  return parts.join(':');
}

export function parseIPv4(text: string): Buffer {
  if (!isIPv4(text)) throw new TypeError(`"${text}" is not an IPv4 address`);
  return Buffer.from(text.split('.').map(Number));
}

export function formatIPv4(b: Buffer, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

export function parseIPv6(text: string): Buffer {
  if (!isIPv6(text)) throw new TypeError(`"${text}" is not an IPv6 address`);
  let s = text.replace(/%.*$/, '');
  const out = Buffer.alloc(16);
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = parseIPv4(v4[1]!);
    s = s.slice(0, -v4[1]!.length) + `${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export function formatIPv6(b: Buffer, offset = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(offset + i * 2));
  // The longest run of two or more zero groups becomes "::" (first on ties).
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export interface ParsedIP {
  readonly family: 4 | 6;
  /** Shared between callers: copy it, never write to it. */
  readonly bytes: Buffer;
}

// A VTEP has few peer addresses and writes each into thousands of FDB
// entries: parse each text once. Bounded so hostile input cannot grow it.
const ipMemo = new Map<string, ParsedIP>();

export function parseIP(text: string): ParsedIP {
  let p = ipMemo.get(text);
  if (p) return p;
  if (isIPv4(text)) p = { family: 4, bytes: parseIPv4(text) };
  else if (isIPv6(text)) p = { family: 6, bytes: parseIPv6(text) };
  else throw new TypeError(`"${text}" is not an IP address`);
  if (ipMemo.size >= 4096) ipMemo.clear();
  ipMemo.set(text, p);
  return p;
}

export const mac: Codec<string> = {
  size: 6, align: 1,
  encode: (v, b, o) => macInto(v, b, o),
  decode: (b, o) => formatMac(b, o),
};

export const ipv4: Codec<string> = {
  size: 4, align: 1,
  encode: (v, b, o) => void parseIPv4(v).copy(b, o),
  decode: (b, o) => formatIPv4(b, o),
};

export const ipv6: Codec<string> = {
  size: 16, align: 1,
  encode: (v, b, o) => void parseIPv6(v).copy(b, o),
  decode: (b, o) => formatIPv6(b, o),
};
