// A small packet builder for golden-byte tests of the data path. Every
// header is written field by field from the RFCs, independently of the code
// under test (no project code, no scapy): tests build the frame they send
// and, separately, the exact frame they expect back.

export const EtherType = { IPV4: 0x0800, ARP: 0x0806, VLAN: 0x8100, QINQ: 0x88a8, IPV6: 0x86dd } as const;
export const Proto = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58, FRAGMENT6: 44 } as const;

/** "02:00:00:00:00:01" -> 6 bytes. */
export function mac(s: string): Buffer {
  const b = Buffer.from(s.replaceAll(':', ''), 'hex');
  if (b.length !== 6) throw new Error(`bad MAC ${s}`);
  return b;
}

export function ip4(a: string): Buffer {
  const p = a.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !(x >= 0 && x <= 255))) throw new Error(`bad IPv4 ${a}`);
  return Buffer.from(p);
}

/** RFC 4291 text form (with ::), no embedded IPv4. */
export function ip6(a: string): Buffer {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const words = (s: string | undefined) => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const h = words(head), t = words(tail);
  const all = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  if (all.length !== 8 || all.some((w) => !(w >= 0 && w <= 0xffff))) throw new Error(`bad IPv6 ${a}`);
  const b = Buffer.alloc(16);
  all.forEach((w, i) => b.writeUInt16BE(w, i * 2));
  return b;
}

export function ipBytes(a: string): Buffer {
  return a.includes(':') ? ip6(a) : ip4(a);
}

/** RFC 1071 Internet checksum over the concatenation of the buffers. */
export function sum16(...bufs: Buffer[]): number {
  const b = Buffer.concat(bufs);
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  if (b.length & 1) s += b[b.length - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

export function checksum(...bufs: Buffer[]): number {
  return ~sum16(...bufs) & 0xffff;
}

export function pseudo4(src: string, dst: string, proto: number, len: number): Buffer {
  const b = Buffer.alloc(12);
  ip4(src).copy(b, 0);
  ip4(dst).copy(b, 4);
  b[9] = proto;
  b.writeUInt16BE(len, 10);
  return b;
}

export function pseudo6(src: string, dst: string, proto: number, len: number): Buffer {
  const b = Buffer.alloc(40);
  ip6(src).copy(b, 0);
  ip6(dst).copy(b, 16);
  b.writeUInt32BE(len, 32);
  b[39] = proto;
  return b;
}

export function eth(dst: string, src: string, type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(14);
  mac(dst).copy(h, 0);
  mac(src).copy(h, 6);
  h.writeUInt16BE(type, 12);
  return Buffer.concat([h, payload]);
}

/** Ethernet with one 802.1Q (or 802.1ad) tag. */
export function ethVlan(dst: string, src: string, vid: number, type: number, payload: Buffer, tpid: number = EtherType.VLAN): Buffer {
  const t = Buffer.alloc(4);
  t.writeUInt16BE(vid & 0xfff, 0);
  t.writeUInt16BE(type, 2);
  return eth(dst, src, tpid, Buffer.concat([t, payload]));
}

export interface Ipv4Opts {
  src: string;
  dst: string;
  proto: number;
  payload: Buffer;
  ttl?: number;
  tos?: number;
  id?: number;
  df?: boolean;
  mf?: boolean;
  fragOffset?: number; // in 8-byte units
  options?: Buffer; // multiple of 4 bytes
  /** Override the total length field (default: real length). */
  totalLength?: number;
}

export function ipv4(o: Ipv4Opts): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  if (opts.length % 4) throw new Error('IPv4 options must be padded to 4 bytes');
  const h = Buffer.alloc(20 + opts.length);
  h[0] = 0x40 | (h.length / 4);
  h[1] = o.tos ?? 0;
  h.writeUInt16BE(o.totalLength ?? h.length + o.payload.length, 2);
  h.writeUInt16BE(o.id ?? 0, 4);
  h.writeUInt16BE((o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | (o.fragOffset ?? 0), 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.proto;
  ip4(o.src).copy(h, 12);
  ip4(o.dst).copy(h, 16);
  opts.copy(h, 20);
  h.writeUInt16BE(checksum(h), 10);
  return Buffer.concat([h, o.payload]);
}

export interface Ipv6Opts {
  src: string;
  dst: string;
  nextHeader: number;
  payload: Buffer;
  hopLimit?: number;
  tclass?: number;
  flowLabel?: number;
}

export function ipv6(o: Ipv6Opts): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(((6 << 28) | ((o.tclass ?? 0) << 20) | (o.flowLabel ?? 0)) >>> 0, 0);
  h.writeUInt16BE(o.payload.length, 4);
  h[6] = o.nextHeader;
  h[7] = o.hopLimit ?? 64;
  ip6(o.src).copy(h, 8);
  ip6(o.dst).copy(h, 24);
  return Buffer.concat([h, o.payload]);
}

export interface UdpOpts {
  sport: number;
  dport: number;
  payload: Buffer;
  /** Pseudo header for the checksum; omitted = checksum 0 (IPv4 "none"). */
  pseudo?: { src: string; dst: string };
  /** Override the length field. */
  length?: number;
}

export function udp(o: UdpOpts): Buffer {
  const h = Buffer.alloc(8);
  const len = 8 + o.payload.length;
  h.writeUInt16BE(o.sport, 0);
  h.writeUInt16BE(o.dport, 2);
  h.writeUInt16BE(o.length ?? len, 4);
  if (o.pseudo) {
    const ph = o.pseudo.src.includes(':')
      ? pseudo6(o.pseudo.src, o.pseudo.dst, Proto.UDP, len)
      : pseudo4(o.pseudo.src, o.pseudo.dst, Proto.UDP, len);
    const c = checksum(ph, h, o.payload);
    h.writeUInt16BE(c === 0 ? 0xffff : c, 6);
  }
  return Buffer.concat([h, o.payload]);
}

/** RFC 7348 header: flags octet (I = 0x08), 24 reserved bits, VNI, 8 reserved bits. */
export function vxlan(vni: number, payload: Buffer, o: { flags?: number; reserved1?: number; reserved2?: number } = {}): Buffer {
  const h = Buffer.alloc(8);
  h[0] = o.flags ?? 0x08;
  h.writeUIntBE(o.reserved1 ?? 0, 1, 3);
  h.writeUIntBE(vni, 4, 3);
  h[7] = o.reserved2 ?? 0;
  return Buffer.concat([h, payload]);
}

/**
 * A TCP SYN. With `pseudo` its checksum is right; with `partial` too, the
 * checksum field holds what a CHECKSUM_PARTIAL skb carries instead: the folded
 * pseudo-header sum, which the kernel or the NIC completes at transmit.
 */
export function tcp(sport: number, dport: number, payload: Buffer = Buffer.alloc(0),
  pseudo?: { src: string; dst: string; partial?: boolean }): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(1, 4);
  h[12] = 5 << 4;
  h[13] = 0x02; // SYN
  h.writeUInt16BE(64240, 14);
  if (pseudo) {
    const len = 20 + payload.length;
    const ph = pseudo.src.includes(':') ? pseudo6(pseudo.src, pseudo.dst, Proto.TCP, len) : pseudo4(pseudo.src, pseudo.dst, Proto.TCP, len);
    h.writeUInt16BE(pseudo.partial ? ~checksum(ph) & 0xffff : checksum(ph, h, payload), 16);
  }
  return Buffer.concat([h, payload]);
}

export interface ArpOpts {
  op: 1 | 2;
  sha: string;
  spa: string;
  tha: string;
  tpa: string;
}

export function arp(o: ArpOpts): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16BE(1, 0);
  b.writeUInt16BE(EtherType.IPV4, 2);
  b[4] = 6;
  b[5] = 4;
  b.writeUInt16BE(o.op, 6);
  mac(o.sha).copy(b, 8);
  ip4(o.spa).copy(b, 14);
  mac(o.tha).copy(b, 18);
  ip4(o.tpa).copy(b, 24);
  return b;
}

