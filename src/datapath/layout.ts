// Codecs for every map of the data path. Mirrors bpf/include/xvtep_abi.h
// field for field (codec field names are the C names in camelCase); ABI at
// the end lists what is mirrored by C name, and test/datapath/abi.test.ts
// checks every entry against the built object's BTF and the header's macros,
// so the two cannot drift apart silently.
import {
  array, be16, bytes, formatIPv4, formatIPv6, mac, pad, parseIP, struct, u16, u32, u64n, u8,
  type ValueOf,
} from '../bpf/index.js';

export const LAYOUT_VERSION = 2;

export const AF_INET = 4;
export const AF_INET6 = 6;
export type Family = 4 | 6;

/** A VTEP or overlay address as the maps hold it: 16 bytes + family. */
export interface Addr {
  family: Family;
  address: string;
}

export function formatAddr(buf: Buffer, family: number): string {
  return family === AF_INET ? formatIPv4(buf, 0) : formatIPv6(buf, 0);
}

const addr16Memo = new Map<string, Buffer>();

/** The 16-byte map form of an address. Shared: copy it, never write to it. */
export function addrBytes(address: string): Buffer {
  let b = addr16Memo.get(address);
  if (!b) {
    b = Buffer.alloc(16);
    parseIP(address).bytes.copy(b);
    if (addr16Memo.size >= 4096) addr16Memo.clear();
    addr16Memo.set(address, b);
  }
  return b;
}

export function familyOf(address: string): Family {
  return parseIP(address).family;
}

export const DfPolicy = { unset: 0, set: 1, inherit: 2 } as const;

export const configCodec = struct({
  layoutVersion: u32,
  underlayIfindex: u32,
  udpPort: be16,
  underlayMtu: u16,
  srcPortMin: u16,
  srcPortMax: u16,
  ttl: u8,
  tos: u8,
  tosInherit: u8,
  dfPolicy: u8,
  udp6ZeroCsum: u8,
  epCsumComplete: u8,
  udp6ZeroCsumRx: u8,
  /** 1: the data path writes xv_learn_ring records (someone consumes them). */
  learnEvents: u8,
  localIp4: bytes(4),
  fdbRefreshMs: u32,
  localIp6: bytes(16),
  nhCacheMs: u32,
  /** Not a setting: attachUnderlay() writes it, configure() keeps it (xvtep_maps.h). */
  rxGroIfindex: u32,
  /** Not a setting either: ensureGso6Device() writes it, configure() keeps it. */
  gso6Ifindex: u32,
  /** Learned entries allowed over all VNIs; 0 = no cap. */
  learnMaxTotal: u32,
  /** Data path counts up, the control plane's ageing sweep recounts (Datapath.ageLearned). */
  learnedTotal: u32,
  /** Learning events the data path lost to a full xv_learn_ring (counts up only; configure() keeps it). */
  learnRingDrops: u32,
});
export type ConfigValue = ValueOf<typeof configCodec>;

export const VniFlag = { NO_LEARN: 1, ALLOW_UNKNOWN_PEER: 2, PROXY_ARP: 4, PROXY_ND: 8 } as const;
/** learnMax: cap on the VNI's learned entries (0 = none); learned: as counted (see learnedTotal). */
export const vniInfoCodec = struct({ statsSlot: u32, flags: u32, learnMax: u32, learned: u32 });
export type VniInfo = ValueOf<typeof vniInfoCodec>;

/** xv_ep and xv_peer carry copies of their VNI's slot and flags: one lookup on the hot path. */
export const epInfoCodec = struct({ vni: u32, statsSlot: u32, vniFlags: u32, _reserved: pad(4) });

export const FdbFlag = { STATIC: 1, LOCAL: 2 } as const;
export const fdbKeyCodec = struct({ vni: u32, mac, _pad: pad(2) });
export const fdbEntryCodec = struct({
  remote: bytes(16),
  ifindex: u32,
  family: u8,
  flags: u8,
  _pad: pad(2),
  updatedNs: u64n,
});
export type FdbKey = ValueOf<typeof fdbKeyCodec>;
export type FdbEntryValue = ValueOf<typeof fdbEntryCodec>;

export const addrKeyCodec = struct({ vni: u32, family: u32, addr: bytes(16) });
export const peerValCodec = struct({ statsSlot: u32, vniFlags: u32 });
export const neighValCodec = struct({ mac, _pad: pad(2) });

export const BUM_MAX_REMOTE4 = 32;
export const BUM_MAX_REMOTE6 = 16;
export const BUM_MAX_LOCAL = 64;
export const bumCodec = struct({
  nRemote4: u32,
  nRemote6: u32,
  nLocal: u32,
  _pad: pad(4),
  remote4: array(bytes(4), BUM_MAX_REMOTE4),
  remote6: array(bytes(16), BUM_MAX_REMOTE6),
  local: array(u32, BUM_MAX_LOCAL),
});

export const BCAST_PORTS = 256;

