/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* XDP fast path: a flow's outer headers kept as a template in xv_txflow. */
#ifndef XV_LIB_TMPL_H
#define XV_LIB_TMPL_H

#include "encap.h"

/*
 * Keep the outer headers just written at `data` as the flow's template.
 * Returns 0, or -1 if they are not all there.
 */
static __always_inline int tx_tmpl_save(struct xv_txflow *fc, void *data,
					void *data_end, __u8 family)
{
	if (family == XV_AF_INET) {
		struct iphdr *iph = data + sizeof(struct ethhdr);
		__u64 sum;

		if (data + XV_OVERHEAD4 > data_end)
			return -1;
		__builtin_memcpy(fc->hdr, data, XV_OVERHEAD4);
		/* TTL + protocol, source, destination: see tx_tmpl_write() */
		sum = (__u64)*((__u16 *)iph + 4) + iph->saddr + iph->daddr;
		sum = (sum & 0xffffffff) + (sum >> 32);
		fc->hdr_csum = (sum & 0xffffffff) + (sum >> 32);
	} else {
		if (data + XV_OVERHEAD6 > data_end)
			return -1;
		__builtin_memcpy(fc->hdr, data, XV_OVERHEAD6);
	}
	return 0;
}

/*
 * Write the flow's outer headers at `data` from its template: word copies,
 * then the fields that vary per packet (p: encap_vary()). The IPv4 header
 * checksum is the template's partial sum plus the two varying words, so
 * nothing is read back from the packet. Returns 0 or -1 (bounds).
 */
static __always_inline int tx_tmpl_write(void *data, void *data_end,
					 const struct xv_txflow *fc,
					 const struct xv_vary *p, __u8 family,
					 __u32 inner_len)
{
	const __u64 *t = (const __u64 *)fc->hdr;
	__u64 *d = data;
	__u32 udp_len = inner_len + sizeof(struct udphdr) +
			sizeof(struct xv_vxlanhdr);
	struct udphdr *udp;

	if (data + XV_OVERHEAD4 + sizeof(struct ethhdr) > data_end)
		return -1;
	/* both families' templates are at least 48 bytes */
	d[0] = t[0];
	d[1] = t[1];
	d[2] = t[2];
	d[3] = t[3];
	d[4] = t[4];
	d[5] = t[5];
	if (family == XV_AF_INET) {
		struct iphdr *iph = data + sizeof(struct ethhdr);
		__be32 w0, w1;

		udp = (void *)(iph + 1);
		*(__u16 *)(data + 48) = *(const __u16 *)(fc->hdr + 48);
		/* version/IHL, TOS, total length | ID, DF/fragment offset; a DF
		 * packet may share ID 0 (RFC 6864), others take the counter */
		w0 = bpf_htonl(0x45000000 | ((__u32)p->tos << 16) |
			       (udp_len + sizeof(*iph)));
		w1 = p->df ? bpf_htonl(IP_DF) : bpf_htonl((__u32)p->ip_id << 16);
		*(__be32 *)iph = w0;
		*((__be32 *)iph + 1) = w1;
		iph->check = csum_fold((__u64)fc->hdr_csum + w0 + w1);
	} else {
		struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);

		udp = (void *)(ip6 + 1);
		if (data + XV_OVERHEAD6 + sizeof(struct ethhdr) > data_end)
			return -1;
		d[6] = t[6];
		d[7] = t[7];
		*(__u32 *)(data + 64) = *(const __u32 *)(fc->hdr + 64);
		*(__u16 *)(data + 68) = *(const __u16 *)(fc->hdr + 68);
		*(__be32 *)ip6 = bpf_htonl(0x60000000 | ((__u32)p->tos << 20));
		ip6->payload_len = bpf_htons(udp_len);
	}
	udp->source = p->sport;
	udp->len = bpf_htons(udp_len);
	return 0;
}

#endif /* XV_LIB_TMPL_H */
