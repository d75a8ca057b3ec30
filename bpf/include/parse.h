/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Header layouts and bounds-checked parse helpers shared by XDP and TC. */
#ifndef XVTEP_PARSE_H
#define XVTEP_PARSE_H

#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <linux/icmpv6.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include "compat.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
/*
 * ICMPv4 by hand: <linux/icmp.h> includes <linux/if.h>, which reaches glibc's
 * <sys/socket.h>, and glibc compiled for -target bpf wants the 32-bit stubs
 * of libc6-dev-i386. Only the UAPI headers that stay inside linux/ and asm/
 * are included here; these are the fields and types the programs use.
 */
struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		struct { __be16 id; __be16 sequence; } echo;
		__be32 gateway;
		struct { __be16 __unused; __be16 mtu; } frag;
		__u8 reserved[4];
	} un;
};
#define ICMP_DEST_UNREACH   3
#define ICMP_SOURCE_QUENCH  4
#define ICMP_REDIRECT       5
#define ICMP_TIME_EXCEEDED  11
#define ICMP_PARAMETERPROB  12
#define ICMP_FRAG_NEEDED    4

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* RFC 3168 ECN codepoints, the kernel's INET_ECN_* (not in the UAPI) */
#define INET_ECN_NOT_ECT 0
#define INET_ECN_ECT_1   1
#define INET_ECN_ECT_0   2
#define INET_ECN_CE      3
#define INET_ECN_MASK    3

/*
 * Context loads through asm: clang otherwise likes to keep &skb->data_end in
 * a spilled register and dereference it later, which the verifier rejects
 * ("dereference of modified ctx ptr").
 */
#define XV_CTX_PTR(ctx, type, field) ({                                     \
	void *__p;                                                          \
	asm volatile("%0 = *(u32 *)(%1 + %2)"                               \
		     : "=r"(__p) : "r"(ctx), "i"(__builtin_offsetof(type, field))); \
	__p; })
#define SKB_DATA(skb)     XV_CTX_PTR(skb, struct __sk_buff, data)
#define SKB_DATA_END(skb) XV_CTX_PTR(skb, struct __sk_buff, data_end)
#define XDP_DATA(x)       XV_CTX_PTR(x, struct xdp_md, data)
#define XDP_DATA_END(x)   XV_CTX_PTR(x, struct xdp_md, data_end)

/* RFC 7348 header; the I flag is bit 3 of the first octet. */
struct xv_vxlanhdr {
	__be32 flags;
	__be32 vni; /* VNI in the upper 24 bits */
};
#define XV_VXLAN_FLAG_I bpf_htonl(0x08000000)

struct xv_vlanhdr {
	__be16 tci;
	__be16 proto;
};

/* ARP for Ethernet/IPv4 as it appears on the wire (linux/if_arp.h only has
 * the fixed part). */
struct xv_arp {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[6];
	__u8 spa[4];
	__u8 tha[6];
	__u8 tpa[4];
} __attribute__((packed));
_Static_assert(sizeof(struct xv_arp) == 28, "arp");

/* ND neighbour solicitation/advertisement with one link-layer option. */
struct xv_nd {
	__u8 type;
	__u8 code;
	__sum16 csum;
	__be32 flags;
	__u8 target[16];
	__u8 opt_type;
	__u8 opt_len;
	__u8 opt_mac[6];
};
_Static_assert(sizeof(struct xv_nd) == 32, "nd");

#define XV_OVERHEAD4 (sizeof(struct ethhdr) + sizeof(struct iphdr) + \
		      sizeof(struct udphdr) + sizeof(struct xv_vxlanhdr))  /* 50 */
#define XV_OVERHEAD6 (sizeof(struct ethhdr) + sizeof(struct ipv6hdr) + \
		      sizeof(struct udphdr) + sizeof(struct xv_vxlanhdr))  /* 70 */

static __always_inline int mac_is_multicast(const __u8 *mac)
{
	return mac[0] & 1;
}

static __always_inline int mac_is_zero(const __u8 *mac)
{
	return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

static __always_inline void mac_copy(__u8 *dst, const __u8 *src)
{
	__builtin_memcpy(dst, src, 6);
}

/* 16-byte address helpers; IPv4 lives in word 0. */
struct xv_ip {
	__u32 w[4];
};

static __always_inline int ip_eq(const void *a, const void *b)
{
	const __u32 *x = a, *y = b;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]));
}

static __always_inline int ip6_is_zero(const void *a)
{
	const __u32 *x = a;

	return !(x[0] | x[1] | x[2] | x[3]);
}

/*
 * Outer Ethernet (+ at most one 802.1Q/802.1ad tag). Returns the L3 offset
 * or -1; *proto gets the L3 ethertype (network order).
 */
