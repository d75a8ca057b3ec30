/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Receive path: VXLAN from the underlay NIC to local endpoints. */
#ifndef XVTEP_UNDERLAY_H
#define XVTEP_UNDERLAY_H

#include "common.h"

struct xv_rx {
	struct xv_ip src;   /* outer source (the sending VTEP) */
	__u32 inner_off;    /* offset of the inner Ethernet header */
	__u32 vni;
	__u32 family;
	__u32 ecn;          /* outer ECN field (RFC 3168 codepoint) */
};

enum { RX_NOT_OURS, RX_OURS, RX_MALFORMED };

/* Longest outer header stack we accept: Eth + VLAN + IPv4 with options. */
#define XV_MAX_INNER_OFF (18 + 60 + 16)

/*
 * Is this a VXLAN packet for us? Anything that is not (other UDP ports, other
 * protocols, fragments, packets for other local addresses) is RX_NOT_OURS so
 * the kernel sees it untouched.
 */
static __always_inline int rx_parse(const struct xv_config *cfg, void *data,
				    void *data_end, __u32 total, struct xv_rx *rx)
{
	struct udphdr *udp;
	struct xv_vxlanhdr *vx;
	__u32 l3_len, udp_off, ulen;
	__be16 proto;
	int off = parse_eth(data, data_end, &proto);

	if (off < 0)
		return RX_NOT_OURS;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = data + off;
		__u32 hl;

		if ((void *)(iph + 1) > data_end)
			return RX_NOT_OURS;
		hl = iph->ihl * 4;
		/* a wrong version is the kernel's to drop, as it would without us */
		if (iph->version != 4 || iph->protocol != IPPROTO_UDP || hl < sizeof(*iph) ||
		    iph->daddr != cfg->local_ip4 || !cfg->local_ip4 ||
		    (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
			return RX_NOT_OURS;
		udp = (void *)iph + hl;
		l3_len = bpf_ntohs(iph->tot_len) - hl; /* what IP says UDP has */
		rx->family = XV_AF_INET;
		rx->ecn = iph->tos & INET_ECN_MASK;
		rx->src.w[0] = iph->saddr;
		rx->src.w[1] = rx->src.w[2] = rx->src.w[3] = 0;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;

		if ((void *)(ip6 + 1) > data_end)
			return RX_NOT_OURS;
		/* extension headers (incl. fragments) go to the kernel */
		if (ip6->version != 6 || ip6->nexthdr != IPPROTO_UDP ||
		    !ip_eq(&ip6->daddr, cfg->local_ip6) || ip6_is_zero(cfg->local_ip6))
			return RX_NOT_OURS;
		udp = (void *)(ip6 + 1);
		l3_len = bpf_ntohs(ip6->payload_len);
		rx->family = XV_AF_INET6;
		rx->ecn = (ip6->flow_lbl[0] >> 4) & INET_ECN_MASK;
		__builtin_memcpy(&rx->src, &ip6->saddr, 16);
	} else {
		return RX_NOT_OURS;
	}
	if ((void *)(udp + 1) > data_end || udp->dest != cfg->udp_port)
		return RX_NOT_OURS;
	vx = (void *)(udp + 1);
	if ((void *)(vx + 1) + sizeof(struct ethhdr) > data_end)
		return RX_MALFORMED;
	if (!(vx->flags & XV_VXLAN_FLAG_I))
		return RX_MALFORMED;
	/* The lengths must agree with the frame: a truncated datagram (or
	 * trailing bytes, which a VXLAN frame never needs as padding: it is at
	 * least 64 bytes) would otherwise be delivered as a cut or padded
	 * inner frame. The kernel drops the former and trims the latter. */
	udp_off = (void *)udp - data;
	ulen = bpf_ntohs(udp->len);
	if (ulen != l3_len || udp_off + ulen != total)
		return RX_MALFORMED;
	rx->vni = bpf_ntohl(vx->vni) >> 8;
	rx->inner_off = (void *)(vx + 1) - data;
	return RX_OURS;
}

enum { RX_DROP, RX_UNICAST, RX_FLOOD };

/*
 * RFC 6040 decapsulation (normal mode), as the kernel's vxlan does it
 * (INET_ECN_decapsulate): congestion the underlay marked on the outer header
 * (CE) reaches the inner one, an outer ECT(1) turns an inner ECT(0) into
 * ECT(1), and a CE on a packet whose sender does not do ECN is dropped: a
 * drop is the only congestion signal such a packet can carry. Without this,
 * marks set in the underlay are lost with the outer header and ECN senders
 * (DCTCP) never slow down. Inner frames with no ECN field (ARP, an inner VLAN
 * tag) pass as they are. Writes the inner IP header at ieth in place;
 * *csum_diff: what to add to a CHECKSUM_COMPLETE sum (an IPv4 header's own
 * checksum keeps it unchanged).
 */
enum { XV_ECN_ASIS, XV_ECN_CE, XV_ECN_ECT1, XV_ECN_DROP };

static __always_inline int ecn_decap(void *ieth_p, void *data_end, __u32 outer,
				     __u32 *csum_diff)
{
	struct ethhdr *ieth = ieth_p;
	struct iphdr *iph = (void *)(ieth + 1);
	struct ipv6hdr *ip6 = (void *)(ieth + 1);
	__u16 *word = (void *)(ieth + 1); /* the inner header's first 16 bits */
	__u16 old;
	__u32 inner, want;
	int v4;

	*csum_diff = 0;
	if ((void *)(ieth + 1) > data_end)
		return XV_ECN_ASIS;
	v4 = ieth->h_proto == bpf_htons(ETH_P_IP);
	if (v4 && (void *)(iph + 1) <= data_end)
		inner = iph->tos & INET_ECN_MASK;
	else if (ieth->h_proto == bpf_htons(ETH_P_IPV6) && (void *)(ip6 + 1) <= data_end)
		inner = (ip6->flow_lbl[0] >> 4) & INET_ECN_MASK;
	else
		return XV_ECN_ASIS;
	if (inner == INET_ECN_NOT_ECT)
		return outer == INET_ECN_CE ? XV_ECN_DROP : XV_ECN_ASIS;
	if (outer == INET_ECN_CE)
		want = INET_ECN_CE;
	else if (outer == INET_ECN_ECT_1 && inner == INET_ECN_ECT_0)
		want = INET_ECN_ECT_1;
	else
		return XV_ECN_ASIS;
	if (want == inner)
		return XV_ECN_ASIS;
	old = *word;
	if (v4) {
		iph->tos = (iph->tos & ~INET_ECN_MASK) | want;
		/* RFC 1624: HC' = ~(~HC + ~m + m') */
		iph->check = csum_fold((__u64)(__u16)~iph->check + (__u16)~old + *word);
	} else {
		ip6->flow_lbl[0] = (ip6->flow_lbl[0] & ~(INET_ECN_MASK << 4)) | (want << 4);
		*csum_diff = (__u32)(__u16)~old + *word;
	}
	return want == INET_ECN_CE ? XV_ECN_CE : XV_ECN_ECT1;
}

/* VNI/peer checks, learning and the forwarding decision. */
static __always_inline int rx_decide(const struct xv_config *cfg, void *data,
				     void *data_end, struct xv_rx *rx,
				     __u32 *ifindex, struct xv_stats **stp,
				     int *reason, int *cacheable, __u32 *slotp)
{
	struct xv_addr_key pk = { .vni = rx->vni, .family = rx->family };
	struct xv_fdb_key fk = { .vni = rx->vni };
	struct xv_peer_val *pv;
	struct xv_fdb_entry *fe;
	struct xv_stats *st;
	struct ethhdr *ieth;
	__u32 off = rx->inner_off, slot, flags;

	*stp = 0;
	/* a known peer is the common case and one lookup: its value carries
	 * the VNI's stats slot and flags */
	__builtin_memcpy(pk.addr, &rx->src, 16);
	pv = bpf_map_lookup_elem(&xv_peer, &pk);
	if (pv) {
		slot = pv->stats_slot;
		flags = pv->vni_flags;
	} else {
		struct xv_vni_info *vi = bpf_map_lookup_elem(&xv_vni, &rx->vni);

		if (!vi) {
			*reason = XV_DROP_UNKNOWN_VNI;
			return RX_DROP;
		}
		slot = vi->stats_slot;
		flags = vi->flags;
		if (!(flags & XV_VNI_F_ALLOW_UNKNOWN_PEER)) {
			*stp = get_stats(slot);
			*reason = XV_DROP_UNKNOWN_PEER;
			return RX_DROP;
		}
	}
	st = get_stats(slot);
	*stp = st;
	*slotp = slot;
	if (off > XV_MAX_INNER_OFF) {
		*reason = XV_DROP_MALFORMED;
		return RX_DROP;
	}
	ieth = data + off;
	if ((void *)(ieth + 1) > data_end) {
		*reason = XV_DROP_MALFORMED;
		return RX_DROP;
	}
	if (mac_is_multicast(ieth->h_source) || mac_is_zero(ieth->h_source)) {
		*reason = XV_DROP_BAD_SRC_MAC;
		return RX_DROP;
	}
	*cacheable = 1;
	if (!(flags & XV_VNI_F_NO_LEARN))
		*cacheable = fdb_learn(cfg, st, rx->vni, ieth->h_source, rx->family,
				       &rx->src, 0);
	if (mac_is_multicast(ieth->h_dest))
		return RX_FLOOD;
	mac_copy(fk.mac, ieth->h_dest);
	fe = bpf_map_lookup_elem(&xv_fdb, &fk);
	if (!fe)
		return RX_FLOOD; /* unknown unicast */
	if (!(fe->flags & XV_FDB_F_LOCAL)) {
		/* a bridge never sends a frame back out of its ingress port */
		*reason = XV_DROP_HAIRPIN;
		return RX_DROP;
	}
	*ifindex = fe->ifindex;
	return RX_UNICAST;
}

/*
 * GRO hand-off. A NIC's GRO runs after XDP, so a frame XDP passes is
 * aggregated with the rest of its TCP flow, and the endpoint gets one skb
 * per aggregate; a redirected frame becomes one skb of its own at the
 * endpoint. Unicast TCP of at least XV_GRO_MIN_LEN bytes is therefore stripped
 * here and passed with this tag in its metadata; xv_tc_underlay on the same
 * device's tcx ingress sends each aggregate to the endpoint. Only when attach
 * has put that program there (cfg->rx_gro_ifindex): without it the stack
 * would drop the frames as not addressed to this host. Any frame would be
 * delivered correctly either way; size and protocol only pick the faster way.
 */
#define XV_GRO_MAGIC 0x7876474fU /* "xvGO" */
/* Smaller frames go on as before: TCP that small (ACKs, interactive
 * writes) gains nothing from GRO, bulk segments are MSS-sized. */
#define XV_GRO_MIN_LEN 512

struct xv_gro_meta {
	__u32 ifindex; /* endpoint */
	__u32 magic;
};

static __always_inline int inner_is_tcp(const struct ethhdr *ieth, void *data_end)
{
	if ((void *)(ieth + 1) > data_end)
		return 0;
	if (ieth->h_proto == bpf_htons(ETH_P_IP)) {
		const struct iphdr *iph = (const void *)(ieth + 1);

		return (void *)(iph + 1) <= data_end && iph->protocol == IPPROTO_TCP;
	}
	if (ieth->h_proto == bpf_htons(ETH_P_IPV6)) {
		const struct ipv6hdr *ip6 = (const void *)(ieth + 1);

		return (void *)(ip6 + 1) <= data_end && ip6->nexthdr == IPPROTO_TCP;
	}
	return 0;
}

/* After the outer headers are gone: is this frame for the hand-off? The
 * config is looked up again rather than kept across the helper calls: the
 * small frames never need it. */
static __always_inline int gro_handoff(struct xdp_md *ctx)
{
	struct xv_config *cfg = get_config();

	return cfg && cfg->rx_gro_ifindex &&
	       inner_is_tcp(XDP_DATA(ctx), XDP_DATA_END(ctx)) &&
	       cfg->rx_gro_ifindex == ctx->ingress_ifindex;
}

/*
 * 0 when the kernel refuses bpf_xdp_adjust_meta to XDP programs at load
 * (some builds do): the loader sets it, the verifier then prunes the call
 * as dead code, and unicast TCP is redirected instead of handed to GRO.
 */
const volatile __u8 xv_xdp_meta = 1;

/* After the outer headers are gone: tag the frame for xv_tc_underlay. */
static __always_inline int gro_tag(struct xdp_md *ctx, __u32 ifindex)
{
	struct xv_gro_meta *m;

	/* drivers without metadata support refuse: the caller redirects */
	if (!xv_xdp_meta || bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m)))
		return -1;
	m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > XDP_DATA(ctx))
		return -1;
	m->ifindex = ifindex;
	m->magic = XV_GRO_MAGIC;
	return 0;
}

