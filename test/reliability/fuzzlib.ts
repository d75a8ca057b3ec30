// Hostile-packet machinery shared by the reliability tests: a seeded PRNG,
// seed frames, mutations, an independent model of what the receive path must
// accept, validators for every kind of frame the programs may emit, and the
// per-input counter accounting.
//
// Nothing here reads the data path's code: the oracle and the validators are
// written from bpf/include/xvtep_maps.h (documented rules), RFC 7348 / 826 /
// 4861 / 792 / 4443 and the packet builders in test/helpers/packets.ts.
import { DROP_REASONS, DROP_SLOTS, EVENTS, EVENT_SLOTS, type StatsValue } from '../../src/datapath/index.js';
import {
  EtherType, Proto, arp, checksum, eth, ethVlan, fill, icmp6, icmpEcho, ip4, ip6, ipv4, ipv6, mac, ndNs, pseudo6, solicitedNode, sum16, tcp, udp, vxlan,
} from '../helpers/packets.js';
import { ADDR, MAC, type DpEnv } from '../helpers/dpenv.js';

// ---------------------------------------------------------------------------
// Documented verdicts.
//
// XDP programs: XDP_DROP(1), XDP_PASS(2), XDP_TX(3), XDP_REDIRECT(4) — never
// XDP_ABORTED(0) (bpf/ never returns it; a bpf_redirect*() failure falls back
// to XDP_DROP/XDP_PASS or is counted and dropped).
// TC programs: TC_ACT_OK(0), TC_ACT_SHOT(2), TC_ACT_REDIRECT(7). bpf_redirect()
// and bpf_redirect_neigh() return TC_ACT_REDIRECT (or TC_ACT_SHOT on invalid
// flags, which the code never passes); TC_ACT_UNSPEC(-1), TC_ACT_PIPE(3) etc.
// are never returned (checked with grep over bpf/: only TC_ACT_OK,
// TC_ACT_SHOT and the redirect helpers' results are returned).
// ---------------------------------------------------------------------------
export const XDP_VERDICTS: Record<number, string> = { 1: 'DROP', 2: 'PASS', 3: 'TX', 4: 'REDIRECT' };
export const TC_VERDICTS: Record<number, string> = { 0: 'OK', 2: 'SHOT', 7: 'REDIRECT' };

export const VNI_A = 1024; // slot 5: ep1, ep2; peers peer4/peer6; learning, proxy ARP+ND, flood list
export const VNI_B = 2048; // slot 6: ep3; any peer accepted; no learning, proxy ARP; no flood list
export const SLOT_A = 5;
export const SLOT_B = 6;
export const SLOTS = [0, SLOT_A, SLOT_B] as const;
export const NEIGH = {
  ip4: '198.51.100.50', ip6: '2001:db8:100::50',
  macA4: '02:00:00:00:aa:50', macA6: '02:00:00:00:aa:51', macB4: '02:00:00:00:bb:50',
} as const;
export const MAC_B_REMOTE = '02:bb:00:00:00:01'; // VNI B static remote -> peer4b
export const UNKNOWN_PEER4 = '192.0.2.200';

