/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Pieces shared by the underlay and endpoint programs. */
#ifndef XVTEP_COMMON_H
#define XVTEP_COMMON_H

#include <stddef.h>
#include "include/compat.h"
#include "include/xvtep_maps.h"
#include "include/parse.h"
#include "include/csum.h"

#define XV_DEFAULT_MTU       1500
#define XV_DEFAULT_TTL       64
#define XV_DEFAULT_SPORT_MIN 32768
#define XV_DEFAULT_SPORT_MAX 61000
#define XV_DEFAULT_REFRESH_NS (1000ULL * 1000 * 1000)

/* Bytes of the offending packet quoted in generated ICMP errors: enough for
 * an IPv6 header plus the L4 ports/sequence the sender matches on. */
#define XV_ICMP_QUOTE 64

static __always_inline struct xv_config *get_config(void)
{
	__u32 zero = 0;
	struct xv_config *cfg = bpf_map_lookup_elem(&xv_config, &zero);

	if (unlikely(!cfg || cfg->layout_version != XVTEP_LAYOUT_VERSION))
		return 0;
	return cfg;
}

static __always_inline struct xv_stats *get_stats(__u32 slot)
{
	return bpf_map_lookup_elem(&xv_stats, &slot);
}

/* Counting must never fail a packet, so a missing slot falls back to 0. */
static __always_inline void count_drop(struct xv_stats *st, int reason)
{
	if (!st)
		st = get_stats(0);
	if (st && reason >= 0 && reason < XV_DROP__MAX)
		st->drop[reason]++;
}

static __always_inline void count_event(struct xv_stats *st, int ev)
{
	if (!st)
		st = get_stats(0);
	if (st && ev >= 0 && ev < XV_EV__MAX)
		st->event[ev]++;
}

static __always_inline __u64 refresh_ns(const struct xv_config *cfg)
{
	return cfg->fdb_refresh_ms ? (__u64)cfg->fdb_refresh_ms * 1000000ULL
				   : XV_DEFAULT_REFRESH_NS;
}

/*
 * CLOCK_MONOTONIC (coarse) in ns. bpf_ktime_get_coarse_ns() costs ~20 ns
 * here while bpf_jiffies64() is inlined to a load; the coarse clock only
 * moves on ticks anyway, so re-read it once per jiffy per CPU.
 */
static __always_inline __u64 xv_clock(struct xv_scratch *sc)
{
	__u64 j = bpf_jiffies64();

	if (!sc)
		return bpf_ktime_get_coarse_ns();
	if (sc->clk_jiffies != j) {
		sc->clk_ns = bpf_ktime_get_coarse_ns();
		sc->clk_jiffies = j;
	}
	return sc->clk_ns;
}

static __always_inline struct xv_scratch *get_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xv_scratch, &zero);
}

static __always_inline __u64 xv_now_ns(void)
{
	return xv_clock(get_scratch());
}

static __always_inline __u32 lcache_idx(__u32 vni, const __u8 *mac)
{
	__u32 a = ((__u32)mac[0] << 24) | ((__u32)mac[1] << 16) |
		  ((__u32)mac[2] << 8) | mac[3];
	__u32 b = ((__u32)mac[4] << 8) | mac[5];

	return xv_hash3(a, b, vni) & (XV_LCACHE_SIZE - 1);
}

/*
 * Learn src MAC -> destination.
 * Local destination: ifindex != 0, family == 0, remote all-zero.
 * Remote: ifindex == 0. remote must always be a valid pointer.
 *
 * Steady state (entry exists, unchanged, confirmed within fdb_refresh_ms)
 * costs one per-CPU array lookup: xv_lcache remembers what this CPU last
 * confirmed. Otherwise one FDB lookup, and a write only when the entry is
 * new, moved or due for a timestamp refresh, so learning never writes per
 * packet.
 */