/** ICMPv4 message with its checksum: type, code, 4 bytes of "rest of header", data. */
export function icmp4(type: number, code: number, rest: Buffer, data: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[0] = type;
  h[1] = code;
  const m = Buffer.concat([h, rest, data]);
  m.writeUInt16BE(checksum(m), 2);
  return m;
}

export function icmpEcho(id: number, seq: number, data: Buffer): Buffer {
  const r = Buffer.alloc(4);
  r.writeUInt16BE(id, 0);
  r.writeUInt16BE(seq, 2);
  return icmp4(8, 0, r, data);
}

/** ICMPv6 message with its checksum over the pseudo header. */
export function icmp6(src: string, dst: string, type: number, code: number, body: Buffer): Buffer {
  const m = Buffer.concat([Buffer.from([type, code, 0, 0]), body]);
  m.writeUInt16BE(checksum(pseudo6(src, dst, Proto.ICMPV6, m.length), m), 2);
  return m;
}

/** Neighbour solicitation (RFC 4861 4.3) with one source link-layer option. */
export function ndNs(src: string, dst: string, target: string, lladdr: string): Buffer {
  const body = Buffer.concat([Buffer.alloc(4), ip6(target), Buffer.from([1, 1]), mac(lladdr)]);
  return icmp6(src, dst, 135, 0, body);
}

/** Neighbour advertisement with flags (R=0x80, S=0x40, O=0x20 in the first octet) and a target LL option. */
export function ndNa(src: string, dst: string, target: string, lladdr: string, flags: number): Buffer {
  const f = Buffer.alloc(4);
  f[0] = flags;
  const body = Buffer.concat([f, ip6(target), Buffer.from([2, 1]), mac(lladdr)]);
  return icmp6(src, dst, 136, 0, body);
}

/** Solicited-node multicast address and its MAC for an IPv6 address. */
export function solicitedNode(a: string): { ip: string; mac: string } {
  const b = ip6(a);
  const t = [b[13]!, b[14]!, b[15]!].map((x) => x.toString(16).padStart(2, '0'));
  return { ip: `ff02::1:ff${t[0]}:${t[1]}${t[2]}`, mac: `33:33:ff:${t.join(':')}` };
}

/** Deterministic filler bytes. */
export function fill(n: number, seed = 0): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed * 13 + 1) & 0xff;
  return b;
}

/** Hex dump with a space every 2 bytes, for readable diffs. */
export function hex(b: Buffer | undefined): string {
  if (!b) return '<none>';
  return b.toString('hex').replace(/(.{4})/g, '$1 ').trim();
}