// ---------------------------------------------------------------------------
// PRNG: mulberry32, 32-bit state, reproducible from the seed.
// ---------------------------------------------------------------------------
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  u32(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  int(n: number): number {
    return n <= 1 ? 0 : this.u32() % n;
  }
  chance(p: number): boolean {
    return this.u32() < p * 0x100000000;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

export function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

// ---------------------------------------------------------------------------
// Seeds. Each seed knows the offsets of its header fields (for targeted byte
// sets), of its 16-bit length fields and of its header boundaries (for
// truncation), found by walking the headers.
// ---------------------------------------------------------------------------
export interface Seed {
  name: string;
  bytes: Buffer;
  fields: number[];
  lengths: number[];
  bounds: number[];
}

function walk(b: Buffer): Omit<Seed, 'name' | 'bytes'> {
  const fields: number[] = [], lengths: number[] = [], bounds: number[] = [];
  const l2 = (o: number): void => {
    if (o + 14 > b.length) return;
    fields.push(o, o + 5, o + 6, o + 11, o + 12, o + 13);
    bounds.push(o + 14);
    let t = b.readUInt16BE(o + 12), p = o + 14;
    if ((t === EtherType.VLAN || t === EtherType.QINQ) && p + 4 <= b.length) {
      fields.push(p, p + 1, p + 2, p + 3);
      t = b.readUInt16BE(p + 2);
      p += 4;
      bounds.push(p);
    }
    l3(t, p);
  };
  const l4 = (proto: number, p: number): void => {
    if (proto === Proto.UDP && p + 8 <= b.length) {
      fields.push(p, p + 1, p + 2, p + 3, p + 6, p + 7);
      lengths.push(p + 4);
      bounds.push(p + 8);
      const dport = b.readUInt16BE(p + 2);
      if ((dport === 4789 || dport === 8472) && p + 16 <= b.length) {
        fields.push(p + 8, p + 9, p + 11, p + 12, p + 13, p + 14, p + 15);
        bounds.push(p + 16);
        l2(p + 16);
      }
    } else if ((proto === Proto.ICMP || proto === Proto.ICMPV6) && p + 8 <= b.length) {
      fields.push(p, p + 1, p + 2, p + 3, p + 4, p + 8, p + 24, p + 25, p + 26);
      bounds.push(p + 4, p + 8, Math.min(b.length, p + 24), Math.min(b.length, p + 32));
    } else if (proto === Proto.TCP && p + 20 <= b.length) {
      fields.push(p, p + 2, p + 12, p + 13);
      bounds.push(p + 20);
    }
  };
  const l3 = (t: number, p: number): void => {
    if (t === EtherType.IPV4 && p + 20 <= b.length) {
      fields.push(p, p + 1, p + 6, p + 7, p + 8, p + 9, p + 10, p + 12, p + 15, p + 16, p + 19);
      lengths.push(p + 2);
      const hl = (b[p]! & 0xf) * 4;
      bounds.push(p + 20, p + hl);
      l4(b[p + 9]!, p + hl);
    } else if (t === EtherType.IPV6 && p + 40 <= b.length) {
      fields.push(p, p + 1, p + 6, p + 7, p + 8, p + 23, p + 24, p + 39);
      lengths.push(p + 4);
      bounds.push(p + 40);
      l4(b[p + 6]!, p + 40);
    } else if (t === EtherType.ARP && p + 28 <= b.length) {
      fields.push(p, p + 1, p + 2, p + 3, p + 4, p + 5, p + 6, p + 7, p + 8, p + 14, p + 17, p + 24, p + 27);
      bounds.push(p + 8, p + 28);
    }
  };
  l2(0);
  return { fields: [...new Set(fields)].filter((o) => o < b.length), lengths, bounds: [...new Set(bounds)].filter((o) => o >= 14) };
}

export function seed(name: string, bytes: Buffer): Seed {
  return { name, bytes, ...walk(bytes) };
}

const innerV4 = (dst: string, src: string, size = 64, tos = 0) => eth(dst, src, EtherType.IPV4, ipv4({
  src: '198.51.100.2', dst: '198.51.100.1', proto: Proto.UDP, df: true, tos,
  payload: udp({ sport: 1234, dport: 5678, payload: fill(size), pseudo: { src: '198.51.100.2', dst: '198.51.100.1' } }),
}));
const innerV6 = (dst: string, src: string, tclass = 0) => eth(dst, src, EtherType.IPV6, ipv6({
  src: '2001:db8:100::2', dst: '2001:db8:100::1', nextHeader: Proto.UDP, tclass,
  payload: udp({ sport: 1, dport: 2, payload: fill(40), pseudo: { src: '2001:db8:100::2', dst: '2001:db8:100::1' } }),
}));

export function vx4(inner: Buffer, o: { vni?: number; src?: string; dport?: number; options?: Buffer; vlan?: number; tpid?: number; mf?: boolean; tos?: number } = {}): Buffer {
  const l3 = ipv4({
    src: o.src ?? ADDR.peer4, dst: ADDR.local4, proto: Proto.UDP, options: o.options, mf: o.mf, tos: o.tos,
    payload: udp({ sport: 50000, dport: o.dport ?? 4789, payload: vxlan(o.vni ?? VNI_A, inner) }),
  });
  return o.vlan === undefined ? eth(MAC.uly, MAC.peer, EtherType.IPV4, l3) : ethVlan(MAC.uly, MAC.peer, o.vlan, EtherType.IPV4, l3, o.tpid);
}

export function vx6(inner: Buffer, o: { vni?: number; src?: string; dport?: number; tclass?: number } = {}): Buffer {
  const src = o.src ?? ADDR.peer6;
  return eth(MAC.uly, MAC.peer, EtherType.IPV6, ipv6({
    src, dst: ADDR.local6, nextHeader: Proto.UDP, tclass: o.tclass,
    payload: udp({ sport: 50000, dport: o.dport ?? 4789, payload: vxlan(o.vni ?? VNI_A, inner), pseudo: { src, dst: ADDR.local6 } }),
  }));
}

/** Frames arriving on the underlay: valid VXLAN of every shape, and some that are not ours. */
export function underlaySeeds(): Seed[] {
  const bcastArp = eth('ff:ff:ff:ff:ff:ff', MAC.rem, EtherType.ARP, arp({ op: 1, sha: MAC.rem, spa: '198.51.100.2', tha: '00:00:00:00:00:00', tpa: '198.51.100.1' }));
  return [
    seed('v4 unicast to ep2c', vx4(innerV4(MAC.ep2c, MAC.rem))),
    seed('v6 unicast to ep1c (inner v6)', vx6(innerV6(MAC.ep1c, MAC.rem2))),
    seed('v4 802.1Q', vx4(innerV4(MAC.ep1c, MAC.rem), { vlan: 42 })),
    seed('v4 802.1ad', vx4(innerV4(MAC.ep2c, MAC.rem), { vlan: 7, tpid: EtherType.QINQ })),
    seed('v4 options 40 B', vx4(innerV4(MAC.ep2c, MAC.rem), { options: Buffer.from([...Array(39).fill(1), 0]) })),
    seed('v4 802.1Q + options 40 B', vx4(innerV4(MAC.ep2c, MAC.rem), { vlan: 5, options: Buffer.from([...Array(39).fill(1), 0]) })),
    seed('v4 broadcast ARP', vx4(bcastArp)),
    seed('v6 broadcast ARP', vx6(bcastArp)),
    seed('v4 unknown unicast', vx4(innerV4('02:77:77:77:77:77', MAC.rem))),
    seed('v4 hairpin', vx4(innerV4(MAC.rem2, MAC.rem))),
    seed('v4 minimal inner', vx4(eth(MAC.ep2c, MAC.rem, 0x88b5))),
    seed('VNI B from any peer', vx4(innerV4(MAC.ep3c, '02:bb:00:00:00:09'), { vni: VNI_B, src: '192.0.2.77' })),
    seed('VNI B broadcast', vx4(innerV4('ff:ff:ff:ff:ff:ff', '02:bb:00:00:00:09'), { vni: VNI_B, src: ADDR.peer4b })),
    seed('unknown VNI', vx4(innerV4(MAC.ep2c, MAC.rem), { vni: 999 })),
    seed('unknown peer', vx4(innerV4(MAC.ep2c, MAC.rem), { src: UNKNOWN_PEER4 })),
    seed('wrong VNI for peer6', vx6(innerV4(MAC.ep3c, MAC.rem), { vni: VNI_B + 1 })),
    seed('big v4 unicast', vx4(innerV4(MAC.ep2c, MAC.rem, 1400))),
    // ECN (RFC 6040): outer CE over ECT(0), outer ECT(1) over ECT(0), outer CE over Not-ECT
    seed('v4 CE over ECT(0)', vx4(innerV4(MAC.ep2c, MAC.rem, 64, 0x02), { tos: 0x03 })),
    seed('v6 ECT(1) over inner v6 ECT(0)', vx6(innerV6(MAC.ep1c, MAC.rem2, 0x02), { tclass: 0x01 })),
    seed('v4 CE over Not-ECT', vx4(innerV4(MAC.ep2c, MAC.rem), { tos: 0x03 })),
    seed('port 8472', vx4(innerV4(MAC.ep2c, MAC.rem), { dport: 8472 })),
    seed('first fragment', vx4(innerV4(MAC.ep2c, MAC.rem), { mf: true })),
    seed('not UDP', eth(MAC.uly, MAC.peer, EtherType.IPV4, ipv4({ src: ADDR.peer4, dst: ADDR.local4, proto: Proto.TCP, payload: tcp(1, 4789) }))),
    seed('ARP on the underlay', eth('ff:ff:ff:ff:ff:ff', MAC.peer, EtherType.ARP, arp({ op: 1, sha: MAC.peer, spa: ADDR.peer4, tha: '00:00:00:00:00:00', tpa: ADDR.local4 }))),
  ];
}

const fromEp = (dst: string, src: string, o: { size?: number; df?: boolean; v6?: boolean; proto?: number } = {}): Buffer => {
  const size = o.size ?? 64;
  if (o.v6) {
    return eth(dst, src, EtherType.IPV6, ipv6({
      src: '2001:db8:100::1', dst: '2001:db8:100::2', nextHeader: Proto.UDP,
      payload: udp({ sport: 3, dport: 4, payload: fill(size), pseudo: { src: '2001:db8:100::1', dst: '2001:db8:100::2' } }),
    }));
  }
  const payload = o.proto === Proto.ICMP ? icmpEcho(7, 1, fill(size)) : udp({ sport: 1, dport: 2, payload: fill(size) });
  return eth(dst, src, EtherType.IPV4, ipv4({ src: '198.51.100.1', dst: '198.51.100.2', proto: o.proto ?? Proto.UDP, df: o.df ?? true, payload }));
};

/** Frames an endpoint's container sends. */
export function endpointSeeds(): Seed[] {
  const sn = solicitedNode(NEIGH.ip6);
  const ns = eth(sn.mac, MAC.ep1c, EtherType.IPV6, ipv6({
    src: '2001:db8:100::1', dst: sn.ip, nextHeader: Proto.ICMPV6, hopLimit: 255, payload: ndNs('2001:db8:100::1', sn.ip, NEIGH.ip6, MAC.ep1c),
  }));
  const arpReq = (tpa: string) => eth('ff:ff:ff:ff:ff:ff', MAC.ep1c, EtherType.ARP, arp({ op: 1, sha: MAC.ep1c, spa: '198.51.100.1', tha: '00:00:00:00:00:00', tpa }));
  const echo6 = eth(MAC.rem2, MAC.ep1c, EtherType.IPV6, ipv6({
    src: '2001:db8:100::1', dst: '2001:db8:100::2', nextHeader: Proto.ICMPV6,
    payload: icmp6('2001:db8:100::1', '2001:db8:100::2', 128, 0, fill(1440)),
  }));
  return [
    seed('v4 UDP to remote v4', fromEp(MAC.rem, MAC.ep1c)),
    seed('v6 UDP to remote v6', fromEp(MAC.rem2, MAC.ep1c, { v6: true })),
    seed('ICMP to remote', fromEp(MAC.rem, MAC.ep1c, { proto: Proto.ICMP })),
    seed('local ep1 -> ep2', fromEp(MAC.ep2c, MAC.ep1c)),
    seed('local ep2 -> ep1', fromEp(MAC.ep1c, MAC.ep2c)),
    seed('broadcast', fromEp('ff:ff:ff:ff:ff:ff', MAC.ep1c)),
    seed('IPv6 multicast', fromEp('33:33:00:00:00:01', MAC.ep1c, { v6: true })),
    seed('unknown unicast', fromEp('02:77:77:77:77:77', MAC.ep1c)),
    seed('ARP request, proxied', arpReq(NEIGH.ip4)),
    seed('ARP request, not proxied', arpReq('198.51.100.99')),
    seed('NS, proxied', ns),
    seed('too big, DF', fromEp(MAC.rem, MAC.ep1c, { size: 1480 })),
    seed('too big, no DF', fromEp(MAC.rem, MAC.ep1c, { size: 1480, df: false })),
    seed('too big ICMPv6 echo', echo6),
    seed('too big ICMP echo DF', fromEp(MAC.rem, MAC.ep1c, { size: 1460, proto: Proto.ICMP })),
    seed('802.1Q from endpoint', ethVlan(MAC.rem, MAC.ep1c, 9, EtherType.IPV4, fromEp(MAC.rem, MAC.ep1c).subarray(14))),
    seed('VNI B remote', fromEp(MAC_B_REMOTE, MAC.ep3c)),
    seed('VNI B ARP', eth('ff:ff:ff:ff:ff:ff', MAC.ep3c, EtherType.ARP, arp({ op: 1, sha: MAC.ep3c, spa: '198.51.100.3', tha: '00:00:00:00:00:00', tpa: NEIGH.ip4 }))),
    seed('hairpin', fromEp(MAC.ep1c, MAC.ep1c)),
    seed('eth only', eth(MAC.rem, MAC.ep1c, 0x88b5)),
  ];
}

// ---------------------------------------------------------------------------
// Mutations.
// ---------------------------------------------------------------------------
const INTERESTING8 = [0, 1, 0x7f, 0x80, 0xff, 0x08, 0x45, 0x46, 0x4f, 0x60, 0x11, 0x06, 0x3a, 0x2c, 0x00, 0x40, 0x20];
export const MUTATIONS = ['bitflip', 'fieldset', 'byteset', 'truncate', 'extend', 'length', 'splice', 'shift'] as const;

export function mutate(rng: Rng, s: Seed, all: readonly Seed[], maxLen: number): Buffer {
  let b = Buffer.from(s.bytes);
  const ops = 1 + rng.int(4);
  for (let k = 0; k < ops; k++) {
    switch (rng.int(8)) {
      case 0: // bit flip
        b[rng.int(b.length)] ^= 1 << rng.int(8);
        break;
      case 1: // byte set at a header field
        if (s.fields.length) {
          const o = rng.pick(s.fields);
          if (o < b.length) b[o] = rng.chance(0.5) ? rng.pick(INTERESTING8) : rng.int(256);
        }
        break;
      case 2: // byte set anywhere
        b[rng.int(b.length)] = rng.int(256);
        break;
      case 3: { // truncation, mostly at or next to a header boundary
        const at = rng.chance(0.7) && s.bounds.length ? rng.pick(s.bounds) + rng.int(3) - 1 : 14 + rng.int(b.length);
        b = b.subarray(0, Math.max(14, Math.min(b.length, at)));
        break;
      }
      case 4: { // extension with garbage (occasionally large)
        const n = rng.chance(0.1) ? rng.int(maxLen) : 1 + rng.int(64);
        b = Buffer.concat([b, rng.bytes(n)]);
        break;
      }
      case 5: // 16-bit length field corruption
        if (s.lengths.length) {
          const o = rng.pick(s.lengths);
          if (o + 2 <= b.length) {
            const v = b.readUInt16BE(o);
            b.writeUInt16BE(rng.pick([0, 1, 7, 8, (v - 1) & 0xffff, (v + 1) & 0xffff, (v + 8) & 0xffff, (v - 8) & 0xffff, 0xffff, rng.int(0x10000)]), o);
          }
        }
        break;
      case 6: { // splice with another seed
        const o = rng.pick(all).bytes;
        b = Buffer.concat([b.subarray(0, rng.int(b.length + 1)), o.subarray(rng.int(o.length))]);
        break;
      }
      default: { // insert or delete bytes (shifts every later header)
        const at = rng.int(b.length);
        b = rng.chance(0.5)
          ? Buffer.concat([b.subarray(0, at), rng.bytes(1 + rng.int(8)), b.subarray(at)])
          : Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(8)))]);
      }
    }
  }
  if (b.length < 14) b = Buffer.concat([b, Buffer.alloc(14 - b.length)]);
  return b.length > maxLen ? b.subarray(0, maxLen) : b;
}