static __always_inline int fdb_learn(const struct xv_config *cfg,
				     struct xv_stats *st, __u32 vni,
				     const __u8 *mac, __u8 family,
				     const struct xv_ip *remote, __u32 ifindex)
{
	struct xv_fdb_key key = { .vni = vni };
	struct xv_fdb_entry *e, ne = {};
	struct xv_lcache_ent *lc;
	struct xv_ip dest = *remote;
	__u64 now = xv_now_ns(), refresh = refresh_ns(cfg), stamp;
	__u32 idx = lcache_idx(vni, mac);

	if (ifindex)
		dest.w[0] = ifindex;
	lc = bpf_map_lookup_elem(&xv_lcache, &idx);
	if (lc && lc->valid && lc->vni == vni && lc->family == family &&
	    *(__u32 *)lc->mac == *(__u32 *)mac &&
	    *(__u16 *)(lc->mac + 4) == *(__u16 *)(mac + 4) &&
	    ip_eq(lc->dest, &dest) && now - lc->stamp_ns < refresh)
		return 1;

	mac_copy(key.mac, mac);
	e = bpf_map_lookup_elem(&xv_fdb, &key);
	if (e) {
		int same;

		if (ifindex)
			same = (e->flags & XV_FDB_F_LOCAL) && e->ifindex == ifindex &&
			       !e->family;
		else
			same = !(e->flags & XV_FDB_F_LOCAL) && e->family == family &&
			       ip_eq(e->remote, remote);
		if (e->flags & XV_FDB_F_STATIC) {
			if (!same) {
				count_event(st, XV_EV_STATIC_CONFLICT);
				return 0;
			}
			stamp = now; /* static: nothing to refresh */
			goto cache;
		}
		if (same) {
			/* 8-byte aligned store: readers never see it torn */
			if (now - e->updated_ns >= refresh)
				e->updated_ns = now;
			stamp = e->updated_ns;
			goto cache;
		}
	}
	if (ifindex) {
		ne.ifindex = ifindex;
		ne.flags = XV_FDB_F_LOCAL;
	} else {
		__builtin_memcpy(ne.remote, remote, 16);
		ne.family = family;
	}
	ne.updated_ns = now;
	/* whole-value replace so readers see old or new, never a mix */
	if (bpf_map_update_elem(&xv_fdb, &key, &ne, e ? BPF_EXIST : BPF_NOEXIST)) {
		if (!e)
			count_event(st, XV_EV_FDB_FULL);
		return 0;
	}
	if (e) {
		/* a cached decision may point at the old location */
		__u32 zero = 0;
		struct xv_gen *g = bpf_map_lookup_elem(&xv_gen, &zero);

		if (g)
			__sync_fetch_and_add(&g->gen, 1);
	}
	count_event(st, e ? XV_EV_LEARN_MOVE : XV_EV_LEARN_NEW);
	stamp = now;
cache:
	if (lc) {
		lc->valid = 0; /* per-CPU, but keep it consistent if we bail */
		lc->vni = vni;
		mac_copy(lc->mac, mac);
		lc->family = family;
		__builtin_memcpy(lc->dest, &dest, 16);
		lc->stamp_ns = stamp;
		lc->valid = 1;
	}
	return 1;
}

/* Out-of-line variant for the TC endpoint program: keeps fdb_learn()'s locals
 * out of its frame (the TC call chain must fit the 512-byte combined stack). */
static __attribute__((noinline)) void fdb_learn_local(const struct xv_config *cfg,
						       struct xv_stats *st,
						       __u32 vni, const __u8 *mac,
						       __u32 ifindex)
{
	struct xv_ip none = {};

	fdb_learn(cfg, st, vni, mac, 0, &none, ifindex);
}

static __always_inline __u64 get_gen(void)
{
	__u32 zero = 0;
	struct xv_gen *g = bpf_map_lookup_elem(&xv_gen, &zero);

	return g ? g->gen : 0;
}

static __always_inline int mac_eq(const __u8 *a, const __u8 *b)
{
	return *(const __u32 *)a == *(const __u32 *)b &&
	       *(const __u16 *)(a + 4) == *(const __u16 *)(b + 4);
}

static __always_inline __u32 mac_word(const __u8 *m)
{
	return *(const __u32 *)(m + 2);
}

/* Slot of a direct-mapped per-CPU cache for three 32-bit key words (entries
 * hold their full key, the slot only spreads them). */
static __always_inline __u32 cache_slot(__u32 a, __u32 b, __u32 c, __u32 mask)
{
	return xv_hash3(a, b, c) & mask;
}

static __always_inline __be16 src_port(const struct xv_config *cfg, __u32 hash)
{
	__u32 min = cfg->src_port_min, max = cfg->src_port_max;

	if (!min && !max) {
		min = XV_DEFAULT_SPORT_MIN;
		max = XV_DEFAULT_SPORT_MAX;
	}
	if (max <= min)
		return bpf_htons(min);
	/* same scaling as the kernel's udp_flow_src_port() */
	hash ^= hash << 16;
	return bpf_htons((((__u64)hash * (max - min)) >> 32) + min);
}

/*
 * Outer DSCP: the configured one, or the inner one with tos inherit. Outer
 * ECN: always the inner one, CE sent as ECT(0) (RFC 6040 normal mode), as the
 * kernel's ip_tunnel_ecn_encap() does for every vxlan whatever its tos: an
 * underlay switch can only mark frames that say they are ECN-capable. Not
 * IP inside: Not-ECT.
 */
static __always_inline __u8 outer_tos(const struct xv_config *cfg, int inner)
{
	__u8 dscp = cfg->tos_inherit && inner >= 0 ? inner : cfg->tos;
	__u8 ecn = inner >= 0 ? inner & INET_ECN_MASK : INET_ECN_NOT_ECT;

	if (ecn == INET_ECN_CE)
		ecn = INET_ECN_ECT_0;
	return (dscp & ~INET_ECN_MASK) | ecn;
}

/* Everything needed to write the outer headers. */
struct xv_encap {
	__u8 dmac[6];
	__u8 smac[6];
	struct xv_ip saddr;
	struct xv_ip daddr;
	__u32 vni;
	__u32 inner_len; /* inner frame incl. inner Ethernet */
	__be16 sport;
	__be16 dport;
	__u8 tos;
	__u8 ttl;
	__u8 df;
	__u8 family;
	__u8 zero_csum6; /* IPv6: leave UDP checksum 0 */
	__u8 _pad;
	__u16 ip_id;
};

/*
 * Write outer Eth/IP/UDP/VXLAN at `data` (the inner Ethernet header must
 * already be at data + overhead). Returns 0 or -1 (bounds).
 */
