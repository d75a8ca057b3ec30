/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* TC: GSO-safe encapsulation of an skb. */
#ifndef XV_LIB_ENCAP_TC_H
#define XV_LIB_ENCAP_TC_H

#include "encap.h"
#include "csum6.h"
#include "pull.h"

static __always_inline __u64 encap_flags(__u8 family)
{
	return (family == XV_AF_INET ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV4
				     : BPF_F_ADJ_ROOM_ENCAP_L3_IPV6) |
	       BPF_F_ADJ_ROOM_ENCAP_L4_UDP | BPF_F_ADJ_ROOM_ENCAP_L2_ETH |
	       BPF_F_ADJ_ROOM_ENCAP_L2(ETH_HLEN);
}

/*
 * Segment size check for GSO skbs that must keep their gso_size (UDP GSO):
 * inner L3 header + L4 header + gso_size must fit. Returns 0 if fine.
 */
static __always_inline int gso_too_big(struct __sk_buff *skb, __u32 ovh, __u32 mtu)
{
	void *data = SKB_DATA(skb);
	void *data_end = SKB_DATA_END(skb);
	struct ethhdr *eth = data;
	__u32 hl;

	if ((void *)(eth + 1) > data_end)
		return 1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end)
			return 1;
		hl = iph->ihl * 4;
	} else {
		hl = sizeof(struct ipv6hdr);
	}
	return hl + sizeof(struct udphdr) + skb->gso_size + ovh - ETH_HLEN > mtu;
}

/*
 * Insert room for the outer headers and write them. p must be prepared; the
 * inner Ethernet header is re-written from `ieth` because adjust_room opens
 * the gap after the (old) MAC header.
 */
static __always_inline int tc_encap(struct __sk_buff *skb, struct xv_encap *p,
				    const struct ethhdr *ieth, __u32 mtu)
{
	__u32 ovh = overhead_of(p->family);
	__u64 flags = encap_flags(p->family);
	void *data, *data_end;
	int gso = skb->gso_size != 0;

	p->inner_len = skb->len;
	if (skb->protocol != bpf_htons(ETH_P_IP) &&
	    skb->protocol != bpf_htons(ETH_P_IPV6)) {
		/* adjust_room only takes IP skbs; ARP & co. are never GSO, so
		 * just push the outer headers in front of the inner frame */
		if (bpf_skb_change_head(skb, ovh, 0))
			return XV_DROP_ENCAP_FAILED;
		tc_pull(skb, ovh + ETH_HLEN);
		if (write_outer(SKB_DATA(skb), SKB_DATA_END(skb), p))
			return XV_DROP_ENCAP_FAILED;
		if (p->family == XV_AF_INET6 && !p->zero_csum6 && xv_csum6_skb(skb))
			return XV_DROP_ENCAP_FAILED;
		return 0;
	}
	if (bpf_skb_adjust_room(skb, ovh, BPF_ADJ_ROOM_MAC, flags)) {
		/* UDP GSO refuses a shrinking gso_size: keep it if it fits */
		if (!gso || gso_too_big(skb, ovh, mtu) ||
		    bpf_skb_adjust_room(skb, ovh, BPF_ADJ_ROOM_MAC,
					flags | BPF_F_ADJ_ROOM_FIXED_GSO))
			return XV_DROP_ENCAP_FAILED;
	}
	tc_pull(skb, ovh + ETH_HLEN);
	data = SKB_DATA(skb);
	data_end = SKB_DATA_END(skb);
	if (write_outer(data, data_end, p))
		return XV_DROP_ENCAP_FAILED;
	if (data + ovh + ETH_HLEN > data_end)
		return XV_DROP_ENCAP_FAILED;
	__builtin_memcpy(data + ovh, ieth, ETH_HLEN);
	/* GSO segments differ from the super-packet, so they can't carry a
	 * checksum computed here: they go out with 0 */
	if (p->family == XV_AF_INET6 && !p->zero_csum6 && !gso &&
	    xv_csum6_skb(skb))
		return XV_DROP_ENCAP_FAILED;
	return 0;
}

#endif /* XV_LIB_ENCAP_TC_H */
