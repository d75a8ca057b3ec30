/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Receive path: VXLAN from the underlay NIC to local endpoints.
 *   xv_xdp_underlay  XDP on the underlay NIC
 *   xv_tc_underlay   tcx ingress: the same path on skbs, and the second half
 *                    of the XDP program's GRO hand-off
 */
#ifndef XVTEP_UNDERLAY_H
#define XVTEP_UNDERLAY_H

#include "lib/config.h"
#include "lib/scratch.h"
#include "lib/stats.h"
#include "lib/flowcache.h"
#include "lib/rx.h"
#include "lib/ecn.h"
#include "lib/gro.h"
#include "lib/pull.h"
#include "lib/decap.h"

/*
 * Decapsulate a frame whose destination is decided and send it on: unicast
 * to the endpoint through xv_devs (or the GRO hand-off), BUM broadcast to the
 * VNI's devmap in xv_bcast. rx counts what is delivered: only once the
 * redirect is accepted.
 */
static __always_inline int xdp_rx_deliver(struct xdp_md *ctx, const struct xv_rx *rx,
					  struct ethhdr *ieth, void *data_end,
					  int verdict, __u32 ifindex, struct xv_stats *st)
{
	void *inner = 0;
	__u32 ilen;
	int reason;
	long ret;

	if (unlikely(rx->ecn)) {
		__u32 csum_diff; /* no skb sum yet */
		int e = ecn_decap(ieth, data_end, rx->ecn, &csum_diff);

		if (e == XV_ECN_DROP) {
			reason = XV_DROP_ECN_NOT_ECT;
			goto drop;
		}
		if (e == XV_ECN_CE)
			count_event(st, XV_EV_ECN_CE);
	}
	if (verdict == RX_FLOOD) {
		inner = bpf_map_lookup_elem(&xv_bcast, &rx->vni);
		if (!inner) {
			reason = XV_DROP_NO_ENDPOINT;
			goto drop;
		}
	}
	if (bpf_xdp_adjust_head(ctx, rx->inner_off)) {
		reason = XV_DROP_MALFORMED;
		goto drop;
	}
	ilen = XDP_DATA_END(ctx) - XDP_DATA(ctx);
	if (verdict == RX_UNICAST) {
		/* cheap tests first: the inner L4 protocol is in the frame's
		 * second cache line, ingress_ifindex three loads away */
		if (ilen >= XV_GRO_MIN_LEN && gro_handoff(ctx) && !gro_tag(ctx, ifindex)) {
			count_rx(st, ilen);
			count_event(st, XV_EV_RX_GRO);
			return XDP_PASS;
		}
		ret = bpf_redirect_map(&xv_devs, ifindex, XDP_DROP);
		if (ret != XDP_REDIRECT) {
			reason = XV_DROP_NO_ENDPOINT;
			goto drop;
		}
		count_rx(st, ilen);
		return ret;
	}
	count_event(st, XV_EV_FLOOD);
	ret = bpf_redirect_map(inner, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
	if (ret != XDP_REDIRECT) {
		reason = XV_DROP_REDIRECT_FAILED;
		goto drop;
	}
	count_rx(st, ilen);
	return ret;
drop:
	count_drop(st, reason);
	return XDP_DROP;
}

/*
 * XDP on the underlay NIC (native mode). Unicast goes straight to the
 * endpoint through xv_devs; BUM is broadcast to the VNI's devmap in xv_bcast
 * (never back to the underlay: it is not in that map).
 */
SEC("xdp")
int xv_xdp_underlay(struct xdp_md *ctx)
{
	void *data = XDP_DATA(ctx);
	void *data_end = XDP_DATA_END(ctx);
	struct xv_config *cfg = get_config();
	struct xv_stats *st = 0;
	struct xv_rxflow *fc;
	struct ethhdr *ieth;
	struct xv_rx rx;
	__u32 ifindex = 0, off, slot = 0;
	__u64 now, gen;
	int reason = XV_DROP_MALFORMED, verdict, cacheable = 0;

	if (!cfg) {
		count_event(0, XV_EV_NOT_CONFIGURED);
		return XDP_PASS;
	}
	verdict = rx_parse(cfg, data, data_end, data_end - data, &rx);
	if (verdict == RX_NOT_OURS)
		return XDP_PASS;
	if (verdict == RX_MALFORMED)
		goto drop;

	off = rx.inner_off;
	if (off > XV_MAX_INNER_OFF)
		goto drop;
	ieth = data + off;
	if ((void *)(ieth + 1) > data_end)
		goto drop;
	now = xv_now_ns();
	gen = get_gen();
	if (rx_flow_find(cfg, &rx, ieth, now, gen, &fc)) {
		st = get_stats(fc->stats_slot);
		ifindex = fc->ifindex;
		verdict = RX_UNICAST;
	} else {
		verdict = rx_decide(cfg, data, data_end, &rx, &ifindex, &st,
				    &reason, &cacheable, &slot);
		if (verdict == RX_DROP)
			goto drop;
		if (verdict == RX_UNICAST && cacheable && fc)
			rx_flow_fill(fc, &rx, ieth, ifindex, slot, gen, now);
	}
	return xdp_rx_deliver(ctx, &rx, ieth, data_end, verdict, ifindex, st);
drop:
	count_drop(st, reason);
	return XDP_DROP;
}

/* A decapsulated skb: to its endpoint, or a clone to every local endpoint of
 * the VNI. */
static __always_inline int tc_rx_deliver(struct __sk_buff *skb, int verdict,
					 __u32 ifindex, __u32 vni, struct xv_stats *st)
{
	struct xv_bum *bum;

	if (verdict == RX_UNICAST) {
		if (bpf_redirect(ifindex, 0) != TC_ACT_REDIRECT) {
			count_drop(st, XV_DROP_REDIRECT_FAILED);
			return TC_ACT_SHOT;
		}
		count_rx(st, skb->len);
		return TC_ACT_REDIRECT;
	}
	bum = bpf_map_lookup_elem(&xv_bum, &vni);
	if (!bum || !bum->n_local) {
		count_drop(st, XV_DROP_NO_ENDPOINT);
		return TC_ACT_SHOT;
	}
	count_rx(st, skb->len);
	count_event(st, XV_EV_FLOOD);
	for (int i = 0; i < XV_BUM_MAX_LOCAL; i++) {
		if (i >= bum->n_local)
			break;
		if (bpf_clone_redirect(skb, bum->local[i], 0))
			count_drop(st, XV_DROP_REDIRECT_FAILED);
	}
	return TC_ACT_SHOT;
}

/*
 * Same receive path for the skb world (mode tc: no XDP on the underlay), and
 * next to xv_xdp_underlay the second half of its GRO hand-off: frames that
 * carry its tag are already decapsulated, counted and aggregated.
 */
SEC("tc")
int xv_tc_underlay(struct __sk_buff *skb)
{
	struct xv_config *cfg;
	struct xv_stats *st = 0;
	struct xv_rx rx;
	__u32 ifindex = 0, off, slot;
	int reason = XV_DROP_MALFORMED, verdict, cacheable;
	void *data, *data_end;

	verdict = gro_deliver(skb);
	if (verdict >= 0)
		return verdict;
	cfg = get_config();
	if (!cfg) {
		count_event(0, XV_EV_NOT_CONFIGURED);
		return TC_ACT_OK;
	}
	/* headers in paged data: make them linear */
	tc_pull(skb, XV_MAX_INNER_OFF + ETH_HLEN);
	data = SKB_DATA(skb);
	data_end = SKB_DATA_END(skb);
	verdict = rx_parse(cfg, data, data_end, skb->len, &rx);
	if (verdict == RX_NOT_OURS)
		return TC_ACT_OK;
	if (verdict == RX_MALFORMED)
		goto drop;
	verdict = rx_decide(cfg, data, data_end, &rx, &ifindex, &st, &reason,
			    &cacheable, &slot);
	if (verdict == RX_DROP)
		goto drop;
	off = rx.inner_off;
	if (off > XV_MAX_INNER_OFF)
		goto drop;
	if (unlikely(rx.ecn) && tc_ecn_decap(skb, off, rx.ecn, st, &reason))
		goto drop;
	if (tc_decap(skb, off, &reason))
		goto drop;
	return tc_rx_deliver(skb, verdict, ifindex, rx.vni, st);
drop:
	count_drop(st, reason);
	return TC_ACT_SHOT;
}

#endif /* XVTEP_UNDERLAY_H */