static __always_inline int write_outer(void *data, void *data_end,
				       const struct xv_encap *p)
{
	struct ethhdr *eth = data;
	struct udphdr *udp;
	struct xv_vxlanhdr *vx;
	__u32 udp_len = p->inner_len + sizeof(*udp) + sizeof(*vx);

	if (p->family == XV_AF_INET) {
		struct iphdr *iph = (void *)(eth + 1);

		udp = (void *)(iph + 1);
		vx = (void *)(udp + 1);
		if ((void *)(vx + 1) + sizeof(struct ethhdr) > data_end)
			return -1;
		eth->h_proto = bpf_htons(ETH_P_IP);
		*(__u16 *)iph = bpf_htons(0x4500 | p->tos);
		iph->tot_len = bpf_htons(udp_len + sizeof(*iph));
		/* DF packets may share an ID (RFC 6864); others need one that
		 * varies so reassembly can't mix datagrams */
		iph->id = p->df ? 0 : bpf_htons(p->ip_id);
		iph->frag_off = p->df ? bpf_htons(IP_DF) : 0;
		iph->ttl = p->ttl;
		iph->protocol = IPPROTO_UDP;
		iph->check = 0;
		iph->saddr = p->saddr.w[0];
		iph->daddr = p->daddr.w[0];
		iph->check = csum_ipv4_hdr(iph);
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		udp = (void *)(ip6 + 1);
		vx = (void *)(udp + 1);
		if ((void *)(vx + 1) + sizeof(struct ethhdr) > data_end)
			return -1;
		eth->h_proto = bpf_htons(ETH_P_IPV6);
		*(__be32 *)ip6 = bpf_htonl(0x60000000 | ((__u32)p->tos << 20));
		ip6->payload_len = bpf_htons(udp_len);
		ip6->nexthdr = IPPROTO_UDP;
		ip6->hop_limit = p->ttl;
		__builtin_memcpy(&ip6->saddr, &p->saddr, 16);
		__builtin_memcpy(&ip6->daddr, &p->daddr, 16);
	}
	mac_copy(eth->h_dest, p->dmac);
	mac_copy(eth->h_source, p->smac);
	udp->source = p->sport;
	udp->dest = p->dport;
	udp->len = bpf_htons(udp_len);
	udp->check = 0;
	vx->flags = XV_VXLAN_FLAG_I;
	vx->vni = bpf_htonl(p->vni << 8);
	return 0;
}

/*
 * Outer IPv6 UDP checksum over the whole frame (`total` = frame length).
 * Clears the field, returns the value to store; the caller stores it after
 * re-reading its packet pointers (the load helpers invalidate them).
 * Returns -1 on error.
 */
static __always_inline int udp6_csum(void *ctx, const int is_xdp, void *data,
				     void *data_end, __u32 total)
{
	struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);
	struct udphdr *udp = (void *)(ip6 + 1);
	__u32 off = sizeof(struct ethhdr) + sizeof(*ip6);
	__u16 csum;
	__u64 sum;
	int ok;

	if ((void *)(udp + 1) > data_end || total < off)
		return -1;
	udp->check = 0;
	sum = csum_ip6_pseudo(&ip6->saddr, &ip6->daddr,
			      bpf_ntohs(udp->len), IPPROTO_UDP);
	sum = csum_load_range(ctx, is_xdp, off, total - off, sum, &ok);
	if (!ok)
		return -1;
	csum = csum_fold(sum);
	return csum ? csum : 0xffff;
}

/*
 * Outer IPv6 UDP checksum as the kernel's local checksum offload derives it
 * (lco_csum): an inner TCP/UDP segment whose checksum is right sums to the
 * complement of its own pseudo header, so the outer sum needs only the bytes
 * before the inner L4 header. Sending, that holds whether the inner checksum
 * is already complete or is completed after us (CHECKSUM_PARTIAL, which BPF
 * can't see: the kernel or the NIC fills it at transmit), and it costs the
 * same for every frame size. Receiving, the same sum over the frame as it
 * came (checksum field included) is 0 exactly when the outer checksum is
 * right, provided the inner one is: and the inner one is verified by whoever
 * receives the inner frame, so a frame corrupt anywhere is still dropped.
 * l3: offset of the outer IPv6 header. Returns the folded (complemented) sum,
 * -2 when the inner frame is not plain TCP/UDP (IPv4 options or fragment,
 * IPv6 extension header, UDP without checksum, an L4 segment that does not
 * end with the frame: the caller sums the whole datagram), -1 on error.
 * Sending, the outer checksum is then the one of the frame with its inner
 * checksum made right: the same as a full sum unless the inner one is wrong.
 */
#define XV_LCO_HEAD (sizeof(struct ipv6hdr) - 6 + sizeof(struct udphdr) + \
		     sizeof(struct xv_vxlanhdr) + sizeof(struct ethhdr)) /* 64 */
/* What lco_sum reads: up to the inner UDP checksum behind an IPv4/IPv6 header */
#define XV_LCO_SPAN4 (XV_LCO_HEAD + 20 + 8)
#define XV_LCO_SPAN6 (XV_LCO_HEAD + 40 + 8)

static __always_inline __u64 sum_words(const __u32 *w, const int n)
{
	__u64 s = 0;

#pragma unroll
	for (int i = 0; i < n; i++)
		s += w[i];
	return s;
}

