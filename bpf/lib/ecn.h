/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* ECN across the tunnel (RFC 6040, normal mode), both directions. */
#ifndef XV_LIB_ECN_H
#define XV_LIB_ECN_H

#include "config.h"
#include "stats.h"
#include "pull.h"

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

/* TC: ecn_decap() on the inner frame at `off`, keeping a CHECKSUM_COMPLETE
 * sum right. Returns 0, or -1 with *reason. */
static __always_inline int tc_ecn_decap(struct __sk_buff *skb, __u32 off, __u32 ecn,
					struct xv_stats *st, int *reason)
{
	void *data, *data_end;
	__u32 csum_diff;
	int e;

	/* the longer inner header, so neither family's is cut */
	tc_pull(skb, off + ETH_HLEN + sizeof(struct ipv6hdr));
	data = SKB_DATA(skb);
	data_end = SKB_DATA_END(skb);
	if (data + sizeof(struct ethhdr) > data_end) {
		*reason = XV_DROP_MALFORMED;
		return -1;
	}
	e = ecn_decap(data + off, data_end, ecn, &csum_diff);
	if (e == XV_ECN_DROP) {
		*reason = XV_DROP_ECN_NOT_ECT;
		return -1;
	}
	if (csum_diff)
		bpf_csum_update(skb, csum_diff);
	if (e == XV_ECN_CE)
		count_event(st, XV_EV_ECN_CE);
	return 0;
}

#endif /* XV_LIB_ECN_H */