// ---------------------------------------------------------------------------
// Receive-path oracle: is this VXLAN for us (documented acceptance rules)?
// ---------------------------------------------------------------------------
export type RxClass =
  | { kind: 'notours' }
  | { kind: 'malformed' }
  | { kind: 'ours'; vni: number; family: 4 | 6; src: string; innerOff: number; ecn: number };

export interface RxConfig { local4: Buffer; local6: Buffer; port: number }

/**
 * The outer UDP checksum of an IPv6 VXLAN frame for us, as the receive path
 * judges it (bpf/lib/csum6.h udp6_csum_ok, bpf/lib/rx.h): zero, right (over
 * the datagram, or over it with its inner TCP/UDP checksum made right, or a
 * field that is still the pseudo-header sum: CHECKSUM_PARTIAL across a
 * veth), or bad.
 */
export function outerCsum6(b: Buffer, innerOff: number): 'zero' | 'ok' | 'bad' {
  const u = innerOff - 16, ip = u - 40;
  const ck = b.readUInt16BE(u + 6);
  if (ck === 0) return 'zero';
  const seg = b.subarray(u);
  const ph = pseudo6(fmt6(b.subarray(ip + 8, ip + 24)), fmt6(b.subarray(ip + 24, ip + 40)), Proto.UDP, seg.length);
  if (csumOk(ph, seg) || csumOk(ph, withInnerChecksumRight(seg))) return 'ok';
  return ck === sum16(ph) ? 'ok' : 'bad';
}

