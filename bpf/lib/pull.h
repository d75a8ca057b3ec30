/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* TC: make packet bytes linear for direct access. */
#ifndef XV_LIB_PULL_H
#define XV_LIB_PULL_H

#include "config.h"

/* Make at least `want` bytes (or the whole skb) linear for direct access. */
static __always_inline void tc_pull(struct __sk_buff *skb, __u32 want)
{
	__u32 have = SKB_DATA_END(skb) - SKB_DATA(skb);

	if (want > skb->len)
		want = skb->len;
	if (have < want)
		bpf_skb_pull_data(skb, want);
}

/*
 * Make linear what the flow hash reads (inner_parse): Eth + IPv6, or IPv4
 * with its options, + the L4 ports, as XDP sees them. No more: on a cloned
 * skb (TCP sends clones) a pull beyond the linear headers copies the head,
 * and a GSO super-frame's payload would be pulled into it. Paths that parse
 * further (ND) pull their own.
 */
static __always_inline void tc_pull_hash_headers(struct __sk_buff *skb)
{
	struct iphdr *iph;

	tc_pull(skb, sizeof(struct ethhdr) + sizeof(struct ipv6hdr) + 4);
	iph = SKB_DATA(skb) + sizeof(struct ethhdr);
	if (skb->protocol == bpf_htons(ETH_P_IP) && (void *)(iph + 1) <= SKB_DATA_END(skb) &&
	    iph->ihl > 10)
		tc_pull(skb, sizeof(struct ethhdr) + iph->ihl * 4 + 4);
}

#endif /* XV_LIB_PULL_H */