static __always_inline void count_rx(struct xv_stats *st, __u64 bytes)
{
	if (st) {
		st->rx_packets++;
		st->rx_bytes += bytes;
	}
}

/*
 * XDP on the underlay NIC (native mode). Unicast goes straight to the
 * endpoint through xv_devs; BUM is broadcast to the VNI's devmap in xv_bcast
 * (never back to the underlay: it is not in that map).
 */
SEC("xdp")
int xv_xdp_underlay(struct xdp_md *ctx)
{
	void *data = XDP_DATA(ctx);
	void *data_end = XDP_DATA_END(ctx);
	struct xv_config *cfg = get_config();
	struct xv_stats *st = 0;
	struct xv_rxflow *fc;
	struct ethhdr *ieth;
	struct xv_rx rx;
	__u32 ifindex = 0, off, idx, slot = 0, ilen;
	__u64 now, gen;
	int reason = XV_DROP_MALFORMED, verdict, cacheable = 0;
	void *inner = 0;
	long ret;

	if (!cfg) {
		count_event(0, XV_EV_NOT_CONFIGURED);
		return XDP_PASS;
	}
	verdict = rx_parse(cfg, data, data_end, data_end - data, &rx);
	if (verdict == RX_NOT_OURS)
		return XDP_PASS;
	if (verdict == RX_MALFORMED)
		goto drop;

	off = rx.inner_off;
	if (off > XV_MAX_INNER_OFF)
		goto drop;
	ieth = data + off;
	if ((void *)(ieth + 1) > data_end)
		goto drop;
	now = xv_now_ns();
	gen = get_gen();
	idx = xv_hash3(rx.src.w[0] ^ rx.src.w[3] ^ rx.vni, mac_word(ieth->h_source),
		       mac_word(ieth->h_dest)) & (XV_FLOW_CACHE_SIZE - 1);
	fc = bpf_map_lookup_elem(&xv_rxflow, &idx);
	if (fc && fc->valid && fc->gen == gen && now - fc->stamp_ns < refresh_ns(cfg) &&
	    fc->vni == rx.vni && fc->family == rx.family && ip_eq(fc->src, &rx.src) &&
	    mac_eq(fc->smac, ieth->h_source) && mac_eq(fc->dmac, ieth->h_dest)) {
		st = get_stats(fc->stats_slot);
		ifindex = fc->ifindex;
		verdict = RX_UNICAST;
		goto deliver;
	}

	verdict = rx_decide(cfg, data, data_end, &rx, &ifindex, &st, &reason,
			    &cacheable, &slot);
	if (verdict == RX_DROP)
		goto drop;
	if (verdict == RX_UNICAST && cacheable && fc) {
		fc->valid = 0;
		__builtin_memcpy(fc->src, &rx.src, 16);
		fc->vni = rx.vni;
		fc->family = rx.family;
		mac_copy(fc->smac, ieth->h_source);
		mac_copy(fc->dmac, ieth->h_dest);
		fc->ifindex = ifindex;
		fc->stats_slot = slot;
		fc->gen = gen;
		fc->stamp_ns = now;
		fc->valid = 1;
	}
deliver:
	if (unlikely(rx.ecn)) {
		__u32 csum_diff; /* no skb sum yet */
		int e = ecn_decap(ieth, data_end, rx.ecn, &csum_diff);

		if (e == XV_ECN_DROP) {
			reason = XV_DROP_ECN_NOT_ECT;
			goto drop;
		}
		if (e == XV_ECN_CE)
			count_event(st, XV_EV_ECN_CE);
	}
	if (verdict == RX_FLOOD) {
		inner = bpf_map_lookup_elem(&xv_bcast, &rx.vni);
		if (!inner) {
			reason = XV_DROP_NO_ENDPOINT;
			goto drop;
		}
	}
	if (bpf_xdp_adjust_head(ctx, rx.inner_off)) {
		reason = XV_DROP_MALFORMED;
		goto drop;
	}
	/* rx counts what is delivered: only once the redirect is accepted */
	ilen = XDP_DATA_END(ctx) - XDP_DATA(ctx);
	if (verdict == RX_UNICAST) {
		/* cheap tests first: the inner L4 protocol is in the frame's
		 * second cache line, ingress_ifindex three loads away */
		if (ilen >= XV_GRO_MIN_LEN && gro_handoff(ctx) && !gro_tag(ctx, ifindex)) {
			count_rx(st, ilen);
			count_event(st, XV_EV_RX_GRO);
			return XDP_PASS;
		}
		ret = bpf_redirect_map(&xv_devs, ifindex, XDP_DROP);
		if (ret != XDP_REDIRECT) {
			reason = XV_DROP_NO_ENDPOINT;
			goto drop;
		}
		count_rx(st, ilen);
		return ret;
	}
	count_event(st, XV_EV_FLOOD);
	ret = bpf_redirect_map(inner, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
	if (ret != XDP_REDIRECT) {
		reason = XV_DROP_REDIRECT_FAILED;
		goto drop;
	}
	count_rx(st, ilen);
	return ret;
drop:
	count_drop(st, reason);
	return XDP_DROP;
}

/*
 * Same receive path for the skb world (mode tc: no XDP on the underlay), and
 * next to xv_xdp_underlay the second half of its GRO hand-off: frames that
 * carry its tag are already decapsulated, counted and aggregated. Decap is a
 * copy of the inner Ethernet header over the outer one followed by removing
 * everything up to the inner L3 header.
 */
SEC("tc")
int xv_tc_underlay(struct __sk_buff *skb)
{
	void *data = SKB_DATA(skb);
	void *data_end = SKB_DATA_END(skb);
	struct xv_gro_meta *m = (void *)(long)skb->data_meta;
	struct xv_config *cfg;
	struct xv_stats *st = 0;
	struct ethhdr *ieth;
	struct xv_bum *bum;
	struct xv_rx rx;
	__u32 ifindex = 0, off, slot, ilen;
	__u64 flags = 0;
	int reason = XV_DROP_MALFORMED, verdict, cacheable, padded = 0;

	if ((void *)(m + 1) <= data && m->magic == XV_GRO_MAGIC) {
		__u32 ep = m->ifindex;

		/* an outer tag the device took off (VLAN offload) is not the
		 * inner frame's */
		if (skb->vlan_present)
			bpf_skb_vlan_pop(skb);
		return bpf_redirect(ep, 0);
	}
	cfg = get_config();
	if (!cfg) {
		count_event(0, XV_EV_NOT_CONFIGURED);
		return TC_ACT_OK;
	}
	if (data_end - data < XV_MAX_INNER_OFF + ETH_HLEN && skb->len > data_end - data) {
		/* headers in paged data: make them linear */
		bpf_skb_pull_data(skb, skb->len < XV_MAX_INNER_OFF + ETH_HLEN ?
				       skb->len : XV_MAX_INNER_OFF + ETH_HLEN);
		data = SKB_DATA(skb);
		data_end = SKB_DATA_END(skb);
	}
	verdict = rx_parse(cfg, data, data_end, skb->len, &rx);
	if (verdict == RX_NOT_OURS)
		return TC_ACT_OK;
	if (verdict == RX_MALFORMED)
		goto drop;
	verdict = rx_decide(cfg, data, data_end, &rx, &ifindex, &st, &reason,
			    &cacheable, &slot);
	if (verdict == RX_DROP)
		goto drop;

	off = rx.inner_off;
	if (off > XV_MAX_INNER_OFF)
		goto drop;
	if (unlikely(rx.ecn)) {
		__u32 csum_diff;
		int e;

		/* the longer inner header, so neither family's is cut */
		tc_pull(skb, off + ETH_HLEN + sizeof(struct ipv6hdr));
		data = SKB_DATA(skb);
		data_end = SKB_DATA_END(skb);
		if (data + sizeof(struct ethhdr) > data_end)
			goto drop;
		e = ecn_decap(data + off, data_end, rx.ecn, &csum_diff);
		if (e == XV_ECN_DROP) {
			reason = XV_DROP_ECN_NOT_ECT;
			goto drop;
		}
		if (csum_diff)
			bpf_csum_update(skb, csum_diff);
		if (e == XV_ECN_CE)
			count_event(st, XV_EV_ECN_CE);
	}
	ilen = skb->len - off;
	if (ilen < ETH_HLEN + sizeof(struct ipv6hdr)) {
		/* bpf_skb_adjust_room() refuses to leave less than the outer
		 * L3 base header (20 or 40 bytes) after the MAC header: short
		 * inner frames (ARP is 28 bytes) would be dropped. Pad, decap,
		 * then trim back to the inner length. */
		if (bpf_skb_change_tail(skb, skb->len + sizeof(struct ipv6hdr), 0)) {
			reason = XV_DROP_ENCAP_FAILED;
			goto drop;
		}
		padded = 1;
		data = SKB_DATA(skb);
		data_end = SKB_DATA_END(skb);
		if (data + sizeof(struct ethhdr) > data_end)
			goto drop;
	}
	ieth = data + off;
	if ((void *)(ieth + 1) > data_end)
		goto drop;
	if (ieth->h_proto == bpf_htons(ETH_P_IP))
		flags = BPF_F_ADJ_ROOM_DECAP_L3_IPV4;
	else if (ieth->h_proto == bpf_htons(ETH_P_IPV6))
		flags = BPF_F_ADJ_ROOM_DECAP_L3_IPV6;
	__builtin_memcpy(data, ieth, sizeof(*ieth));
	/* removes [ETH_HLEN, off + ETH_HLEN): outer L3..VXLAN + old inner eth */
	if (bpf_skb_adjust_room(skb, -(__s32)off, BPF_ADJ_ROOM_MAC, flags)) {
		reason = XV_DROP_ENCAP_FAILED;
		goto drop;
	}
	if (padded && bpf_skb_change_tail(skb, ilen, 0)) {
		reason = XV_DROP_ENCAP_FAILED;
		goto drop;
	}
	if (skb->vlan_present)
		bpf_skb_vlan_pop(skb);
	if (verdict == RX_UNICAST) {
		if (bpf_redirect(ifindex, 0) != TC_ACT_REDIRECT) {
			reason = XV_DROP_REDIRECT_FAILED;
			goto drop;
		}
		count_rx(st, skb->len);
		return TC_ACT_REDIRECT;
	}
	bum = bpf_map_lookup_elem(&xv_bum, &rx.vni);
	if (!bum || !bum->n_local) {
		reason = XV_DROP_NO_ENDPOINT;
		goto drop;
	}
	count_rx(st, skb->len);
	count_event(st, XV_EV_FLOOD);
	for (int i = 0; i < XV_BUM_MAX_LOCAL; i++) {
		if (i >= bum->n_local)
			break;
		if (bpf_clone_redirect(skb, bum->local[i], 0))
			count_drop(st, XV_DROP_REDIRECT_FAILED);
	}
	return TC_ACT_SHOT;
drop:
	count_drop(st, reason);
	return TC_ACT_SHOT;
}

#endif /* XVTEP_UNDERLAY_H */