static __always_inline __u16 lco_udp_len(const __u8 *b)
{
	return bpf_ntohs(*(const __u16 *)(b + sizeof(struct ipv6hdr) - 6 +
					  offsetof(struct udphdr, len)));
}

/*
 * The sum itself, over b = the frame from the outer next header on (4-byte
 * aligned offsets from there), readable up to end. Constant offsets only, so
 * b may point into the packet (XDP) or at a copy. -3: too short to tell.
 */
static __always_inline int lco_sum(const __u8 *b, const void *end)
{
	const __u32 head = XV_LCO_HEAD;
	__u64 sum, in;
	__u16 proto, l4len;

	if ((const void *)(b + XV_LCO_SPAN4) > end)
		return -3;
	/* the inner segment must run to the end of the frame, as the checksum
	 * the kernel completes does (no Ethernet padding, no trailing bytes) */
	/* (read where used, not kept: xv_csum6_xdp's stack is at the limit) */
	if (*(const __u16 *)(b + head - 2) == bpf_htons(ETH_P_IP)) {
		proto = b[head + 9];
		if (b[head] != 0x45 || (*(const __u16 *)(b + head + 6) & bpf_htons(0x3fff)) ||
		    (proto != IPPROTO_TCP && proto != IPPROTO_UDP))
			return -2;
		l4len = bpf_ntohs(*(const __u16 *)(b + head + 2));
		if (l4len < 20 || l4len + 16 + 14 != lco_udp_len(b))
			return -2;
		l4len -= 20;
		/* UDP without checksum: nothing to lean on */
		if (proto == IPPROTO_UDP && !*(const __u16 *)(b + head + 20 + 6))
			return -2;
		in = (__u64)*(const __u32 *)(b + head + 12) + *(const __u32 *)(b + head + 16);
		sum = sum_words((const __u32 *)b, (XV_LCO_HEAD + 20) / 4);
	} else if (*(const __u16 *)(b + head - 2) == bpf_htons(ETH_P_IPV6)) {
		if ((const void *)(b + XV_LCO_SPAN6) > end)
			return -3;
		proto = b[head + 6];
		if ((b[head] >> 4) != 6 || (proto != IPPROTO_TCP && proto != IPPROTO_UDP))
			return -2;
		if (proto == IPPROTO_UDP && !*(const __u16 *)(b + head + 40 + 6))
			return -2;
		l4len = bpf_ntohs(*(const __u16 *)(b + head + 4));
		if (l4len + 40 + 16 + 14 != lco_udp_len(b))
			return -2;
		in = csum_add_ip6(0, b + head + 8);
		in = csum_add_ip6(in, b + head + 24);
		sum = sum_words((const __u32 *)b, (XV_LCO_HEAD + 40) / 4);
	} else {
		return -2;
	}
	if (l4len < (proto == IPPROTO_TCP ? 20 : 8)) /* not even its header */
		return -2;
	in += bpf_htonl(l4len) + bpf_htonl(proto);
	/* the region starts at next header + hop limit where the pseudo header
	 * has the UDP length and next header: swap them, then take the inner
	 * pseudo header off (one's complement: add its complement) */
	sum += (__u16)~*(const __u16 *)b;
	sum += *(const __u16 *)(b + sizeof(struct ipv6hdr) - 6 + offsetof(struct udphdr, len));
	sum += bpf_htons(IPPROTO_UDP);
	sum += csum_fold(in);
	return csum_fold(sum);
}

/*
 * lco_sum where the packet may not be linear: the frame is read in place
 * when its headers are in the linear part (outer IPv6 right after
 * Ethernet), else copied.
 */
static __always_inline int udp6_lco_fold(void *ctx, const int is_xdp, __u32 l3)
{
	__u32 off = l3 + 6; /* next header + hop limit */
	struct xv_scratch *sc;
	void *data, *data_end;
	__u32 len;
	long err;
	int c;

	if (l3 == sizeof(struct ethhdr)) {
		data = is_xdp ? XDP_DATA((struct xdp_md *)ctx) : SKB_DATA((struct __sk_buff *)ctx);
		data_end = is_xdp ? XDP_DATA_END((struct xdp_md *)ctx) :
				    SKB_DATA_END((struct __sk_buff *)ctx);
		if (data + sizeof(struct ethhdr) + 6 + XV_LCO_SPAN4 <= data_end) {
			c = lco_sum(data + sizeof(struct ethhdr) + 6, data_end);
			if (c != -3)
				return c;
		}
	}
	sc = get_scratch();
	if (!sc)
		return -1;
	len = is_xdp ? bpf_xdp_get_buff_len(ctx) : ((struct __sk_buff *)ctx)->len;
	if (len >= off + XV_LCO_SPAN6) {
		err = is_xdp ? bpf_xdp_load_bytes(ctx, off, sc->buf, XV_LCO_SPAN6) :
			       bpf_skb_load_bytes(ctx, off, sc->buf, XV_LCO_SPAN6);
		c = err ? -1 : lco_sum(sc->buf, sc->buf + XV_LCO_SPAN6);
	} else if (len >= off + XV_LCO_SPAN4) {
		err = is_xdp ? bpf_xdp_load_bytes(ctx, off, sc->buf, XV_LCO_SPAN4) :
			       bpf_skb_load_bytes(ctx, off, sc->buf, XV_LCO_SPAN4);
		c = err ? -1 : lco_sum(sc->buf, sc->buf + XV_LCO_SPAN4);
	} else {
		return -2;
	}
	return c == -3 ? -2 : c;
}

