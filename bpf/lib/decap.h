/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* TC: removing the outer headers of a received skb. */
#ifndef XV_LIB_DECAP_H
#define XV_LIB_DECAP_H

#include "config.h"

/*
 * Decap is a copy of the inner Ethernet header over the outer one followed
 * by removing everything up to the inner L3 header. off: the inner Ethernet
 * header's offset, already checked against XV_MAX_INNER_OFF. Returns 0, or
 * -1 with *reason.
 */
static __always_inline int tc_decap(struct __sk_buff *skb, __u32 off, int *reason)
{
	void *data = SKB_DATA(skb);
	void *data_end = SKB_DATA_END(skb);
	__u32 ilen = skb->len - off;
	struct ethhdr *ieth;
	__u64 flags = 0;
	int padded = 0;

	*reason = XV_DROP_MALFORMED;
	if (ilen < ETH_HLEN + sizeof(struct ipv6hdr)) {
		/* bpf_skb_adjust_room() refuses to leave less than the outer
		 * L3 base header (20 or 40 bytes) after the MAC header: short
		 * inner frames (ARP is 28 bytes) would be dropped. Pad, decap,
		 * then trim back to the inner length. */
		if (bpf_skb_change_tail(skb, skb->len + sizeof(struct ipv6hdr), 0)) {
			*reason = XV_DROP_ENCAP_FAILED;
			return -1;
		}
		padded = 1;
		data = SKB_DATA(skb);
		data_end = SKB_DATA_END(skb);
	}
	if (data + sizeof(struct ethhdr) > data_end)
		return -1;
	ieth = data + off;
	if ((void *)(ieth + 1) > data_end)
		return -1;
	if (ieth->h_proto == bpf_htons(ETH_P_IP))
		flags = BPF_F_ADJ_ROOM_DECAP_L3_IPV4;
	else if (ieth->h_proto == bpf_htons(ETH_P_IPV6))
		flags = BPF_F_ADJ_ROOM_DECAP_L3_IPV6;
	__builtin_memcpy(data, ieth, sizeof(*ieth));
	*reason = XV_DROP_ENCAP_FAILED;
	/* removes [ETH_HLEN, off + ETH_HLEN): outer L3..VXLAN + old inner eth */
	if (bpf_skb_adjust_room(skb, -(__s32)off, BPF_ADJ_ROOM_MAC, flags))
		return -1;
	if (padded && bpf_skb_change_tail(skb, ilen, 0))
		return -1;
	if (skb->vlan_present)
		bpf_skb_vlan_pop(skb);
	return 0;
}

#endif /* XV_LIB_DECAP_H */
