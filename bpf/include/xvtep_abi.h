/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xvtep ABI: every key and value layout, enum and constant shared between the
 * eBPF data path and the TypeScript control plane; the maps themselves are in
 * xvtep_maps.h. This file is the single source of truth for the codecs in
 * src/datapath/layout.ts, and test/datapath/abi.test.ts checks them against
 * the built object's BTF field by field. Any change to a layout below MUST
 * bump XVTEP_LAYOUT_VERSION.
 *
 * Conventions
 *  - "host" = host byte order (little endian on x86/arm64), "net" = network
 *    byte order (big endian).
 *  - IP addresses are always 16-byte fields in network order. An IPv4 address
 *    occupies bytes 0..3 and bytes 4..15 MUST be zero (keys are compared
 *    bytewise). A separate `family` field (4 or 6, XV_AF_*) says which.
 *  - Every padding/reserved field MUST be written as zero: keys are hashed
 *    bytewise and reserved value fields may gain meaning later.
 *  - VNIs are host-order u32 holding the 24-bit VNI (0..16777215).
 *  - Timestamps are CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_coarse_ns,
 *    jiffy resolution), i.e. comparable with clock_gettime(CLOCK_MONOTONIC).
 *
 * Layout version: the programs only act when
 *   xv_config[0].layout_version == XVTEP_LAYOUT_VERSION;
 * otherwise every hook passes traffic untouched (XDP_PASS / TC_ACT_OK) and
 * counts XV_EV_NOT_CONFIGURED in slot 0. The object also exports the
 * constant as `xv_layout_version` in .rodata (read it from the ELF/skeleton
 * before load with bpf_map__initial_value() to refuse an incompatible object).
 */
#ifndef XVTEP_ABI_H
#define XVTEP_ABI_H

#include <linux/types.h>
#include <linux/bpf.h>

#define XVTEP_LAYOUT_VERSION 2

#define XV_AF_INET  4
#define XV_AF_INET6 6

/* Default max_entries; all can be overridden with bpf_map__set_max_entries()
 * before load, except where noted. */
#define XV_MAX_VNIS        4096
#define XV_MAX_FDB         65536
#define XV_MAX_PEERS       16384
#define XV_MAX_EPS         4096
#define XV_MAX_NEIGH       65536
#define XV_MAX_STAT_SLOTS  4097   /* slot 0 = global + 4096 VNIs */
#define XV_MAX_BCAST_PORTS 256    /* inner devmap size: fixed, see xv_bcast */

/* Fixed-size arrays inside xv_bum values (ABI, not overridable). */
#define XV_BUM_MAX_REMOTE4 32
#define XV_BUM_MAX_REMOTE6 16
#define XV_BUM_MAX_LOCAL   64