/* Sending: the value to store (the field must be 0), -2 or -1 as above. */
static __always_inline int udp6_csum_lco(void *ctx, const int is_xdp)
{
	int c = udp6_lco_fold(ctx, is_xdp, sizeof(struct ethhdr));

	return c == 0 ? 0xffff : c;
}

/*
 * Receiving: is the (non-zero) outer UDP checksum of this IPv6 datagram
 * right? l3: outer IPv6 header offset, total: frame length. The whole
 * datagram is summed only when the inner frame is not plain TCP/UDP, or when
 * the header sum says no: a frame is dropped only if its outer checksum is
 * wrong, as the kernel does. One the header sum lets through with a wrong
 * outer checksum has a wrong inner one too, which its receiver drops.
 */
static __always_inline int udp6_csum_ok(void *ctx, const int is_xdp, __u32 l3,
					__u32 total)
{
	__u32 a[8], udp = l3 + sizeof(struct ipv6hdr);
	__u64 sum;
	int c = udp6_lco_fold(ctx, is_xdp, l3), ok;

	if (c == 0)
		return 1;
	if (c == -1 || total < udp ||
	    (is_xdp ? bpf_xdp_load_bytes(ctx, l3 + 8, a, sizeof(a)) :
		      bpf_skb_load_bytes(ctx, l3 + 8, a, sizeof(a))))
		return 0;
	sum = csum_ip6_pseudo(a, a + 4, total - udp, IPPROTO_UDP);
	sum = csum_load_range(ctx, is_xdp, udp, total - udp, sum, &ok);
	return ok && csum_fold(sum) == 0;
}

#define XV_UDP6_CHECK_OFF (sizeof(struct ethhdr) + sizeof(struct ipv6hdr) + \
			   offsetof(struct udphdr, check))

static __always_inline int store_udp6_csum(void *data, void *data_end, int csum)
{
	__u16 *p = data + XV_UDP6_CHECK_OFF;

	if (csum < 0 || (void *)(p + 1) > data_end)
		return -1;
	*p = csum;
	return 0;
}

/*
 * Next hop for the outer packet. Returns BPF_FIB_LKUP_RET_*; on success the
 * MACs are in p and *oif is the egress device. BPF_FIB_LOOKUP_OUTPUT makes it
 * an output (locally generated) lookup, so forwarding need not be enabled.
 */
static __always_inline __u64 nh_ttl_ns(const struct xv_config *cfg)
{
	if (cfg->nh_cache_ms == XV_NH_CACHE_OFF)
		return 0;
	return (cfg->nh_cache_ms ? cfg->nh_cache_ms : 100) * 1000000ULL;
}

/*
 * *expires (if given): until when the result may be reused (0 = not
 * cacheable). sc: this CPU's scratch, whose fib area holds the lookup's
 * parameters (64 bytes the callers' stack frames can't spare).
 */
static __always_inline int fib_outer_at(void *ctx, const struct xv_config *cfg,
					struct xv_encap *p, __u32 *oif,
					struct xv_scratch *sc, __u64 now,
					__u64 *expires)
{
	struct bpf_fib_lookup *fib;
	struct xv_nhcache_ent *nc;
	__u64 ttl = nh_ttl_ns(cfg);
	__u32 idx = xv_hash3(p->daddr.w[0] ^ p->daddr.w[1],
			     p->daddr.w[2] ^ p->daddr.w[3], p->family) &
		    (XV_NHCACHE_SIZE - 1);
	int rc;

	nc = bpf_map_lookup_elem(&xv_nhcache, &idx);
	if (nc && nc->valid && nc->family == p->family &&
	    ip_eq(nc->addr, &p->daddr) && now < nc->expires_ns &&
	    nc->expires_ns - now <= ttl) { /* filled under a longer nh_cache_ms: stale */
		mac_copy(p->dmac, nc->dmac);
		mac_copy(p->smac, nc->smac);
		*oif = nc->oif;
		if (expires)
			*expires = nc->expires_ns;
		return BPF_FIB_LKUP_RET_SUCCESS;
	}
	if (expires)
		*expires = 0;
	if (!sc)
		return BPF_FIB_LKUP_RET_NOT_FWDED;

	fib = &sc->fib;
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->ifindex = cfg->underlay_ifindex;
	fib->l4_protocol = IPPROTO_UDP;
	fib->sport = 0;
	fib->dport = cfg->udp_port;
	if (p->family == XV_AF_INET) {
		fib->family = AF_INET;
		fib->ipv4_src = p->saddr.w[0];
		fib->ipv4_dst = p->daddr.w[0];
	} else {
		fib->family = AF_INET6;
		__builtin_memcpy(fib->ipv6_src, &p->saddr, 16);
		__builtin_memcpy(fib->ipv6_dst, &p->daddr, 16);
	}
	rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), BPF_FIB_LOOKUP_OUTPUT);
	*oif = fib->ifindex;
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		mac_copy(p->dmac, fib->dmac);
		mac_copy(p->smac, fib->smac);
		if (nc && ttl) {
			nc->valid = 0;
			__builtin_memcpy(nc->addr, &p->daddr, 16);
			nc->family = p->family;
			mac_copy(nc->dmac, fib->dmac);
			mac_copy(nc->smac, fib->smac);
			nc->oif = fib->ifindex;
			nc->expires_ns = now + ttl;
			nc->valid = 1;
			if (expires)
				*expires = now + ttl;
		}
	} else if (rc == BPF_FIB_LKUP_RET_FWD_DISABLED) {
		/* bpf_fib_lookup() insists on forwarding being enabled on the
		 * underlay even for output lookups; without it let the kernel
		 * route + resolve (bpf_redirect_neigh), i.e. the slow path */
		*oif = cfg->underlay_ifindex;
		rc = BPF_FIB_LKUP_RET_NO_NEIGH;
	}
	return rc;
}