export function classifyRx(b: Buffer, c: RxConfig): RxClass {
  if (b.length < 14) return { kind: 'notours' };
  let t = b.readUInt16BE(12), p = 14;
  if (t === EtherType.VLAN || t === EtherType.QINQ) {
    if (b.length < 18) return { kind: 'notours' };
    t = b.readUInt16BE(16);
    p = 18;
  }
  let u: number, l3len: number, family: 4 | 6, src: string, ecn: number;
  if (t === EtherType.IPV4) {
    if (p + 20 > b.length) return { kind: 'notours' };
    const hl = (b[p]! & 0xf) * 4;
    // only what the data path looks at: version, protocol, header length, destination, fragment bits
    if (b[p]! >> 4 !== 4 || b[p + 9] !== Proto.UDP || hl < 20 || !b.subarray(p + 16, p + 20).equals(c.local4) || (b.readUInt16BE(p + 6) & 0x3fff)) {
      return { kind: 'notours' };
    }
    u = p + hl;
    l3len = (b.readUInt16BE(p + 2) - hl) >>> 0;
    family = 4;
    src = b.subarray(p + 12, p + 16).toString('hex');
    ecn = b[p + 1]! & 3;
  } else if (t === EtherType.IPV6) {
    if (p + 40 > b.length) return { kind: 'notours' };
    if (b[p]! >> 4 !== 6 || b[p + 6] !== Proto.UDP || !b.subarray(p + 24, p + 40).equals(c.local6)) return { kind: 'notours' };
    u = p + 40;
    l3len = b.readUInt16BE(p + 4);
    family = 6;
    src = b.subarray(p + 8, p + 24).toString('hex');
    ecn = (b[p + 1]! >> 4) & 3;
  } else {
    return { kind: 'notours' };
  }
  if (u + 8 > b.length || b.readUInt16BE(u + 2) !== c.port) return { kind: 'notours' };
  if (u + 8 + 8 + 14 > b.length || !(b[u + 8]! & 0x08)) return { kind: 'malformed' };
  const ulen = b.readUInt16BE(u + 4);
  if (ulen !== l3len || u + ulen !== b.length) return { kind: 'malformed' };
  return { kind: 'ours', vni: b.readUIntBE(u + 12, 3), family, src, innerOff: u + 16, ecn };
}