static __always_inline int parse_eth(void *data, void *data_end, __be16 *proto)
{
	struct ethhdr *eth = data;
	int off = sizeof(*eth);

	if ((void *)(eth + 1) > data_end)
		return -1;
	*proto = eth->h_proto;
	if (*proto == bpf_htons(ETH_P_8021Q) || *proto == bpf_htons(ETH_P_8021AD)) {
		struct xv_vlanhdr *vh = data + off;

		if ((void *)(vh + 1) > data_end)
			return -1;
		*proto = vh->proto;
		off += sizeof(*vh);
	}
	return off;
}

/*
 * Hash of three 32-bit words, for the outer UDP source port of an inner flow
 * (the same in XDP and TC, so a flow split between the two paths keeps one
 * ECMP path) and for the slots of the direct-mapped caches. It only has to
 * spread: a 64-bit multiply-xorshift mix (the murmur3 finalizer's shape) is
 * a few instructions, where jhash's final rounds were a ~40-instruction
 * serial chain (3-9 ns per packet more on decap and encap, measured with
 * bench/prog-cost.mjs --objects).
 */
static __always_inline __u32 xv_hash3(__u32 a, __u32 b, __u32 c)
{
	__u64 x = ((__u64)b << 32 | c) ^ ((__u64)a * 0x9e3779b97f4a7c15ULL);

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (__u32)x;
}

/*
 * What the encap path needs from the inner frame, in one pass over its
 * headers. hash: L3 addresses and L4 ports when present (not for non-first
 * fragments), else the MACs. dsf: inner DSCP/ECN byte, -1 if not IP.
 * df: IPv4 DF set, or IPv6 (never fragments in flight). csum_safe: the L4
 * checksum is certainly complete (ICMP/ICMPv6, which the stack always
 * checksums in software, or not IP at all): frames from local endpoints may
 * be CHECKSUM_PARTIAL, which BPF can't see.
 */
struct xv_inner {
	__u32 hash;
	__s32 dsf;
	__u8 df;
	__u8 csum_safe;
};

static __always_inline void inner_parse(void *data, void *data_end,
					struct xv_inner *ii)
{
	struct ethhdr *eth = data;
	__u32 a, b, c = 0x9e3779b9;
	void *l4 = 0;
	__u8 proto = 0;

	ii->dsf = -1;
	ii->df = 0;
	ii->csum_safe = 1;
	ii->hash = 0;
	if ((void *)(eth + 1) > data_end)
		return;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		ii->csum_safe = 0;
		if ((void *)(iph + 1) > data_end)
			goto l2;
		ii->dsf = iph->tos;
		ii->df = !!(iph->frag_off & bpf_htons(IP_DF));
		ii->csum_safe = iph->protocol == IPPROTO_ICMP;
		a = iph->saddr;
		b = iph->daddr;
		proto = iph->protocol;
		if (!(iph->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
			l4 = (void *)iph + (iph->ihl & 0xf) * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		ii->csum_safe = 0;
		if ((void *)(ip6 + 1) > data_end)
			goto l2;
		ii->dsf = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
		ii->df = 1;
		ii->csum_safe = ip6->nexthdr == IPPROTO_ICMPV6;
		a = ip6->saddr.in6_u.u6_addr32[0] ^ ip6->saddr.in6_u.u6_addr32[1] ^
		    ip6->saddr.in6_u.u6_addr32[2] ^ ip6->saddr.in6_u.u6_addr32[3];
		b = ip6->daddr.in6_u.u6_addr32[0] ^ ip6->daddr.in6_u.u6_addr32[1] ^
		    ip6->daddr.in6_u.u6_addr32[2] ^ ip6->daddr.in6_u.u6_addr32[3];
		proto = ip6->nexthdr;
		l4 = ip6 + 1;
	} else {
		goto l2;
	}
	c += proto;
	if (l4 && (proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
		   proto == IPPROTO_SCTP)) {
		__u32 *ports = l4;

		if ((void *)(ports + 1) <= data_end)
			c ^= *ports;
	}
	ii->hash = xv_hash3(a, b, c);
	return;
l2:
	a = *(__u32 *)eth->h_dest ^ ((__u32)*(__u16 *)(eth->h_dest + 4) << 16);
	b = *(__u32 *)eth->h_source ^ ((__u32)*(__u16 *)(eth->h_source + 4) << 16);
	ii->hash = xv_hash3(a, b, c ^ eth->h_proto);
}

/* xv_inner.csum_safe alone, as inner_parse() decides it, without the rest
 * (the hash's two multiplies): for frames that are only to be handed on. */
static __always_inline int inner_csum_safe(void *data, void *data_end)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return 1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		return (void *)(iph + 1) <= data_end && iph->protocol == IPPROTO_ICMP;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		return (void *)(ip6 + 1) <= data_end && ip6->nexthdr == IPPROTO_ICMPV6;
	}
	return 1;
}

#endif /* XVTEP_PARSE_H */
