/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The outer IPv6 UDP checksum (IPv4 VXLAN sends 0, IPv6 must not by default). */
#ifndef XV_LIB_CSUM6_H
#define XV_LIB_CSUM6_H

#include "config.h"
#include "scratch.h"

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
	/* two adds into the 64-bit sum: added as __u32 first, the length
	 * word (0xfa00.. and up for TCP) and the protocol word carried out of
	 * 32 bits, and the outer checksum came out 0x0100 off */
	in += bpf_htonl(l4len);
	in += bpf_htonl(proto);
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
 * Global (separately verified) functions: the flood loops would otherwise
 * make the verifier walk the checksum loop once per peer and give up.
 */
__attribute__((noinline))
int xv_csum6_skb(struct __sk_buff *skb)
{
	int csum;

	if (!skb || store_udp6_csum(SKB_DATA(skb), SKB_DATA_END(skb), 0))
		return -1;
	csum = udp6_csum_lco(skb, 0);
	if (csum == -2)
		csum = udp6_csum(skb, 0, SKB_DATA(skb), SKB_DATA_END(skb), skb->len);
	return store_udp6_csum(SKB_DATA(skb), SKB_DATA_END(skb), csum);
}

__attribute__((noinline))
int xv_csum6_xdp(struct xdp_md *ctx)
{
	void *data, *data_end;
	int csum;

	if (!ctx || store_udp6_csum(XDP_DATA(ctx), XDP_DATA_END(ctx), 0))
		return -1;
	csum = udp6_csum_lco(ctx, 1);
	if (csum != -2)
		return store_udp6_csum(XDP_DATA(ctx), XDP_DATA_END(ctx), csum);
	data = XDP_DATA(ctx);
	data_end = XDP_DATA_END(ctx);
	csum = udp6_csum(ctx, 1, data, data_end, data_end - data);
	return store_udp6_csum(XDP_DATA(ctx), XDP_DATA_END(ctx), csum);
}

#endif /* XV_LIB_CSUM6_H */