/**
 * RFC 6040 decapsulation, normal mode (section 4.2), as a model of what
 * must reach the endpoint: the inner frame with its ECN field set from the
 * outer one, or 'drop' (outer CE over a Not-ECT inner packet). An inner IPv4
 * header keeps its checksum right by RFC 1624's HC' = ~(~HC + ~m + m'),
 * which also keeps a wrong one wrong. Inner frames too short for an IP
 * header, or not IPv4/IPv6 right after the Ethernet header, are left as they are.
 */
export function ecnDecap(outer: number, inner: Buffer): { frame: Buffer; ce: boolean } | 'drop' {
  const t = inner.length >= 14 ? inner.readUInt16BE(12) : 0;
  const v4 = t === EtherType.IPV4 && inner.length >= 34, v6 = t === EtherType.IPV6 && inner.length >= 54;
  if (!v4 && !v6) return { frame: inner, ce: false };
  const cur = v4 ? inner[15]! & 3 : (inner[15]! >> 4) & 3;
  const [NOT_ECT, ECT1, ECT0, CE] = [0, 1, 2, 3];
  if (cur === NOT_ECT) return outer === CE ? 'drop' : { frame: inner, ce: false };
  const want = outer === CE ? CE : outer === ECT1 && cur === ECT0 ? ECT1 : cur;
  if (want === cur) return { frame: inner, ce: false };
  const out = Buffer.from(inner);
  if (v4) {
    out[15] = (out[15]! & ~3) | want;
    const words = Buffer.alloc(6); // ~HC, ~m, m'
    words.writeUInt16BE(~inner.readUInt16BE(24) & 0xffff, 0);
    words.writeUInt16BE(~inner.readUInt16BE(14) & 0xffff, 2);
    out.copy(words, 4, 14, 16);
    out.writeUInt16BE(checksum(words), 24);
  } else {
    out[15] = (out[15]! & ~0x30) | (want << 4);
  }
  return { frame: out, ce: want === CE };
}

export const hexIp = (a: string) => (a.includes(':') ? ip6(a) : ip4(a)).toString('hex');

// ---------------------------------------------------------------------------
// Output validators. Each returns an error string, or undefined if valid.
// ---------------------------------------------------------------------------
const csumOk = (...b: Buffer[]) => sum16(...b) === 0xffff;

export interface EncapExpect {
  vni: number;
  inner: Buffer;
  /** Allowed outer destinations (hex of the address bytes). */
  dsts: ReadonlySet<string>;
  sportRange: [number, number];
}