/* ------------------------------------------------------------------------ */
/* xv_config: ARRAY, key u32 (=0), 1 entry, value struct xv_config (72 B)   */
/*
 * off size field              order  meaning
 *   0   4  layout_version     host   must be XVTEP_LAYOUT_VERSION
 *   4   4  underlay_ifindex   host   underlay NIC (fib lookups start here)
 *   8   2  udp_port           net    VXLAN UDP dst port (4789, 8472, ...)
 *  10   2  underlay_mtu       host   L3 MTU of the underlay; 0 = 1500
 *  12   2  src_port_min       host   outer UDP sport range [min, max);
 *  14   2  src_port_max       host     both 0 = kernel default 32768..60999
 *  16   1  ttl                -      outer TTL/hop limit; 0 = 64
 *  17   1  tos                -      fixed outer DSCP (its ECN bits: always the inner's, RFC 6040)
 *  18   1  tos_inherit        -      1 = copy the inner DSCP too
 *  19   1  df_policy          -      XV_DF_UNSET / XV_DF_SET / XV_DF_INHERIT
 *  20   1  udp6_zero_csum     -      1 = outer IPv6 UDP checksum always 0
 *                                    (RFC 6935; peers need udp6zerocsumrx).
 *                                    0: computed for every frame,
 *                                    CHECKSUM_PARTIAL inners included
 *                                    (lib/csum6.h), GSO ones through the
 *                                    gso6_ifindex device
 *  21   1  ep_csum_complete   -      1 = frames from endpoints always carry
 *                                    complete L4 checksums (container-side
 *                                    tx-checksumming off); lets the
 *                                    endpoint XDP programs forward TCP/UDP.
 *                                    0 (default): XDP only forwards
 *                                    ICMP/ICMPv6/non-IP and passes the
 *                                    rest to TC, because an XDP redirect
 *                                    drops CHECKSUM_PARTIAL state and the
 *                                    receiver would see a bad checksum
 *  22   1  udp6_zero_csum_rx  -      1 = accept IPv6 VXLAN datagrams with
 *                                    a zero UDP checksum (the kernel's
 *                                    udp6zerocsumrx); 0: drop them
 *                                    (udp6_zero_csum). Non-zero ones are
 *                                    always verified (udp6_bad_csum)
 *  23   1  learn_events       -      1 = write xv_learn_ring records (the
 *                                    control plane sets it while it
 *                                    consumes them: with a cluster); 0 =
 *                                    none, and nothing counted as lost.
 *                                    Was _pad0 (always 0)
 *  24   4  local_ip4          net    local VTEP IPv4, 0 = no IPv4 underlay
 *  28   4  fdb_refresh_ms     host   min interval between timestamp
 *                                    refreshes of a learned entry; 0 = 1000
 *  32  16  local_ip6          net    local VTEP IPv6, all-zero = none
 *  48   4  nh_cache_ms        host   lifetime of cached bpf_fib_lookup()
 *                                    results (next-hop MACs + egress dev)
 *                                    per remote VTEP; 0 = 100 ms,
 *                                    XV_NH_CACHE_OFF = no caching
 *  52   4  rx_gro_ifindex     host   the underlay whose tcx ingress runs
 *                                    xv_tc_underlay next to xv_xdp_underlay
 *                                    (attach writes it, configure keeps it);
 *                                    XDP on that device hands unicast TCP
 *                                    to the stack's GRO instead of
 *                                    redirecting it (underlay.h); 0 = off
 *  56   4  gso6_ifindex       host   a kernel vxlan device in external
 *                                    (collect_md) mode that GSO frames
 *                                    to IPv6 peers are handed to when the
 *                                    outer UDP checksum is on: only the
 *                                    kernel's segmentation can checksum
 *                                    each segment (bpf_skb_adjust_room
 *                                    can't ask for SKB_GSO_UDP_TUNNEL_CSUM);
 *                                    attach writes it, configure keeps it;
 *                                    0 = none (such frames leave with 0)
 *  60   4  learn_max_total    host   learned FDB entries allowed over all
 *                                    VNIs (the rest of xv_fdb is the
 *                                    reserve for static entries); 0 = no cap
 *  64   4  learned_total      host   learned entries as counted: the data
 *                                    path adds 1 per new learned entry
 *                                    (atomic), the control plane sets it to
 *                                    a recount when it ages entries out
 *  68   4  learn_ring_drops   host   local learning events lost because
 *                                    xv_learn_ring was full (atomic; the
 *                                    data path only counts up, configure()
 *                                    keeps it). Was _reserved1 (always 0),
 *                                    so pins of an older xvtep read 0
 */
#define XV_NH_CACHE_OFF 0xffffffffU
#define XV_DF_UNSET   0
#define XV_DF_SET     1
#define XV_DF_INHERIT 2

struct xv_config {
	__u32 layout_version;
	__u32 underlay_ifindex;
	__be16 udp_port;
	__u16 underlay_mtu;
	__u16 src_port_min;
	__u16 src_port_max;
	__u8 ttl;
	__u8 tos;
	__u8 tos_inherit;
	__u8 df_policy;
	__u8 udp6_zero_csum;
	__u8 ep_csum_complete;
	__u8 udp6_zero_csum_rx;
	__u8 learn_events;
	__be32 local_ip4;
	__u32 fdb_refresh_ms;
	__u8 local_ip6[16];
	__u32 nh_cache_ms;
	__u32 rx_gro_ifindex;
	__u32 gso6_ifindex;
	__u32 learn_max_total;
	__u32 learned_total;
	__u32 learn_ring_drops;
};
_Static_assert(sizeof(struct xv_config) == 72, "xv_config ABI");