/** Drop reasons, index = enum xv_drop_reason. Names are the metric labels. */
export const DROP_REASONS = [
  'unknown_vni', 'unknown_peer', 'malformed', 'no_endpoint', 'mtu_exceeded', 'fib_miss',
  'redirect_failed', 'hairpin', 'encap_failed', 'no_local_addr', 'bad_src_mac', 'ecn_not_ect',
  'udp6_zero_csum', 'udp6_bad_csum',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Events, index = enum xv_event. */
export const EVENTS = [
  'fdb_full', 'neigh_unresolved', 'learn_new', 'learn_move', 'static_conflict', 'proxy_arp',
  'proxy_nd', 'icmp_too_big', 'flood', 'local_fwd', 'xdp_to_tc', 'not_configured', 'unknown_ep',
  'flood_skipped', 'rx_gro', 'ecn_ce', 'learn_limit', 'learn_ring_full',
] as const;
export type EventName = (typeof EVENTS)[number];

export const DROP_SLOTS = 16;
export const EVENT_SLOTS = 32;
export const statsCodec = struct({
  rxPackets: u64n,
  rxBytes: u64n,
  txPackets: u64n,
  txBytes: u64n,
  drop: array(u64n, DROP_SLOTS),
  event: array(u64n, EVENT_SLOTS),
});
export type StatsValue = ValueOf<typeof statsCodec>;

/**
 * xv_learn_ring's records: this host's own learned MACs changed. new: learned
 * on an endpoint; move: now behind another endpoint (or back from a remote
 * VTEP); left: re-learned behind a remote VTEP (ifindex 0).
 */
export const LearnKind = { NEW: 1, MOVE: 2, LEFT: 3 } as const;
export const LEARN_RING_BYTES = 1 << 18;
export const learnEventCodec = struct({ vni: u32, ifindex: u32, mac, kind: u8, _pad: pad(1) });
export type LearnEventValue = ValueOf<typeof learnEventCodec>;

/** Slot 0 of xv_stats counts what has no VNI. */
export const GLOBAL_STATS_SLOT = 0;

export const MapName = {
  config: 'xv_config', vni: 'xv_vni', ep: 'xv_ep', fdb: 'xv_fdb', peer: 'xv_peer', neigh: 'xv_neigh',
  bum: 'xv_bum', devs: 'xv_devs', uplink: 'xv_uplink', bcast: 'xv_bcast', stats: 'xv_stats',
  learnRing: 'xv_learn_ring',
} as const;

export const ProgName = {
  xdpUnderlay: 'xv_xdp_underlay', tcUnderlay: 'xv_tc_underlay', xdpEndpoint: 'xv_xdp_endpoint',
  xdpEndpointFrags: 'xv_xdp_ep_frags', tcEndpoint: 'xv_tc_endpoint',
} as const;

const prefixed = (prefix: string, o: Record<string, number>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [prefix + k.toUpperCase(), v]));

/**
 * Everything above that mirrors bpf/include/xvtep_abi.h, by its C name.
 * structs: each codec's fields against the BTF struct's members (name,
 * offset, size, byte order); enums: names[i] is the enumerator `prefix +
 * NAME` = i, and `prefix + _MAX` = max; constants: the header's macros, and
 * every macro of a family (same prefix) must be among them.
 */
export const ABI = {
  structs: {
    xv_config: configCodec, xv_vni_info: vniInfoCodec, xv_ep_info: epInfoCodec, xv_fdb_key: fdbKeyCodec,
    xv_fdb_entry: fdbEntryCodec, xv_addr_key: addrKeyCodec, xv_peer_val: peerValCodec, xv_neigh_val: neighValCodec,
    xv_bum: bumCodec, xv_stats: statsCodec, xv_learn_event: learnEventCodec,
  },
  enums: {
    xv_drop_reason: { prefix: 'XV_DROP_', names: DROP_REASONS, max: DROP_SLOTS },
    xv_event: { prefix: 'XV_EV_', names: EVENTS, max: EVENT_SLOTS },
  },
  constants: {
    XVTEP_LAYOUT_VERSION: LAYOUT_VERSION, XV_AF_INET: AF_INET, XV_AF_INET6: AF_INET6,
    XV_BUM_MAX_REMOTE4: BUM_MAX_REMOTE4, XV_BUM_MAX_REMOTE6: BUM_MAX_REMOTE6, XV_BUM_MAX_LOCAL: BUM_MAX_LOCAL,
    XV_MAX_BCAST_PORTS: BCAST_PORTS, XV_LEARN_RING_BYTES: LEARN_RING_BYTES,
    ...prefixed('XV_LEARN_', LearnKind),
    ...prefixed('XV_VNI_F_', VniFlag), ...prefixed('XV_FDB_F_', FdbFlag), ...prefixed('XV_DF_', DfPolicy),
  } as Record<string, number>,
  families: ['XV_VNI_F_', 'XV_FDB_F_', 'XV_DF_', 'XV_LEARN_'],
} as const;