export function checkEncap(o: Buffer, e: EncapExpect): string | undefined {
  if (o.length < 14) return 'shorter than Ethernet';
  const t = o.readUInt16BE(12);
  const v6 = t === EtherType.IPV6;
  if (!v6 && t !== EtherType.IPV4) return `outer ethertype ${t.toString(16)}`;
  const ovh = v6 ? 70 : 50;
  if (o.length !== e.inner.length + ovh) return `length ${o.length} != inner ${e.inner.length} + ${ovh}`;
  if (!o.subarray(ovh).equals(e.inner)) return 'inner frame differs from the input';
  if (!o.subarray(6, 12).equals(mac(MAC.uly))) return 'outer source MAC is not the underlay NIC';
  if (!o.subarray(0, 6).equals(mac(MAC.peer)) && !o.subarray(0, 6).equals(mac(MAC.peerB))) return 'outer destination MAC is not a resolved next hop';
  let u: number, dst: string;
  if (v6) {
    if (o[14]! >> 4 !== 6) return 'IPv6 version';
    if (o.readUInt16BE(18) !== o.length - 54) return 'IPv6 payload length';
    if (o[20] !== Proto.UDP) return 'IPv6 next header';
    if (o[21] === 0) return 'hop limit 0';
    if (!o.subarray(22, 38).equals(ip6(ADDR.local6))) return 'IPv6 source is not the local VTEP';
    dst = o.subarray(38, 54).toString('hex');
    u = 54;
  } else {
    if (o[14] !== 0x45) return `IPv4 version/IHL ${o[14]}`;
    if (o.readUInt16BE(16) !== o.length - 14) return 'IPv4 total length';
    if (o.readUInt16BE(20) & 0xbfff) return 'IPv4 MF/offset/reserved set';
    if (o[22] === 0) return 'TTL 0';
    if (o[23] !== Proto.UDP) return 'IPv4 protocol';
    if (!csumOk(o.subarray(14, 34))) return 'IPv4 header checksum';
    if (!o.subarray(26, 30).equals(ip4(ADDR.local4))) return 'IPv4 source is not the local VTEP';
    dst = o.subarray(30, 34).toString('hex');
    u = 34;
  }
  if (!e.dsts.has(dst)) return `outer destination ${dst} is not a VTEP of VNI ${e.vni}`;
  const sport = o.readUInt16BE(u);
  if (sport < e.sportRange[0] || sport >= Math.max(e.sportRange[1], e.sportRange[0] + 1)) return `UDP source port ${sport}`;
  if (o.readUInt16BE(u + 2) !== 4789) return 'UDP destination port';
  if (o.readUInt16BE(u + 4) !== o.length - u) return 'UDP length';
  const ck = o.readUInt16BE(u + 6);
  if (ck !== 0) {
    const ph = v6 ? pseudo6(fmt6(o.subarray(22, 38)), fmt6(o.subarray(38, 54)), Proto.UDP, o.length - u) : pseudo4b(o.subarray(26, 30), o.subarray(30, 34), o.length - u);
    if (!csumOk(ph, o.subarray(u)) && !(v6 && csumOk(ph, withInnerChecksumRight(o.subarray(u))))) return 'UDP checksum';
  }
  if (o[u + 8] !== 0x08 || o.readUIntBE(u + 9, 3) !== 0 || o[u + 15] !== 0) return 'VXLAN flags/reserved';
  if (o.readUIntBE(u + 12, 3) !== e.vni) return `VNI ${o.readUIntBE(u + 12, 3)} != ${e.vni}`;
  return undefined;
}

/**
 * The UDP datagram with its inner TCP/UDP checksum made right, where the
 * inner frame is one whose outer IPv6 checksum xvtep derives from the inner
 * pseudo header (bpf/common.h lco_sum: the conditions mirrored): the outer
 * checksum of such a frame is the one it has once the inner checksum is
 * completed, which is what a CHECKSUM_PARTIAL frame gets. Else the datagram.
 */
export function withInnerChecksumRight(udpSeg: Buffer): Buffer {
  const f = Buffer.from(udpSeg);
  const i = 16; // inner Ethernet
  if (f.length < i + 14) return udpSeg;
  const type = f.readUInt16BE(i + 12), l3 = i + 14;
  let l4: number, proto: number, ph: Buffer;
  if (type === EtherType.IPV4) {
    if (f.length < l3 + 20 || f[l3] !== 0x45 || f.readUInt16BE(l3 + 6) & 0x3fff) return udpSeg;
    proto = f[l3 + 9]!;
    const tot = f.readUInt16BE(l3 + 2);
    if (tot < 20 || l3 + tot !== f.length) return udpSeg;
    l4 = l3 + 20;
    ph = pseudo4b(f.subarray(l3 + 12, l3 + 16), f.subarray(l3 + 16, l3 + 20), f.length - l4, proto);
  } else if (type === EtherType.IPV6) {
    if (f.length < l3 + 40 || f[l3]! >> 4 !== 6) return udpSeg;
    proto = f[l3 + 6]!;
    if (l3 + 40 + f.readUInt16BE(l3 + 4) !== f.length) return udpSeg;
    l4 = l3 + 40;
    ph = pseudo6(fmt6(f.subarray(l3 + 8, l3 + 24)), fmt6(f.subarray(l3 + 24, l3 + 40)), proto, f.length - l4);
  } else {
    return udpSeg;
  }
  const at = proto === Proto.TCP ? l4 + 16 : proto === Proto.UDP ? l4 + 6 : -1;
  if (at < 0 || f.length - l4 < (proto === Proto.TCP ? 20 : 8) || (proto === Proto.UDP && f.readUInt16BE(at) === 0)) return udpSeg;
  f.writeUInt16BE(0, at);
  f.writeUInt16BE(~sum16(ph, f.subarray(l4)) & 0xffff, at);
  return f;
}

function fmt6(b: Buffer): string {
  const w: string[] = [];
  for (let i = 0; i < 16; i += 2) w.push(b.readUInt16BE(i).toString(16));
  return w.join(':');
}

function pseudo4b(src: Buffer, dst: Buffer, len: number, proto: number = Proto.UDP): Buffer {
  const b = Buffer.alloc(12);
  src.copy(b, 0);
  dst.copy(b, 4);
  b[9] = proto;
  b.writeUInt16BE(len, 10);
  return b;
}