/* ------------------------------------------------------------------------ */
/* xv_vni: HASH, key u32 vni (host), value struct xv_vni_info (16 B)        */
/*
 * off size field       order  meaning
 *   0   4  stats_slot  host   index into xv_stats (1..max-1; 0 = global slot)
 *   4   4  flags       host   XV_VNI_F_*
 *   8   4  learn_max   host   learned FDB entries allowed in this VNI;
 *                             0 = no per-VNI cap (learn_max_total still
 *                             applies)
 *  12   4  learned     host   learned entries of this VNI as counted (see
 *                             learned_total in xv_config)
 * The zero value means: learning on without a per-VNI cap, only known
 * peers, no proxy. At a cap a new source MAC is not learned (the frame is
 * still forwarded) and XV_EV_LEARN_LIMIT is counted; known MACs refresh and
 * move as before. The check and the increment are not one atomic step, so
 * CPUs learning at once can overshoot a cap by one entry each.
 */
#define XV_VNI_F_NO_LEARN           (1U << 0) /* disable FDB learning */
#define XV_VNI_F_ALLOW_UNKNOWN_PEER (1U << 1) /* accept rx from any VTEP */
#define XV_VNI_F_PROXY_ARP          (1U << 2) /* answer ARP from xv_neigh */
#define XV_VNI_F_PROXY_ND           (1U << 3) /* answer NS from xv_neigh */

struct xv_vni_info {
	__u32 stats_slot;
	__u32 flags;
	__u32 learn_max;
	__u32 learned;
};
_Static_assert(sizeof(struct xv_vni_info) == 16, "xv_vni_info ABI");

/* ------------------------------------------------------------------------ */
/* xv_ep: HASH, key u32 ifindex (host) of the host-side endpoint interface, */
/* value struct xv_ep_info (16 B)                                            */
/*
 * off size field       order  meaning
 *   0   4  vni         host   VNI the endpoint belongs to
 *   4   4  stats_slot  host   copy of xv_vni[vni].stats_slot
 *   8   4  vni_flags   host   copy of xv_vni[vni].flags
 *  12   4  _reserved   -      zero
 * The copies save a hash lookup per packet (~20 ns); the control plane must
 * rewrite the VNI's xv_ep and xv_peer entries when a VNI's slot/flags change.
 */
struct xv_ep_info {
	__u32 vni;
	__u32 stats_slot;
	__u32 vni_flags;
	__u32 _reserved;
};
_Static_assert(sizeof(struct xv_ep_info) == 16, "xv_ep_info ABI");

/* ------------------------------------------------------------------------ */
/* xv_fdb: HASH (not LRU: static entries must never be evicted),            */
/* key struct xv_fdb_key (12 B), value struct xv_fdb_entry (32 B)           */
/*
 * key:
 * off size field  order  meaning
 *   0   4  vni    host
 *   4   6  mac    -      MAC address bytes as on the wire
 *  10   2  _pad   -      zero
 *
 * value:
 * off size field       order  meaning
 *   0  16  remote      net    remote VTEP address (when !XV_FDB_F_LOCAL)
 *  16   4  ifindex     host   local endpoint ifindex (when XV_FDB_F_LOCAL)
 *  20   1  family      -      XV_AF_INET/XV_AF_INET6 of `remote`; 0 if local
 *  21   1  flags       -      XV_FDB_F_*
 *  22   2  _pad        -      zero
 *  24   8  updated_ns  host   CLOCK_MONOTONIC ns of last learn/refresh
 *                             (refreshed at most every fdb_refresh_ms);
 *                             the control plane ages learned entries by it
 *
 * The data path inserts learned entries with BPF_NOEXIST (failure =
 * XV_EV_FDB_FULL, the packet is still forwarded), replaces moved entries
 * with BPF_EXIST and never modifies an entry with XV_FDB_F_STATIC. Learned
 * entries share max_entries with static ones: size the map for both.
 */
#define XV_FDB_F_STATIC (1U << 0) /* installed by control plane, immutable */
#define XV_FDB_F_LOCAL  (1U << 1) /* destination is a local endpoint */

struct xv_fdb_key {
	__u32 vni;
	__u8 mac[6];
	__u16 _pad;
};
_Static_assert(sizeof(struct xv_fdb_key) == 12, "xv_fdb_key ABI");

struct xv_fdb_entry {
	__u8 remote[16];
	__u32 ifindex;
	__u8 family;
	__u8 flags;
	__u16 _pad;
	__u64 updated_ns;
};
_Static_assert(sizeof(struct xv_fdb_entry) == 32, "xv_fdb_entry ABI");

