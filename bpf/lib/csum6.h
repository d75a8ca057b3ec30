/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The outer IPv6 UDP checksum (IPv4 VXLAN sends 0, IPv6 must not by default). */
#ifndef XV_LIB_CSUM6_H
#define XV_LIB_CSUM6_H

#include "config.h"

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
 * Global (separately verified) functions: the flood loops would otherwise
 * make the verifier walk the checksum loop once per peer and give up.
 */
__attribute__((noinline))
int xv_csum6_skb(struct __sk_buff *skb)
{
	int csum;

	if (!skb)
		return -1;
	csum = udp6_csum(skb, 0, SKB_DATA(skb), SKB_DATA_END(skb), skb->len);
	return store_udp6_csum(SKB_DATA(skb), SKB_DATA_END(skb), csum);
}

__attribute__((noinline))
int xv_csum6_xdp(struct xdp_md *ctx)
{
	void *data, *data_end;
	int csum;

	if (!ctx)
		return -1;
	data = XDP_DATA(ctx);
	data_end = XDP_DATA_END(ctx);
	csum = udp6_csum(ctx, 1, data, data_end, data_end - data);
	return store_udp6_csum(XDP_DATA(ctx), XDP_DATA_END(ctx), csum);
}

#endif /* XV_LIB_CSUM6_H */