/** Proxy ARP reply to request `req`, answering with `neighMac` (the VNI's xv_neigh entry). */
export function checkArpReply(o: Buffer, req: Buffer, neighMac: Buffer | undefined): string | undefined {
  if (!neighMac) return 'ARP reply for an address not proxied in this VNI';
  if (o.length !== req.length) return 'ARP reply length differs from the request';
  const sha = req.subarray(22, 28), spa = req.subarray(28, 32), tpa = req.subarray(38, 42);
  if (!o.subarray(0, 6).equals(sha)) return 'ARP reply not addressed to the requester';
  if (!o.subarray(6, 12).equals(neighMac)) return 'ARP reply Ethernet source';
  if (o.readUInt16BE(12) !== EtherType.ARP) return 'ethertype';
  if (o.readUInt16BE(14) !== 1 || o.readUInt16BE(16) !== EtherType.IPV4 || o[18] !== 6 || o[19] !== 4 || o.readUInt16BE(20) !== 2) return 'ARP header';
  if (!o.subarray(22, 28).equals(neighMac) || !o.subarray(28, 32).equals(tpa) || !o.subarray(32, 38).equals(sha) || !o.subarray(38, 42).equals(spa)) return 'ARP addresses';
  if (!o.subarray(42).equals(req.subarray(42))) return 'bytes after the ARP body changed';
  // (a request whose ARP sender address is multicast gets its reply sent to
  // that address, as Linux's own arp_process() does: it only goes back out of
  // the requesting endpoint's interface)
  return undefined;
}

/** Proxy NA for NS `req`. */
export function checkNa(o: Buffer, req: Buffer, neighMac: Buffer | undefined): string | undefined {
  if (!neighMac) return 'NA for an address not proxied in this VNI';
  if (o.length !== req.length || o.length < 14 + 40 + 32) return 'NA length';
  if (!o.subarray(0, 6).equals(req.subarray(54 + 26, 54 + 32))) return 'NA not addressed to the solicitor\'s link-layer address';
  if (!o.subarray(6, 12).equals(neighMac)) return 'NA Ethernet source';
  if (o.readUInt16BE(12) !== EtherType.IPV6 || o.readUInt32BE(14) !== 0x60000000) return 'NA IPv6 first word';
  if (o.readUInt16BE(18) !== 32 || o[20] !== Proto.ICMPV6 || o[21] !== 255) return 'NA IPv6 header';
  const target = req.subarray(54 + 8, 54 + 24);
  if (!o.subarray(22, 38).equals(target)) return 'NA source is not the target';
  if (!o.subarray(38, 54).equals(req.subarray(22, 38))) return 'NA not sent to the solicitor';
  if (o[54] !== 136 || o[55] !== 0 || o.readUInt32BE(58) !== 0x60000000) return 'NA type/code/flags';
  if (!o.subarray(62, 78).equals(target) || o[78] !== 2 || o[79] !== 1 || !o.subarray(80, 86).equals(neighMac)) return 'NA target/option';
  if (!csumOk(pseudo6(fmt6(o.subarray(22, 38)), fmt6(o.subarray(38, 54)), Proto.ICMPV6, 32), o.subarray(54, 86))) return 'NA checksum';
  if (!o.subarray(86).equals(req.subarray(86))) return 'bytes after the NA changed';
  return undefined;
}

/** ICMP frag-needed / ICMPv6 packet-too-big back to the sender of `req`. */
export function checkTooBig(o: Buffer, req: Buffer, mtus: readonly number[]): string | undefined {
  const t = req.readUInt16BE(12);
  if (!o.subarray(0, 6).equals(req.subarray(6, 12)) || !o.subarray(6, 12).equals(req.subarray(0, 6))) return 'too-big MACs not swapped';
  if (o.readUInt16BE(12) !== t) return 'too-big ethertype';
  if (t === EtherType.IPV4) {
    if (o.length !== 14 + 20 + 8 + 64) return `frag-needed length ${o.length}`;
    if (o[14] !== 0x45 || o.readUInt16BE(16) !== 92 || o[23] !== Proto.ICMP || !csumOk(o.subarray(14, 34))) return 'frag-needed IPv4 header';
    if (!o.subarray(26, 30).equals(req.subarray(30, 34)) || !o.subarray(30, 34).equals(req.subarray(26, 30))) return 'frag-needed addresses';
    if (o[34] !== 3 || o[35] !== 4 || !csumOk(o.subarray(34, 106))) return 'frag-needed type/code/checksum';
    if (!mtus.includes(o.readUInt16BE(40))) return `frag-needed MTU ${o.readUInt16BE(40)}`;
    if (!o.subarray(42, 106).equals(req.subarray(14, 78))) return 'frag-needed quote';
    if (!(req.readUInt16BE(20) & 0x4000)) return 'frag-needed for a packet without DF';
    return undefined;
  }
  if (t === EtherType.IPV6) {
    if (o.length !== 14 + 40 + 8 + 64) return `PTB length ${o.length}`;
    if (o.readUInt32BE(14) !== 0x60000000 || o.readUInt16BE(18) !== 72 || o[20] !== Proto.ICMPV6) return 'PTB IPv6 header';
    if (!o.subarray(22, 38).equals(req.subarray(38, 54)) || !o.subarray(38, 54).equals(req.subarray(22, 38))) return 'PTB addresses';
    if (o[54] !== 2 || o[55] !== 0) return 'PTB type/code';
    if (!mtus.includes(o.readUInt32BE(58))) return `PTB MTU ${o.readUInt32BE(58)}`;
    if (!csumOk(pseudo6(fmt6(o.subarray(22, 38)), fmt6(o.subarray(38, 54)), Proto.ICMPV6, 72), o.subarray(54))) return 'PTB checksum';
    if (!o.subarray(62).equals(req.subarray(14, 78))) return 'PTB quote';
    return undefined;
  }
  return 'too-big reply to a non-IP frame';
}