/* ------------------------------------------------------------------------ */
/* xv_peer: HASH, key struct xv_addr_key (24 B), value struct xv_peer_val   */
/* Remote VTEPs allowed to send for a VNI (rx source check).                */
/* xv_neigh: HASH, key struct xv_addr_key (24 B), value struct xv_neigh_val */
/* Proxy ARP/ND table: overlay IP -> MAC, per VNI.                          */
/*
 * key (both maps):
 * off size field   order  meaning
 *   0   4  vni     host
 *   4   4  family  host   XV_AF_INET / XV_AF_INET6
 *   8  16  addr    net    IPv4 in bytes 0..3, rest zero
 *
 * xv_peer_val:  0 4 stats_slot host  copy of xv_vni[vni].stats_slot
 *               4 4 vni_flags  host  copy of xv_vni[vni].flags
 *   (a hit in xv_peer is the whole per-packet VNI check on receive: delete a
 *    VNI's peers together with the VNI)
 * xv_neigh_val: 0 6 mac -; 6 2 _pad (zero)
 */
struct xv_addr_key {
	__u32 vni;
	__u32 family;
	__u8 addr[16];
};
_Static_assert(sizeof(struct xv_addr_key) == 24, "xv_addr_key ABI");

struct xv_peer_val {
	__u32 stats_slot;
	__u32 vni_flags;
};
_Static_assert(sizeof(struct xv_peer_val) == 8, "xv_peer_val ABI");

struct xv_neigh_val {
	__u8 mac[6];
	__u16 _pad;
};
_Static_assert(sizeof(struct xv_neigh_val) == 8, "xv_neigh_val ABI");

/* ------------------------------------------------------------------------ */
/* xv_bum: HASH, key u32 vni (host), value struct xv_bum (656 B)            */
/* Head-end replication list used by the TC programs. Replace the whole     */
/* value to change it atomically (readers see the old or the new list).     */
/*
 * off  size field          order  meaning
 *   0    4  n_remote4      host   valid entries in remote4 (<= 32)
 *   4    4  n_remote6      host   valid entries in remote6 (<= 16)
 *   8    4  n_local        host   valid entries in local (<= 64)
 *  12    4  _pad           -      zero
 *  16  128  remote4[32]    net    IPv4 VTEPs (__be32 each)
 * 144  256  remote6[16]    net    IPv6 VTEPs (16 B each)
 * 400  256  local[64]      host   local endpoint ifindexes (__u32 each)
 */
struct xv_bum {
	__u32 n_remote4;
	__u32 n_remote6;
	__u32 n_local;
	__u32 _pad;
	__be32 remote4[XV_BUM_MAX_REMOTE4];
	__u8 remote6[XV_BUM_MAX_REMOTE6][16];
	__u32 local[XV_BUM_MAX_LOCAL];
};
_Static_assert(sizeof(struct xv_bum) == 656, "xv_bum ABI");

/* ------------------------------------------------------------------------ */
/* xv_devs: DEVMAP_HASH, key u32 ifindex, value u32 ifindex (same number).  */
/* Every local endpoint must be here for XDP unicast redirects.             */
/*                                                                           */
/* xv_bcast: HASH_OF_MAPS, key u32 vni, value = fd of an inner DEVMAP_HASH  */
/* (key u32 ifindex, value u32 ifindex, max_entries XV_MAX_BCAST_PORTS=256, */
/* map_flags 0; the inner map parameters must match exactly) holding the    */
/* local endpoints of the VNI. The XDP underlay program floods BUM with     */
/* bpf_redirect_map(inner, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS).     */
/* Swap the inner map fd to change the set atomically.                      */
/*                                                                           */
/* xv_uplink: DEVMAP_HASH, key u32 ifindex, value u32 ifindex (same         */
/* number), at most 2 entries: the underlay device, written when it is      */
/* attached (in its netns; a second entry only while it is replaced). A     */
/* transmit flow whose next hop leaves through it is redirected through     */
/* this map (~7 ns less per packet than bpf_redirect's ifindex lookup);     */
/* other next hops take bpf_redirect. Bump xv_gen after changing it. (A     */
/* DEVMAP array would do, but the kernel lets only programs that agree on   */
/* xdp.frags share one; DEVMAP_HASH has no such owner.)                     */
/* ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------ */
/* xv_learn_ring: RINGBUF, XV_LEARN_RING_BYTES, records struct              */
/* xv_learn_event (16 B). One record per change of this host's own learned */
/* MACs, so the control plane can publish them without walking xv_fdb:     */
/* XV_LEARN_NEW: a new entry learned on an endpoint; XV_LEARN_MOVE: a      */
/* learned entry now behind another endpoint, or back from a remote VTEP;  */
/* XV_LEARN_LEFT: a local learned entry re-learned behind a remote VTEP    */
/* (ifindex = 0). Never on a refresh, a refused learn (learn cap, static   */
/* conflict, FDB full) or remote learning of a MAC that was not local,    */
/* and none unless xv_config.learn_events is 1 (no consumer, no records).  */
/* A full ring loses the record and counts xv_config.learn_ring_drops (and */
/* XV_EV_LEARN_RING_FULL): the consumer must then walk xv_fdb.             */
/*
 * off size field    order  meaning
 *   0   4  vni      host
 *   4   4  ifindex  host   the endpoint (0 for XV_LEARN_LEFT)
 *   8   6  mac      -
 *  14   1  kind     -      XV_LEARN_*
 *  15   1  _pad     -      zero
 */