static __always_inline int fib_outer(void *ctx, const struct xv_config *cfg,
				     struct xv_encap *p, __u32 *oif)
{
	struct xv_scratch *sc = get_scratch();

	return fib_outer_at(ctx, cfg, p, oif, sc, xv_clock(sc), 0);
}

/* The outer header fields that vary per inner frame. */
struct xv_vary {
	__be16 sport;
	__u16 ip_id;
	__u8 tos;
	__u8 df;
	__u8 zero_csum6; /* IPv6: leave UDP checksum 0 */
	__u8 _pad;
};

/* sc: this CPU's scratch, 0 = look it up if needed. */
static __always_inline void encap_vary(const struct xv_config *cfg,
				       struct xv_vary *v, __u8 family,
				       const struct xv_inner *ii,
				       struct xv_scratch *sc)
{
	v->tos = outer_tos(cfg, ii->dsf);
	if (cfg->df_policy == XV_DF_SET)
		v->df = 1;
	else if (cfg->df_policy == XV_DF_INHERIT)
		v->df = ii->df;
	else
		v->df = 0;
	v->ip_id = 0;
	if (!v->df && family == XV_AF_INET) {
		/* per-CPU counter, CPUs spread over the ID space; the kernel's
		 * ip_select_ident() collides between flows similarly */
		if (!sc)
			sc = get_scratch();
		if (sc)
			v->ip_id = (__u16)(sc->ip_id++ + (bpf_get_smp_processor_id() << 11));
	}
	v->sport = src_port(cfg, ii->hash);
	/* partial inner checksums are fine: udp6_csum_lco() */
	v->zero_csum6 = cfg->udp6_zero_csum;
}

/* Fill the parts of xv_encap that come from config + FDB. Returns 0, or a
 * drop reason. */
static __always_inline int encap_prepare_ii(const struct xv_config *cfg,
					    struct xv_encap *p, __u8 family,
					    const void *remote, __u32 vni,
					    const struct xv_inner *ii,
					    __u32 inner_len,
					    struct xv_scratch *sc)
{
	struct xv_vary v;

	p->family = family;
	p->vni = vni;
	p->inner_len = inner_len;
	if (family == XV_AF_INET) {
		if (!cfg->local_ip4)
			return XV_DROP_NO_LOCAL_ADDR;
		p->saddr.w[0] = cfg->local_ip4;
		p->daddr.w[0] = *(const __u32 *)remote;
	} else {
		if (ip6_is_zero(cfg->local_ip6))
			return XV_DROP_NO_LOCAL_ADDR;
		__builtin_memcpy(&p->saddr, cfg->local_ip6, 16);
		__builtin_memcpy(&p->daddr, remote, 16);
	}
	p->ttl = cfg->ttl ? cfg->ttl : XV_DEFAULT_TTL;
	p->dport = cfg->udp_port;
	encap_vary(cfg, &v, family, ii, sc);
	p->tos = v.tos;
	p->df = v.df;
	p->ip_id = v.ip_id;
	p->sport = v.sport;
	p->zero_csum6 = v.zero_csum6;
	return 0;
}

static __always_inline int encap_prepare(const struct xv_config *cfg,
					 struct xv_encap *p, __u8 family,
					 const void *remote, __u32 vni,
					 void *inner, void *data_end,
					 __u32 inner_len)
{
	struct xv_inner ii;

	inner_parse(inner, data_end, &ii);
	return encap_prepare_ii(cfg, p, family, remote, vni, &ii, inner_len, 0);
}

/* ------------------------------------------------------------------------ */
/* Proxy ARP / ND: rewrite the request in place into the reply.             */
/* Returns 1 if the frame now holds a reply to send back, 0 otherwise.      */
/* ------------------------------------------------------------------------ */
/* Not inlined: rare path, and keeping its locals out of the callers' frames
 * keeps the TC call chain within the 512-byte combined stack limit. */