// ---------------------------------------------------------------------------
// Counter deltas.
// ---------------------------------------------------------------------------
export interface Delta {
  rx: number; rxBytes: number; tx: number; txBytes: number;
  drop: number[]; event: number[];
  /** slot -> drop reasons that moved there */
  dropSlots: Map<number, number[]>;
}

export const D = Object.fromEntries(DROP_REASONS.map((r, i) => [r, i])) as Record<(typeof DROP_REASONS)[number], number>;
export const E = Object.fromEntries(EVENTS.map((r, i) => [r, i])) as Record<(typeof EVENTS)[number], number>;

export function delta(before: readonly StatsValue[], after: readonly StatsValue[], slots: readonly number[]): Delta {
  const d: Delta = { rx: 0, rxBytes: 0, tx: 0, txBytes: 0, drop: new Array(DROP_SLOTS).fill(0), event: new Array(EVENT_SLOTS).fill(0), dropSlots: new Map() };
  for (let s = 0; s < slots.length; s++) {
    const a = before[s]!, b = after[s]!;
    d.rx += b.rxPackets - a.rxPackets;
    d.rxBytes += b.rxBytes - a.rxBytes;
    d.tx += b.txPackets - a.txPackets;
    d.txBytes += b.txBytes - a.txBytes;
    for (let i = 0; i < EVENT_SLOTS; i++) d.event[i] += b.event[i]! - a.event[i]!;
    for (let i = 0; i < DROP_SLOTS; i++) {
      const x = b.drop[i]! - a.drop[i]!;
      if (x) {
        d.drop[i] += x;
        const l = d.dropSlots.get(slots[s]!) ?? [];
        l.push(i);
        d.dropSlots.set(slots[s]!, l);
      }
    }
  }
  return d;
}

export const sum = (a: readonly number[]) => a.reduce((x, y) => x + y, 0);

/** Events a program may move besides the ones its verdict accounts for (learning side effects). */
export const LEARN_EVENTS = [E.fdb_full, E.learn_new, E.learn_move, E.static_conflict, E.learn_limit, E.learn_ring_full];

export function otherEvents(d: Delta, allowed: readonly number[]): string | undefined {
  for (let i = 0; i < EVENT_SLOTS; i++) {
    if (d.event[i] && !allowed.includes(i)) return `unexpected event ${EVENTS[i] ?? i} +${d.event[i]}`;
    if (d.event[i]! < 0) return `event ${EVENTS[i] ?? i} went down`;
  }
  return undefined;
}

export function dropName(i: number): string {
  return DROP_REASONS[i] ?? `drop${i}`;
}

/**
 * The configuration every reliability test of the data path runs against:
 * VNI A (1024, slot 5) with endpoints ep1+ep2, peers peer4/peer6, learning,
 * proxy ARP+ND, a flood list (locals ep1, ep2; remotes peer4, peer6) and
 * flood ports; VNI B (2048, slot 6) with endpoint ep3, any peer accepted,
 * no learning, proxy ARP only, flood ports but no flood list.
 */
export function setupVnis(env: DpEnv): void {
  const { ep1, ep2, ep3 } = env.ifx;
  env.vni(VNI_A, { slot: SLOT_A, learning: true, proxyArp: true, proxyNd: true, endpoints: [ep1, ep2], peers: [ADDR.peer4, ADDR.peer6] });
  env.vni(VNI_B, { slot: SLOT_B, learning: false, allowUnknownPeers: true, proxyArp: true, endpoints: [ep3], peers: [ADDR.peer4b] });
  env.staticLocal(VNI_A, MAC.ep1c, ep1);
  env.staticLocal(VNI_A, MAC.ep2c, ep2);
  env.staticRemote(VNI_A, MAC.rem, ADDR.peer4);
  env.staticRemote(VNI_A, MAC.rem2, ADDR.peer6);
  env.staticLocal(VNI_B, MAC.ep3c, ep3);
  env.staticRemote(VNI_B, MAC_B_REMOTE, ADDR.peer4b);
  env.dp.neighbors.set({ vni: VNI_A, ip: NEIGH.ip4, mac: NEIGH.macA4 });
  env.dp.neighbors.set({ vni: VNI_A, ip: NEIGH.ip6, mac: NEIGH.macA6 });
  env.dp.neighbors.set({ vni: VNI_B, ip: NEIGH.ip4, mac: NEIGH.macB4 });
  env.dp.flood.set({ vni: VNI_A, remotes: [ADDR.peer4, ADDR.peer6], locals: [ep1, ep2] });
  env.floodPorts(VNI_A, [ep1, ep2]);
  env.floodPorts(VNI_B, [ep3]);
  env.dp.bumpGeneration();
}

export const STATIC_FDB = [
  { vni: VNI_A, mac: MAC.ep1c }, { vni: VNI_A, mac: MAC.ep2c }, { vni: VNI_A, mac: MAC.rem }, { vni: VNI_A, mac: MAC.rem2 },
  { vni: VNI_B, mac: MAC.ep3c }, { vni: VNI_B, mac: MAC_B_REMOTE },
];