#define XV_LEARN_RING_BYTES (1 << 18) /* 256 KiB, ~10900 records; power of two */
#define XV_LEARN_NEW  1
#define XV_LEARN_MOVE 2
#define XV_LEARN_LEFT 3

struct xv_learn_event {
	__u32 vni;
	__u32 ifindex;
	__u8 mac[6];
	__u8 kind;
	__u8 _pad;
};
_Static_assert(sizeof(struct xv_learn_event) == 16, "xv_learn_event ABI");

/* ------------------------------------------------------------------------ */
/* xv_stats: PERCPU_ARRAY, key u32 slot, value struct xv_stats (416 B).     */
/* Slot 0 counts what has no VNI (not configured, unknown VNI, malformed    */
/* before the VNI is known, ...). Slot N is owned by the VNI whose          */
/* xv_vni_info.stats_slot == N; the control plane allocates slots and       */
/* should zero a slot (all CPUs) before reusing it.                         */
/*
 * off  size field            order  meaning
 *   0    8  rx_packets       host   VXLAN packets decapsulated and delivered
 *   8    8  rx_bytes         host   inner frame bytes (incl. inner Ethernet)
 *  16    8  tx_packets       host   frames encapsulated towards a VTEP
 *                                   (each flood copy counts)
 *  24    8  tx_bytes         host   inner frame bytes (incl. inner Ethernet)
 *  32  128  drop[16]         host   indexed by enum xv_drop_reason
 * 160  256  event[32]        host   indexed by enum xv_event
 */
enum xv_drop_reason {
	XV_DROP_UNKNOWN_VNI     = 0,  /* VNI not in xv_vni (rx) */
	XV_DROP_UNKNOWN_PEER    = 1,  /* outer src not in xv_peer for the VNI */
	XV_DROP_MALFORMED       = 2,  /* truncated / VXLAN I flag missing / UDP-IP length disagrees with the frame */
	XV_DROP_NO_ENDPOINT     = 3,  /* no local endpoint to deliver to */
	XV_DROP_MTU_EXCEEDED    = 4,  /* too big and no ICMP was generated */
	XV_DROP_FIB_MISS        = 5,  /* no route to the remote VTEP */
	XV_DROP_REDIRECT_FAILED = 6,  /* redirect/clone helper failed */
	XV_DROP_HAIRPIN         = 7,  /* would go back where it came from */
	XV_DROP_ENCAP_FAILED    = 8,  /* adjust_head/adjust_room failed */
	XV_DROP_NO_LOCAL_ADDR   = 9,  /* no local VTEP address of that family */
	XV_DROP_BAD_SRC_MAC     = 10, /* multicast/broadcast inner source MAC */
	XV_DROP_ECN_NOT_ECT     = 11, /* outer CE on an inner packet that is not ECN-capable (RFC 6040) */
	XV_DROP_UDP6_ZERO_CSUM  = 12, /* IPv6 outer UDP checksum 0, not allowed (udp6_zero_csum_rx) */
	XV_DROP_UDP6_BAD_CSUM   = 13, /* IPv6 outer UDP checksum wrong */
	XV_DROP__MAX            = 16,
};