static __attribute__((noinline)) int proxy_arp(void *data, void *data_end,
					      __u32 vni, struct xv_stats *st)
{
	struct ethhdr *eth = data;
	struct xv_arp *arp = (void *)(eth + 1);
	struct xv_addr_key k = { .vni = vni, .family = XV_AF_INET };
	struct xv_neigh_val *n;
	__u8 tmp[4];

	if ((void *)(arp + 1) > data_end)
		return 0;
	if (arp->htype != bpf_htons(1) || arp->ptype != bpf_htons(ETH_P_IP) ||
	    arp->hlen != 6 || arp->plen != 4 || arp->op != bpf_htons(ARPOP_REQUEST))
		return 0;
	/* gratuitous ARP / probes must reach everybody */
	if (*(__u32 *)arp->spa == *(__u32 *)arp->tpa || !*(__u32 *)arp->spa)
		return 0;
	__builtin_memcpy(k.addr, arp->tpa, 4);
	n = bpf_map_lookup_elem(&xv_neigh, &k);
	if (!n || mac_is_zero(n->mac))
		return 0;
	mac_copy(eth->h_dest, arp->sha);
	mac_copy(eth->h_source, n->mac);
	arp->op = bpf_htons(ARPOP_REPLY);
	mac_copy(arp->tha, arp->sha);
	mac_copy(arp->sha, n->mac);
	__builtin_memcpy(tmp, arp->spa, 4);
	__builtin_memcpy(arp->spa, arp->tpa, 4);
	__builtin_memcpy(arp->tpa, tmp, 4);
	count_event(st, XV_EV_PROXY_ARP);
	return 1;
}

/* Only an NS carrying exactly one source link-layer option (what Linux and
 * most stacks send for address resolution) is answered: the NA then has the
 * same size and the reply is an in-place rewrite. */
static __attribute__((noinline)) int proxy_nd(void *data, void *data_end,
					     __u32 vni, struct xv_stats *st)
{
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct xv_nd *nd = (void *)(ip6 + 1);
	struct xv_addr_key k = { .vni = vni, .family = XV_AF_INET6 };
	struct xv_neigh_val *n;
	__u64 sum;

	if ((void *)(nd + 1) > data_end)
		return 0;
	if (ip6->nexthdr != IPPROTO_ICMPV6 || ip6->hop_limit != 255 ||
	    ip6->payload_len != bpf_htons(sizeof(*nd)) ||
	    nd->type != NDISC_NEIGHBOUR_SOLICITATION || nd->code != 0 ||
	    nd->opt_type != 1 || nd->opt_len != 1)
		return 0;
	if (ip6_is_zero(&ip6->saddr)) /* DAD: must not be answered by proxy */
		return 0;
	__builtin_memcpy(k.addr, nd->target, 16);
	n = bpf_map_lookup_elem(&xv_neigh, &k);
	if (!n || mac_is_zero(n->mac))
		return 0;
	mac_copy(eth->h_dest, nd->opt_mac);
	mac_copy(eth->h_source, n->mac);
	/* NA from the target to the solicitor */
	__builtin_memcpy(&ip6->daddr, &ip6->saddr, 16);
	__builtin_memcpy(&ip6->saddr, nd->target, 16);
	*(__be32 *)ip6 = bpf_htonl(0x60000000);
	nd->type = NDISC_NEIGHBOUR_ADVERTISEMENT;
	nd->flags = bpf_htonl(0x60000000); /* Solicited | Override */
	nd->opt_type = 2; /* target link-layer address */
	mac_copy(nd->opt_mac, n->mac);
	nd->csum = 0;
	sum = csum_ip6_pseudo(&ip6->saddr, &ip6->daddr, sizeof(*nd), IPPROTO_ICMPV6);
	{
		__u32 *w = (void *)nd;
#pragma unroll
		for (int i = 0; i < 8; i++)
			sum += w[i];
	}
	nd->csum = csum_fold(sum);
	count_event(st, XV_EV_PROXY_ND);
	return 1;
}

/* ------------------------------------------------------------------------ */
/* ICMP "too big" replies. Two steps because the caller must shrink the     */
/* frame with its own helper (XDP vs skb) in between:                       */
/*   icmp_save() copies what the reply needs, icmp_build() writes it.       */
/* ------------------------------------------------------------------------ */
struct xv_icmp_save {
	__u64 quote[XV_ICMP_QUOTE / 8]; /* first: stack words must be aligned */
	__u8 smac[6];
	__u8 dmac[6];
	__be16 proto;
};

/* The quote in 8-byte words: a byte-wise copy (what memcpy from a packet
 * becomes) costs 128 instructions and spills most of them. Packet access may
 * be unaligned here; the stack side is aligned. */
static __always_inline void icmp_quote_copy(void *dst, const void *src)
{
	__u64 *d = dst;
	const __u64 *q = src;

#pragma unroll
	for (int i = 0; i < XV_ICMP_QUOTE / 8; i++)
		d[i] = q[i];
}

#define XV_ICMP4_LEN (sizeof(struct ethhdr) + sizeof(struct iphdr) + 8 + XV_ICMP_QUOTE)
#define XV_ICMP6_LEN (sizeof(struct ethhdr) + sizeof(struct ipv6hdr) + 8 + XV_ICMP_QUOTE)

static __always_inline int icmp4_is_error(__u8 type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_SOURCE_QUENCH ||
	       type == ICMP_REDIRECT || type == ICMP_TIME_EXCEEDED ||
	       type == ICMP_PARAMETERPROB;
}

/* Returns the new frame length, or 0 if no ICMP should be sent. */
static __always_inline __u32 icmp_save(void *data, void *data_end,
				       struct xv_icmp_save *s)
{
	struct ethhdr *eth = data;
	void *l3 = eth + 1;

