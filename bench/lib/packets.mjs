// Frames the generators send. Inner frames are 64 bytes (Eth + IPv4 + ICMP
// echo + 22 bytes): ICMP because its checksum is always complete, so an XDP
// encap path may forward it under the default configuration (see
// inner_parse() in bpf/include/parse.h).
export const INNER_LEN = 64;
export const OUTER_LEN = 50;

const macBytes = (m) => Buffer.from(m.replaceAll(':', ''), 'hex');
const ipBytes = (a) => Buffer.from(a.split('.').map(Number));

function csum(buf) {
  let s = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) s += buf.readUInt16BE(i);
  if (buf.length & 1) s += buf[buf.length - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
}

function ipv4(src, dst, proto, payloadLen) {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payloadLen, 2);
  h.writeUInt16BE(0x4000, 6); // DF
  h[8] = 64;
  h[9] = proto;
  ipBytes(src).copy(h, 12);
  ipBytes(dst).copy(h, 16);
  h.writeUInt16BE(csum(h), 10);
  return h;
}

/** Eth/IPv4/ICMP echo request of exactly INNER_LEN bytes. */
export function innerFrame({ dmac, smac, src, dst }) {
  const icmp = Buffer.alloc(INNER_LEN - 14 - 20);
  icmp[0] = 8;
  icmp.writeUInt16BE(0x7862, 4);
  icmp.writeUInt16BE(1, 6);
  icmp.fill(0x5a, 8);
  icmp.writeUInt16BE(csum(icmp), 2);
  const eth = Buffer.concat([macBytes(dmac), macBytes(smac), Buffer.from([0x08, 0x00])]);
  return Buffer.concat([eth, ipv4(src, dst, 1, icmp.length), icmp]);
}

/** The 50-byte outer header (Eth/IPv4/UDP/VXLAN) for a payload of innerLen bytes. */
export function outerHeader({ dmac, smac, src, dst, sport = 49152, dport = 4789, vni, innerLen = INNER_LEN }) {
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(sport, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(8 + 8 + innerLen, 4); // checksum 0: allowed for IPv4
  const vx = Buffer.alloc(8);
  vx[0] = 0x08;
  vx.writeUInt32BE(vni << 8, 4);
  const eth = Buffer.concat([macBytes(dmac), macBytes(smac), Buffer.from([0x08, 0x00])]);
  return Buffer.concat([eth, ipv4(src, dst, 17, 16 + innerLen), udp, vx]);
}

export function vxlanFrame(outer, inner) {
  return Buffer.concat([outerHeader({ ...outer, innerLen: inner.length }), inner]);
}

/** Offsets the flow-spreading generator writes (see bench/bpf/gen.bpf.c). */
export const OFF = {
  outerSport: 34,          // be16 outer UDP source port
  innerSrcMacLast: 50 + 11, // last byte of the inner source MAC
  srcMacLast: 11,          // last byte of an unencapsulated frame's source MAC
};
