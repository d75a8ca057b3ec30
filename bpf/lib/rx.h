/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Receive: is a frame VXLAN for us, and where does its inner frame go. */
#ifndef XV_LIB_RX_H
#define XV_LIB_RX_H

#include "config.h"
#include "stats.h"
#include "fdb.h"
#include "flowcache.h"

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
 * The frame's receive flow entry: *fcp = its slot (0 if none); returns 1 if
 * the slot holds this flow's decision and it is still valid.
 */
static __always_inline int rx_flow_find(const struct xv_config *cfg,
					const struct xv_rx *rx,
					const struct ethhdr *ieth, __u64 now,
					__u64 gen, struct xv_rxflow **fcp)
{
	__u32 idx = xv_hash3(rx->src.w[0] ^ rx->src.w[3] ^ rx->vni,
			     mac_word(ieth->h_source), mac_word(ieth->h_dest)) &
		    (XV_FLOW_CACHE_SIZE - 1);
	struct xv_rxflow *fc = bpf_map_lookup_elem(&xv_rxflow, &idx);

	*fcp = fc;
	return fc && fc->valid && fc->gen == gen && now - fc->stamp_ns < refresh_ns(cfg) &&
	       fc->vni == rx->vni && fc->family == rx->family && ip_eq(fc->src, &rx->src) &&
	       mac_eq(fc->smac, ieth->h_source) && mac_eq(fc->dmac, ieth->h_dest);
}

/* Keep a unicast decision in the frame's flow slot. */
static __always_inline void rx_flow_fill(struct xv_rxflow *fc, const struct xv_rx *rx,
					 const struct ethhdr *ieth, __u32 ifindex,
					 __u32 slot, __u64 gen, __u64 now)
{
	fc->valid = 0;
	__builtin_memcpy(fc->src, &rx->src, 16);
	fc->vni = rx->vni;
	fc->family = rx->family;
	mac_copy(fc->smac, ieth->h_source);
	mac_copy(fc->dmac, ieth->h_dest);
	fc->ifindex = ifindex;
	fc->stats_slot = slot;
	fc->gen = gen;
	fc->stamp_ns = now;
	fc->valid = 1;
}

#endif /* XV_LIB_RX_H */
