/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP "too big" replies. Two steps because the caller must shrink the
 * frame with its own helper (XDP vs skb) in between:
 *   icmp_save() copies what the reply needs, icmp_build() writes it.
 */
#ifndef XV_LIB_ICMP_H
#define XV_LIB_ICMP_H

#include "config.h"
#include "stats.h"
#include "pull.h"

/* Bytes of the offending packet quoted in generated ICMP errors: enough for
 * an IPv6 header plus the L4 ports/sequence the sender matches on. */
#define XV_ICMP_QUOTE 64

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

/*
 * XDP: turn a frame too big for the tunnel into the ICMP error back to its
 * sender (XDP_TX), or drop it. mtu: the inner MTU to advertise.
 */
static __always_inline int xdp_too_big(struct xdp_md *ctx, void *data, void *data_end,
				       struct xv_stats *st, __u32 len, __u32 mtu)
{
	struct xv_icmp_save s;
	__u32 nlen = icmp_save(data, data_end, &s);

	if (!nlen || nlen > len)
		goto drop;
	if (bpf_xdp_adjust_tail(ctx, (int)nlen - (int)len))
		goto drop;
	data = XDP_DATA(ctx);
	data_end = XDP_DATA_END(ctx);
	if (icmp_build(data, data_end, &s, mtu))
		goto drop;
	count_event(st, XV_EV_ICMP_TOO_BIG);
	return XDP_TX;
drop:
	count_drop(st, XV_DROP_MTU_EXCEEDED);
	return XDP_DROP;
}

/* TC: rewrite the skb into the ICMP error back to its sender (redirected out
 * of ifindex, where it came from), or drop it. mtu: the inner MTU to
 * advertise. */
static __always_inline int tc_too_big(struct __sk_buff *skb, struct xv_stats *st,
				      __u32 ifindex, __u32 mtu)
{
	struct xv_icmp_save s;
	void *data, *data_end;
	__u32 nlen;

	tc_pull(skb, sizeof(struct ethhdr) + XV_ICMP_QUOTE);
	data = SKB_DATA(skb);
	data_end = SKB_DATA_END(skb);
	nlen = icmp_save(data, data_end, &s);
	if (!nlen || bpf_skb_change_tail(skb, nlen, 0))
		goto drop;
	tc_pull(skb, nlen);
	data = SKB_DATA(skb);
	data_end = SKB_DATA_END(skb);
	if (icmp_build(data, data_end, &s, mtu))
		goto drop;
	count_event(st, XV_EV_ICMP_TOO_BIG);
	return bpf_redirect(ifindex, 0);
drop:
	count_drop(st, XV_DROP_MTU_EXCEEDED);
	return TC_ACT_SHOT;
}

#endif /* XV_LIB_ICMP_H */