enum xv_event {
	XV_EV_FDB_FULL          = 0,  /* learning insert failed (packet kept) */
	XV_EV_NEIGH_UNRESOLVED  = 1,  /* next hop unresolved, kernel resolves */
	XV_EV_LEARN_NEW         = 2,  /* new learned FDB entry */
	XV_EV_LEARN_MOVE        = 3,  /* learned entry changed destination */
	XV_EV_STATIC_CONFLICT   = 4,  /* learned src conflicts a static entry */
	XV_EV_PROXY_ARP         = 5,  /* ARP reply generated */
	XV_EV_PROXY_ND          = 6,  /* NA generated */
	XV_EV_ICMP_TOO_BIG      = 7,  /* ICMP frag-needed / PTB generated */
	XV_EV_FLOOD             = 8,  /* BUM frames replicated */
	XV_EV_LOCAL_FWD         = 9,  /* endpoint -> endpoint, no encap */
	XV_EV_XDP_TO_TC         = 10, /* endpoint XDP deferred a frame to TC */
	XV_EV_NOT_CONFIGURED    = 11, /* no/incompatible config: passed */
	XV_EV_UNKNOWN_EP        = 12, /* hook on an ifindex not in xv_ep */
	XV_EV_FLOOD_SKIPPED     = 13, /* flood copy not sent (see docs) */
	XV_EV_RX_GRO            = 14, /* unicast TCP handed to the stack's GRO */
	XV_EV_ECN_CE            = 15, /* outer CE copied to the inner IP header (RFC 6040) */
	XV_EV_LEARN_LIMIT       = 16, /* new source MAC not learned: VNI or total cap reached (packet kept) */
	XV_EV_LEARN_RING_FULL   = 17, /* local learning event lost: xv_learn_ring full */
	XV_EV__MAX              = 32,
};

struct xv_stats {
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 tx_packets;
	__u64 tx_bytes;
	__u64 drop[XV_DROP__MAX];
	__u64 event[XV_EV__MAX];
};
_Static_assert(sizeof(struct xv_stats) == 416, "xv_stats ABI");

/* ------------------------------------------------------------------------ */
/* xv_gen: ARRAY, key u32 (=0), 1 entry, value struct xv_gen (8 B)          */
/*
 * off size field  order  meaning
 *   0   8  gen    host   forwarding-state generation
 *
 * The data path caches forwarding decisions per CPU (xv_rxflow/xv_txflow)
 * and trusts a cached decision only while xv_gen.gen is unchanged. The
 * control plane MUST increment gen (read-modify-write of this single entry,
 * any new value works) after every change that can alter an existing
 * unicast decision: deleting or rewriting any xv_fdb entry (including
 * ageing out learned ones), and any change to xv_peer, xv_vni, xv_ep,
 * xv_devs, xv_uplink or xv_config. Adding new FDB entries needs no bump.
 * The data path bumps it itself when learning moves a MAC.
 * Cached decisions are also re-validated at least every fdb_refresh_ms.
 */
struct xv_gen {
	__u64 gen;
};
_Static_assert(sizeof(struct xv_gen) == 8, "xv_gen ABI");

/* ------------------------------------------------------------------------ */
/* xv_scratch: PERCPU_ARRAY, key u32 (=0), 1 entry, value 608 bytes.        */
/* xv_lcache:  PERCPU_ARRAY, key u32, XV_LCACHE_SIZE entries, 40 bytes.     */
/* xv_nhcache: PERCPU_ARRAY, key u32, XV_NHCACHE_SIZE entries, 48 bytes.    */
/* xv_rxflow, xv_txflow: PERCPU_ARRAY, key u32, XV_FLOW_CACHE_SIZE, 64 B    */
/*   and 152 B.                                                             */
/* Internal to the data path; the control plane never touches them (and    */
/* must not change their max_entries).                                      */
/*  - xv_scratch: coarse clock cache, fib lookup and checksum work areas.   */
/*  - xv_lcache: direct-mapped "recently confirmed" learning cache. A hit   */
/*    (same VNI, MAC and destination, confirmed less than fdb_refresh_ms    */
/*    ago) skips the FDB lookup of learning. Consequence: after the control */
/*    plane deletes or rewrites a learned entry, re-learning from traffic   */
/*    can lag by up to fdb_refresh_ms.                                      */
/* ------------------------------------------------------------------------ */
#define XV_SCRATCH_SIZE 512
struct xv_scratch {
	__u64 clk_jiffies;  /* jiffies when clk_ns was read */
	__u64 clk_ns;       /* bpf_ktime_get_coarse_ns() at that tick */
	__u32 ip_id;        /* outer IPv4 ID counter (this CPU) */
	__u32 _pad;
	struct bpf_fib_lookup fib; /* outer next-hop lookup parameters */
	__u8 buf[XV_SCRATCH_SIZE];
	__u8 slack[8]; /* lets the last chunk be zero-padded without masking */
};
_Static_assert(sizeof(struct xv_scratch) == 608, "xv_scratch");