	if (l3 + XV_ICMP_QUOTE > data_end)
		return 0;
	mac_copy(s->smac, eth->h_source);
	mac_copy(s->dmac, eth->h_dest);
	s->proto = eth->h_proto;
	icmp_quote_copy(s->quote, l3);
	if (s->proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = l3;

		/* only DF packets get frag-needed, others are simply dropped */
		if (!(iph->frag_off & bpf_htons(IP_DF)) ||
		    (iph->frag_off & bpf_htons(IP_OFFSET)))
			return 0;
		/* never answer an ICMP error with an error (RFC 1122 3.2.2);
		 * queries (echo, ...) do get one, so ping -M do finds the MTU */
		if (iph->protocol == IPPROTO_ICMP) {
			__u8 *type = l3 + (iph->ihl & 0xf) * 4;

			if ((void *)(type + 1) > data_end || icmp4_is_error(*type))
				return 0;
		}
		return XV_ICMP4_LEN;
	}
	if (s->proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;
		struct icmp6hdr *ic6 = (void *)(ip6 + 1);

		/* ICMPv6 errors are the types below 128 (RFC 4443 2.1);
		 * extension headers before ICMPv6 are not followed */
		if (ip6->nexthdr == IPPROTO_ICMPV6 &&
		    ((void *)(ic6 + 1) > data_end || ic6->icmp6_type < 128))
			return 0;
		return XV_ICMP6_LEN;
	}
	return 0;
}

/* mtu = the inner MTU to advertise (underlay MTU minus overhead). */
static __always_inline int icmp_build(void *data, void *data_end,
				      const struct xv_icmp_save *s, __u32 mtu)
{
	struct ethhdr *eth = data;
	__u64 sum;

	if ((void *)(eth + 1) > data_end)
		return -1;
	mac_copy(eth->h_dest, s->smac);
	mac_copy(eth->h_source, s->dmac);
	eth->h_proto = s->proto;
	if (s->proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);
		struct icmphdr *ic = (void *)(iph + 1);
		const struct iphdr *orig = (const void *)s->quote;

		if ((void *)(ic + 1) + XV_ICMP_QUOTE > data_end)
			return -1;
		*(__u16 *)iph = bpf_htons(0x45c0);
		iph->tot_len = bpf_htons(sizeof(*iph) + 8 + XV_ICMP_QUOTE);
		iph->id = 0;
		iph->frag_off = 0;
		iph->ttl = XV_DEFAULT_TTL;
		iph->protocol = IPPROTO_ICMP;
		iph->check = 0;
		/* pretend to be the destination, like Katran */
		iph->saddr = orig->daddr;
		iph->daddr = orig->saddr;
		iph->check = csum_ipv4_hdr(iph);
		ic->type = ICMP_DEST_UNREACH;
		ic->code = ICMP_FRAG_NEEDED;
		ic->checksum = 0;
		ic->un.frag.__unused = 0;
		ic->un.frag.mtu = bpf_htons(mtu);
		icmp_quote_copy(ic + 1, s->quote);
		sum = (__u32)bpf_csum_diff(0, 0, (void *)ic, 8 + XV_ICMP_QUOTE, 0);
		ic->checksum = csum_fold(sum);
		return 0;
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		struct icmp6hdr *ic = (void *)(ip6 + 1);
		const struct ipv6hdr *orig = (const void *)s->quote;

		if ((void *)(ic + 1) + XV_ICMP_QUOTE > data_end)
			return -1;
		*(__be32 *)ip6 = bpf_htonl(0x60000000);
		ip6->payload_len = bpf_htons(8 + XV_ICMP_QUOTE);
		ip6->nexthdr = IPPROTO_ICMPV6;
		ip6->hop_limit = XV_DEFAULT_TTL;
		__builtin_memcpy(&ip6->saddr, &orig->daddr, 16);
		__builtin_memcpy(&ip6->daddr, &orig->saddr, 16);
		ic->icmp6_type = ICMPV6_PKT_TOOBIG;
		ic->icmp6_code = 0;
		ic->icmp6_cksum = 0;
		ic->icmp6_dataun.un_data32[0] = bpf_htonl(mtu);
		icmp_quote_copy(ic + 1, s->quote);
		sum = csum_ip6_pseudo(&ip6->saddr, &ip6->daddr, 8 + XV_ICMP_QUOTE,
				      IPPROTO_ICMPV6);
		sum += (__u32)bpf_csum_diff(0, 0, (void *)ic, 8 + XV_ICMP_QUOTE, 0);
		ic->icmp6_cksum = csum_fold(sum);
		return 0;
	}
}

/* Make at least `want` bytes (or the whole skb) linear for direct access. */
static __always_inline void tc_pull(struct __sk_buff *skb, __u32 want)
{
	__u32 have = SKB_DATA_END(skb) - SKB_DATA(skb);

	if (want > skb->len)
		want = skb->len;
	if (have < want)
		bpf_skb_pull_data(skb, want);
}

static __always_inline __u32 underlay_mtu(const struct xv_config *cfg)
{
	return cfg->underlay_mtu ? cfg->underlay_mtu : XV_DEFAULT_MTU;
}

#endif /* XVTEP_COMMON_H */
