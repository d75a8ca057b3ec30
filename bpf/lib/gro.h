/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Receive: the XDP -> tcx GRO hand-off on the underlay NIC. */
#ifndef XV_LIB_GRO_H
#define XV_LIB_GRO_H

#include "config.h"

/*
 * GRO hand-off. A NIC's GRO runs after XDP, so a frame XDP passes is
 * aggregated with the rest of its TCP flow, and the endpoint gets one skb
 * per aggregate; a redirected frame becomes one skb of its own at the
 * endpoint. Unicast TCP of at least XV_GRO_MIN_LEN bytes is therefore stripped
 * here and passed with this tag in its metadata; xv_tc_underlay on the same
 * device's tcx ingress sends each aggregate to the endpoint. Only when attach
 * has put that program there (cfg->rx_gro_ifindex): without it the stack
 * would drop the frames as not addressed to this host. Any frame would be
 * delivered correctly either way; size and protocol only pick the faster way.
 */
#define XV_GRO_MAGIC 0x7876474fU /* "xvGO" */
/* Smaller frames go on as before: TCP that small (ACKs, interactive
 * writes) gains nothing from GRO, bulk segments are MSS-sized. */
#define XV_GRO_MIN_LEN 512

struct xv_gro_meta {
	__u32 ifindex; /* endpoint */
	__u32 magic;
};

static __always_inline int inner_is_tcp(const struct ethhdr *ieth, void *data_end)
{
	if ((void *)(ieth + 1) > data_end)
		return 0;
	if (ieth->h_proto == bpf_htons(ETH_P_IP)) {
		const struct iphdr *iph = (const void *)(ieth + 1);

		return (void *)(iph + 1) <= data_end && iph->protocol == IPPROTO_TCP;
	}
	if (ieth->h_proto == bpf_htons(ETH_P_IPV6)) {
		const struct ipv6hdr *ip6 = (const void *)(ieth + 1);

		return (void *)(ip6 + 1) <= data_end && ip6->nexthdr == IPPROTO_TCP;
	}
	return 0;
}

/* After the outer headers are gone: is this frame for the hand-off? The
 * config is looked up again rather than kept across the helper calls: the
 * small frames never need it. */
static __always_inline int gro_handoff(struct xdp_md *ctx)
{
	struct xv_config *cfg = get_config();

	return cfg && cfg->rx_gro_ifindex &&
	       inner_is_tcp(XDP_DATA(ctx), XDP_DATA_END(ctx)) &&
	       cfg->rx_gro_ifindex == ctx->ingress_ifindex;
}

/* Set before load from the kernel probe (bpf/xvtep.bpf.c). */
extern const volatile __u32 xv_xdp_meta;

/* After the outer headers are gone: tag the frame for xv_tc_underlay. */
static __always_inline int gro_tag(struct xdp_md *ctx, __u32 ifindex)
{
	struct xv_gro_meta *m;

	/* a kernel that refuses the helper: compiled out, the caller redirects */
	if (!xv_xdp_meta)
		return -1;
	/* drivers without metadata support refuse: the caller redirects */
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m)))
		return -1;
	m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > XDP_DATA(ctx))
		return -1;
	m->ifindex = ifindex;
	m->magic = XV_GRO_MAGIC;
	return 0;
}

/* The tcx half of the hand-off: a tagged aggregate goes to its endpoint.
 * Returns the verdict, or -1 if the skb carries no tag. */
static __always_inline int gro_deliver(struct __sk_buff *skb)
{
	struct xv_gro_meta *m = (void *)(long)skb->data_meta;
	__u32 ep;

	if ((void *)(m + 1) > SKB_DATA(skb) || m->magic != XV_GRO_MAGIC)
		return -1;
	ep = m->ifindex;
	/* an outer tag the device took off (VLAN offload) is not the inner
	 * frame's */
	if (skb->vlan_present)
		bpf_skb_vlan_pop(skb);
	return bpf_redirect(ep, 0);
}

#endif /* XV_LIB_GRO_H */