/*  - xv_nhcache: direct-mapped per-CPU cache of successful fib lookups     */
/*    per remote VTEP (bpf_fib_lookup costs ~120 ns here); entries expire   */
/*    after nh_cache_ms, so route/neighbour changes apply within that time. */
#define XV_NHCACHE_SIZE 256 /* power of two */
struct xv_nhcache_ent {
	__u8 addr[16];
	__u8 family;
	__u8 valid;
	__u8 dmac[6];
	__u8 smac[6];
	__u16 _pad;
	__u32 oif;
	__u64 expires_ns;
};
_Static_assert(sizeof(struct xv_nhcache_ent) == 48, "xv_nhcache_ent");

/*  - xv_rxflow / xv_txflow: direct-mapped per-CPU caches of unicast      */
/*    forwarding decisions (see xv_gen). A hit replaces the peer, learning  */
/*    and FDB lookups (receive) or the endpoint, learning and FDB lookups   */
/*    (transmit), ~20 ns each here.                                         */
#define XV_FLOW_CACHE_SIZE 4096 /* power of two */
struct xv_rxflow {
	__u8 src[16];      /* outer source address */
	__u32 vni;
	__u8 family;
	__u8 valid;
	__u8 smac[6];      /* inner source MAC */
	__u8 dmac[6];      /* inner destination MAC */
	__u16 _pad;
	__u32 ifindex;     /* local endpoint to deliver to */
	__u32 stats_slot;
	__u32 _pad2;
	__u64 gen;
	__u64 stamp_ns;
};
_Static_assert(sizeof(struct xv_rxflow) == 64, "xv_rxflow");

/* Outer header template of a transmit flow: Eth + IPv6 + UDP + VXLAN
 * (70 bytes) rounded up to whole 8-byte words; IPv4 uses the first 50. */
#define XV_TX_HDR_SIZE 72

struct xv_txflow {
	__u32 ingress;     /* endpoint ifindex the frame came from */
	__u8 smac[6];
	__u8 dmac[6];
	__u32 vni;
	__u32 stats_slot;
	__u32 vni_flags;
	__u8 valid;
	__u8 family;       /* remote VTEP family, 0 = local endpoint */
	__u8 nh_uplink;    /* nh_oif is xv_uplink's device: redirect through it */
	__u8 _pad;
	__u8 remote[16];   /* remote VTEP, or target ifindex in bytes 0..3 */
	__u64 gen;
	__u64 stamp_ns;
	/* Until nh_expires_ns (0 = never filled), hdr holds the outer headers
	 * last written for this flow, next-hop MACs included, and nh_oif the
	 * egress device: a hit copies hdr and patches only the fields that vary
	 * per packet (IP TOS/length/ID/DF/checksum, UDP source port/length).
	 * hdr_csum: IPv4 header checksum partial sum (32-bit, unfolded) of the
	 * words that don't vary: TTL/protocol, source and destination. */
	__u64 nh_expires_ns;
	__u32 nh_oif;
	__u32 hdr_csum;
	__u8 hdr[XV_TX_HDR_SIZE] __attribute__((aligned(8)));
};
_Static_assert(sizeof(struct xv_txflow) == 152, "xv_txflow");

#define XV_LCACHE_SIZE 1024 /* power of two */
struct xv_lcache_ent {
	__u32 vni;
	__u8 mac[6];
	__u8 family;     /* 0 = local endpoint */
	__u8 valid;
	__u8 dest[16];   /* remote address, or ifindex in the first 4 bytes */
	__u64 stamp_ns;  /* FDB updated_ns as last confirmed */
};
_Static_assert(sizeof(struct xv_lcache_ent) == 40, "xv_lcache_ent");

#endif /* XVTEP_ABI_H */
