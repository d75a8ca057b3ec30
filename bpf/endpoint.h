/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Transmit path: frames from local endpoints (host side of a veth/tap).
 *   xv_xdp_endpoint, xv_xdp_ep_frags  XDP: flow-cache fast path, else the
 *                                     general path, else XDP_PASS to TC
 *   xv_tc_endpoint                    TC: everything (GSO, BUM, unresolved)
 */
#ifndef XVTEP_ENDPOINT_H
#define XVTEP_ENDPOINT_H

#include "lib/config.h"
#include "lib/scratch.h"
#include "lib/stats.h"
#include "lib/ep.h"
#include "lib/fdb.h"
#include "lib/flowcache.h"
#include "lib/encap.h"
#include "lib/csum6.h"
#include "lib/tmpl.h"
#include "lib/fib.h"
#include "lib/proxy.h"
#include "lib/icmp.h"
#include "lib/pull.h"
#include "lib/encap_tc.h"
#include "lib/flood.h"

/* ======================================================================== */
/* XDP                                                                      */
/* ======================================================================== */
#define XV_GENERAL_PATH (-1)

/*
 * Steady state of a remote flow: flow-cache hit with a current template, a
 * frame XDP may send and that fits the tunnel. Returns the verdict, or
 * XV_GENERAL_PATH before anything observable was done (frame, counters,
 * caches): xdp_general() then handles the frame from the start. Inlined into
 * the program (a BPF-to-BPF call on this path measured ~11 ns here), while
 * the general path is a subprogram of its own: this path is then compiled
 * with only its own few values live.
 */
static __always_inline int xdp_tx_fast(struct xdp_md *ctx, int frags)
{
	void *data = XDP_DATA(ctx);
	void *data_end = XDP_DATA_END(ctx);
	const struct ethhdr *eth = data;
	const struct xv_config *cfg = get_config();
	struct xv_scratch *sc;
	struct xv_txflow *fc;
	struct xv_inner ii;
	struct xv_vary v;
	__u32 len = data_end - data;
	__u64 now;
	__u8 family;

	if (!cfg || (void *)(eth + 1) > data_end || mac_is_multicast(eth->h_dest))
		return XV_GENERAL_PATH;
	if (frags && bpf_xdp_get_buff_len(ctx) != len)
		return XV_GENERAL_PATH;
	sc = get_scratch();
	now = xv_clock(sc);
	if (!tx_flow_find(cfg, eth, ctx->ingress_ifindex, now, get_gen(), &fc))
		return XV_GENERAL_PATH;
	/* A frame whose inner TCP/UDP checksum may be partial goes to TC, as
	 * the general path hands it on a hit (same event, same slot), but
	 * without the call into it, its second flow lookup and the inner hash
	 * (tccost, UDP from a veth: 101 -> 72 ns in the program per frame). */
	if (!cfg->ep_csum_complete && !inner_csum_safe(data, data_end)) {
		count_event(get_stats(fc->stats_slot), XV_EV_XDP_TO_TC);
		return XDP_PASS;
	}
	family = fc->family;
	if (!family || now >= fc->nh_expires_ns)
		return XV_GENERAL_PATH;
	inner_parse(data, data_end, &ii);
	if (len - sizeof(struct ethhdr) + overhead_of(family) > underlay_mtu(cfg))
		return XV_GENERAL_PATH;

	encap_vary(cfg, &v, family, &ii, sc);
	if (bpf_xdp_adjust_head(ctx, -(int)overhead_of(family)) ||
	    tx_tmpl_write(XDP_DATA(ctx), XDP_DATA_END(ctx), fc, &v, family, len) ||
	    (family == XV_AF_INET6 && !v.zero_csum6 && xv_csum6_xdp(ctx))) {
		count_drop(get_stats(fc->stats_slot), XV_DROP_ENCAP_FAILED);
		return XDP_DROP;
	}
	count_tx(get_stats(fc->stats_slot), len);
	if (fc->nh_uplink)
		return bpf_redirect_map(&xv_uplink, fc->nh_oif, 0);
	return bpf_redirect(fc->nh_oif, 0);
}

/* Verdicts of the general path's steps besides the XDP actions (>= 0). */
#define XV_CONTINUE (-2) /* go on with the next step */
#define XV_TO_TC    (-3) /* XDP_PASS: xv_tc_endpoint handles the frame */

/* This frame's slot in xv_txflow and what it was found with. */
struct xv_ep_flow {
	struct xv_txflow *fc; /* 0 if none */
	struct xv_scratch *sc;
	__u64 now;
	__u64 gen;
	int ours; /* fc holds this frame's flow */
};

/* Source: endpoint and VNI lookups, then learning. *cacheable: whether the
 * decision may be kept in the flow cache. XV_CONTINUE or a verdict. */
static __always_inline int xdp_ep_source(struct xv_ep_ctx *c, const struct ethhdr *eth,
					 struct xv_ip *remote, int *cacheable)
{
	int rc = ep_lookup(c, c->ifindex);

	if (rc == EP_PASS)
		return XDP_PASS;
	if (rc == EP_DROP)
		return XDP_DROP;
	if (mac_is_multicast(eth->h_source) || mac_is_zero(eth->h_source)) {
		count_drop(c->st, XV_DROP_BAD_SRC_MAC);
		return XDP_DROP;
	}
	if (!(c->flags & XV_VNI_F_NO_LEARN))
		*cacheable = fdb_learn(c->cfg, c->st, c->vni, eth->h_source, 0,
				       remote, c->ifindex);
	return XV_CONTINUE;
}

/* Broadcast/multicast: a proxy ARP/ND reply goes back out (XDP_TX); the rest
 * is TC's, since head-end replication needs skb clones. */
static __always_inline int xdp_ep_bum(void *data, void *data_end,
				      const struct xv_ep_ctx *c, const struct ethhdr *eth)
{
	if (eth->h_proto == bpf_htons(ETH_P_ARP) &&
	    (c->flags & XV_VNI_F_PROXY_ARP) &&
	    proxy_arp(data, data_end, c->vni, c->st))
		return XDP_TX;
	if (eth->h_proto == bpf_htons(ETH_P_IPV6) &&
	    (c->flags & XV_VNI_F_PROXY_ND) &&
	    proxy_nd(data, data_end, c->vni, c->st))
		return XDP_TX;
	return XV_TO_TC;
}

/* Keep the decision just taken in the frame's flow slot; the outer-header
 * template and next hop are added once encapsulation has succeeded. */
static __always_inline void tx_flow_fill(struct xv_ep_flow *f, const struct xv_ep_ctx *c,
					 const struct ethhdr *eth, __u8 family,
					 const struct xv_ip *remote)
{
	struct xv_txflow *fc = f->fc;

	fc->valid = 0;
	fc->ingress = c->ifindex;
	mac_copy(fc->smac, eth->h_source);
	mac_copy(fc->dmac, eth->h_dest);
	fc->vni = c->vni;
	fc->stats_slot = c->slot;
	fc->vni_flags = c->flags;
	fc->family = family;
	__builtin_memcpy(fc->remote, remote, 16);
	fc->gen = f->gen;
	fc->stamp_ns = f->now;
	fc->nh_expires_ns = 0;
	fc->valid = 1;
	f->ours = 1;
}

/* Local destination: straight to its device. */
static __always_inline int xdp_ep_local(const struct xv_ep_ctx *c, __u32 target)
{
	if (target == c->ifindex) {
		count_drop(c->st, XV_DROP_HAIRPIN);
		return XDP_DROP;
	}
	count_event(c->st, XV_EV_LOCAL_FWD);
	/* not in xv_devs -> XDP_PASS, TC redirects it */
	return bpf_redirect_map(&xv_devs, target, XDP_PASS);
}

/* Remote destination: outer headers, next hop, send. When the next hop may
 * be cached, the headers just written become the flow's template. */
static __always_inline int xdp_ep_encap(struct xdp_md *ctx, const struct xv_ep_ctx *c,
					const struct xv_ep_flow *f, __u8 family,
					const void *rp, const struct xv_inner *ii,
					__u32 len, __u32 ovh)
{
	struct xv_txflow *fc = f->fc;
	struct xv_encap p = {};
	void *data, *data_end;
	__u64 nh_expires;
	__u32 oif;
	int rc;

	rc = encap_prepare_ii(c->cfg, &p, family, rp, c->vni, ii, len, f->sc);
	if (rc) {
		count_drop(c->st, rc);
		return XDP_DROP;
	}
	/* unicast: now was read for the flow cache */
	rc = fib_outer_at(ctx, c->cfg, &p, &oif, f->sc, f->now, &nh_expires);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return XV_TO_TC; /* TC uses bpf_redirect_neigh() and counts it */
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		count_drop(c->st, XV_DROP_FIB_MISS);
		return XDP_DROP;
	}
	if (bpf_xdp_adjust_head(ctx, -(int)ovh))
		goto encap_drop;
	data = XDP_DATA(ctx);
	data_end = XDP_DATA_END(ctx);
	if (write_outer(data, data_end, &p))
		goto encap_drop;
	if (f->ours && fc && nh_expires &&
	    !tx_tmpl_save(fc, data, data_end, family)) {
		fc->nh_oif = oif;
		fc->nh_uplink = is_uplink(oif);
		fc->nh_expires_ns = nh_expires;
	}
	if (family == XV_AF_INET6 && !p.zero_csum6 && xv_csum6_xdp(ctx))
		goto encap_drop;
	count_tx(c->st, len);
	return bpf_redirect(oif, 0);
encap_drop:
	count_drop(c->st, XV_DROP_ENCAP_FAILED);
	return XDP_DROP;
}

/*
 * The general path: a flow-cache hit goes straight to forwarding; a miss
 * learns the source and looks the destination up in the FDB, then either
 * forwards locally, answers "too big", or encapsulates.
 */
static __always_inline int xdp_endpoint(struct xdp_md *ctx, int frags)
{
	void *data = XDP_DATA(ctx);
	void *data_end = XDP_DATA_END(ctx);
	struct xv_ep_flow f = {};
	struct xv_ep_ctx c;
	struct xv_inner ii;
	struct ethhdr *eth = data;
	struct xv_ip remote = {}; /* all-zero until a destination is known */
	const void *rp = &remote; /* the remote VTEP address */
	__u32 len, ovh, mtu, target = 0;
	__u8 family = 0;
	int rc, cacheable = 1;

	c.cfg = get_config();
	c.st = 0;
	if (!c.cfg) {
		count_event(0, XV_EV_NOT_CONFIGURED);
		return XDP_PASS;
	}
	/* multi-buffer frames (GSO-sized) need skb GSO: leave them to TC */
	if (frags && bpf_xdp_get_buff_len(ctx) != (__u64)(data_end - data))
		goto to_tc;
	if ((void *)(eth + 1) > data_end) {
		count_drop(0, XV_DROP_MALFORMED);
		return XDP_DROP;
	}
	c.ifindex = ctx->ingress_ifindex;
	if (!mac_is_multicast(eth->h_dest)) {
		f.sc = get_scratch();
		f.now = xv_clock(f.sc);
		f.gen = get_gen();
		if (tx_flow_find(c.cfg, eth, c.ifindex, f.now, f.gen, &f.fc)) {
			c.vni = f.fc->vni;
			c.flags = f.fc->vni_flags;
			c.st = get_stats(f.fc->stats_slot);
			family = f.fc->family;
			rp = f.fc->remote;
			target = *(__u32 *)f.fc->remote;
			f.ours = 1;
			goto forward;
		}
	}

	rc = xdp_ep_source(&c, eth, &remote, &cacheable);
	if (rc != XV_CONTINUE)
		return rc;
	if (mac_is_multicast(eth->h_dest)) {
		rc = xdp_ep_bum(data, data_end, &c, eth);
		goto verdict;
	}
	if (!fdb_dest(c.vni, eth->h_dest, &family, &remote))
		goto to_tc;
	target = remote.w[0];
	if (cacheable && f.fc)
		tx_flow_fill(&f, &c, eth, family, &remote);

forward:
	inner_parse(data, data_end, &ii);
	if (!c.cfg->ep_csum_complete && !ii.csum_safe)
		goto to_tc;
	if (!family)
		return xdp_ep_local(&c, target);
	len = data_end - data;
	ovh = overhead_of(family);
	mtu = underlay_mtu(c.cfg);
	if (len - sizeof(struct ethhdr) + ovh > mtu)
		return xdp_too_big(ctx, data, data_end, c.st, len, mtu - ovh);
	rc = xdp_ep_encap(ctx, &c, &f, family, rp, &ii, len, ovh);
verdict:
	if (rc != XV_TO_TC)
		return rc;
to_tc:
	count_event(c.st, XV_EV_XDP_TO_TC);
	return XDP_PASS;
}

/* Everything else: misses, local destinations, expired next hops, BUM,
 * frames for TC, too big for the tunnel... (not inlined: see xdp_tx_fast) */
static __attribute__((noinline)) int xdp_general(struct xdp_md *ctx)
{
	return xdp_endpoint(ctx, 0);
}

static __attribute__((noinline)) int xdp_general_frags(struct xdp_md *ctx)
{
	return xdp_endpoint(ctx, 1);
}

/*
 * Attaching any XDP program to a veth makes the kernel clear TSO/GSO
 * hardware features on its peer (veth_xdp_set), so the container's bulk TCP
 * is segmented in software before it reaches us: measured 3 Gbit/s with
 * either XDP variant attached vs 12 Gbit/s with only xv_tc_endpoint (TSO
 * kept, GSO-safe encap). Attach these only where frames are MTU-sized
 * anyway (taps/VMs, offload-free endpoints).
 */
SEC("xdp")
int xv_xdp_endpoint(struct xdp_md *ctx)
{
	int rc = xdp_tx_fast(ctx, 0);

	return rc != XV_GENERAL_PATH ? rc : xdp_general(ctx);
}

/* Multi-buffer aware variant: can be attached to endpoints whose MTU does
 * not fit one page; frames that span several buffers are handed to TC. */
SEC("xdp.frags")
int xv_xdp_ep_frags(struct xdp_md *ctx)
{
	int rc = xdp_tx_fast(ctx, 1);

	return rc != XV_GENERAL_PATH ? rc : xdp_general_frags(ctx);
}

/* ======================================================================== */
/* TC path: GSO-safe encap, flooding, unresolved neighbours                 */
/* ======================================================================== */

/* Send the (already encapsulated) skb to its next hop. */
static __always_inline int tc_xmit(struct xv_ep_ctx *c, int rc, __u32 oif)
{
	if (rc == BPF_FIB_LKUP_RET_SUCCESS)
		return bpf_redirect(oif, 0);
	/* unresolved: the kernel resolves the neighbour and queues the packet
	 * (also the path when forwarding is disabled on the underlay) */
	count_event(c->st, XV_EV_NEIGH_UNRESOLVED);
	return bpf_redirect_neigh(oif, 0, 0, 0);
}

/*
 * tcx steady state of a remote flow, as xdp_tx_fast(): a hit in the flow
 * cache (xv_txflow, shared with the XDP hooks) with a current template, a
 * frame that fits the tunnel or is GSO. No endpoint, learning, FDB or
 * next-hop lookup and no call: those took ~130 ns of the ~450 a frame cost
 * here, twice what the 50-byte push itself costs beyond a bare redirect
 * (docs/performance.md). Learning is refreshed by the general path at the
 * latest every fdb_refresh_ms, when tx_flow_find() lets the entry lapse (as
 * on XDP). Returns the verdict, or XV_GENERAL_PATH before anything
 * observable was done; *fresh = 1 if the entry was current all the same.
 */
static __always_inline int tc_tx_fast(struct __sk_buff *skb, int *fresh)
{
	void *data = SKB_DATA(skb);
	void *data_end = SKB_DATA_END(skb);
	const struct ethhdr *eth = data;
	const struct xv_config *cfg = get_config();
	struct xv_scratch *sc;
	struct xv_txflow *fc;
	struct xv_inner ii;
	struct xv_vary v;
	struct ethhdr ieth;
	__u32 len = skb->len, ovh;
	__u64 now;
	__u8 family;
	int gso;

	if (!cfg || (void *)(eth + 1) > data_end ||
	    mac_is_multicast(eth->h_dest) ||
	    (skb->protocol != bpf_htons(ETH_P_IP) &&
	     skb->protocol != bpf_htons(ETH_P_IPV6)))
		return XV_GENERAL_PATH;
	sc = get_scratch();
	now = xv_clock(sc);
	if (!tx_flow_find(cfg, eth, skb->ifindex, now, get_gen(), &fc))
		return XV_GENERAL_PATH;
	family = fc->family;
	if (!family || now >= fc->nh_expires_ns)
		return XV_GENERAL_PATH;
	/* the entry is current: the general path need not fill it again (a
	 * bulk TCP flow's GSO frames would rewrite it per frame otherwise) */
	*fresh = 1;
	ovh = overhead_of(family);
	gso = skb->gso_size != 0;
	/* GSO frames to IPv6 peers with outer UDP checksums stay on the
	 * general path (the gso6 device's hand-off, or checksum 0 without it).
	 * GSO frames need no size check (as tc_unicast_remote(): segmentation
	 * sizes them). */
	if ((gso && family == XV_AF_INET6 && !cfg->udp6_zero_csum) ||
	    (!gso && len - ETH_HLEN + ovh > underlay_mtu(cfg)))
		return XV_GENERAL_PATH;
	inner_parse(data, data_end, &ii);
	__builtin_memcpy(&ieth, eth, sizeof(ieth));
	/* as tc_encap(): room after the MAC header, inner Ethernet re-written;
	 * a GSO frame it refuses goes on to the general path, which may keep
	 * its gso_size (UDP GSO): nothing observable was done yet */
	if (bpf_skb_adjust_room(skb, ovh, BPF_ADJ_ROOM_MAC, encap_flags(family))) {
		if (gso)
			return XV_GENERAL_PATH;
		goto drop;
	}
	encap_vary(cfg, &v, family, &ii, sc);
	tc_pull(skb, ovh + ETH_HLEN);
	data = SKB_DATA(skb);
	data_end = SKB_DATA_END(skb);
	if (tx_tmpl_write(data, data_end, fc, &v, family, len) ||
	    data + ovh + ETH_HLEN > data_end)
		goto drop;
	__builtin_memcpy(data + ovh, &ieth, ETH_HLEN);
	/* the template's UDP checksum is its first frame's: as tc_encap() */
	if (family == XV_AF_INET6 && !v.zero_csum6 && xv_csum6_skb(skb))
		goto drop;
	count_tx(get_stats(fc->stats_slot), len);
	return bpf_redirect(fc->nh_oif, 0);
drop:
	count_drop(get_stats(fc->stats_slot), XV_DROP_ENCAP_FAILED);
	return TC_ACT_SHOT;
}

/* Keep the general path's decision for a remote destination in the frame's
 * flow slot; the template and next hop follow once encapsulation succeeded
 * (tc_flow_tmpl). gen: read before the FDB lookup. */
static __always_inline void tc_flow_fill(const struct xv_ep_ctx *c,
					 const struct ethhdr *eth,
					 const struct xv_fdb_entry *fe, __u64 gen)
{
	__u32 idx = cache_slot(c->ifindex, mac_word(eth->h_source),
			       mac_word(eth->h_dest), XV_FLOW_CACHE_SIZE - 1);
	struct xv_txflow *fc = bpf_map_lookup_elem(&xv_txflow, &idx);

	if (!fc)
		return;
	fc->valid = 0;
	fc->ingress = c->ifindex;
	mac_copy(fc->smac, eth->h_source);
	mac_copy(fc->dmac, eth->h_dest);
	fc->vni = c->vni;
	fc->stats_slot = c->slot;
	fc->vni_flags = c->flags;
	fc->family = fe->family;
	__builtin_memcpy(fc->remote, fe->remote, 16);
	fc->gen = gen;
	fc->stamp_ns = xv_now_ns();
	fc->nh_expires_ns = 0;
	fc->valid = 1;
}

/* The outer headers just written become the template of the frame's flow, if
 * tc_flow_fill() prepared its slot for this frame. */
static __always_inline void tc_flow_tmpl(struct __sk_buff *skb, __u32 ifindex,
					 const struct ethhdr *ieth, __u8 family,
					 __u32 oif, __u64 nh_expires)
{
	__u32 idx = cache_slot(ifindex, mac_word(ieth->h_source),
			       mac_word(ieth->h_dest), XV_FLOW_CACHE_SIZE - 1);
	struct xv_txflow *fc = bpf_map_lookup_elem(&xv_txflow, &idx);

	if (!fc || !fc->valid || fc->nh_expires_ns || fc->ingress != ifindex ||
	    fc->family != family || !mac_eq(fc->smac, ieth->h_source) ||
	    !mac_eq(fc->dmac, ieth->h_dest) ||
	    tx_tmpl_save(fc, SKB_DATA(skb), SKB_DATA_END(skb), family))
		return;
	fc->nh_oif = oif;
	fc->nh_uplink = is_uplink(oif);
	fc->nh_expires_ns = nh_expires;
}

/* Unicast to one remote VTEP (inlined into xv_tc_unicast). */
static __always_inline int tc_unicast_remote(struct __sk_buff *skb,
					     struct xv_ep_ctx *c,
					     struct xv_fdb_entry *fe)
{
	void *data = SKB_DATA(skb);
	void *data_end = SKB_DATA_END(skb);
	struct xv_encap p = {};
	struct ethhdr ieth;
	struct xv_scratch *sc;
	__u32 ovh = overhead_of(fe->family), mtu = underlay_mtu(c->cfg), oif;
	__u32 len = skb->len;
	__u64 nh_expires;
	int rc;

	if (!skb->gso_size && len - ETH_HLEN + ovh > mtu)
		return tc_too_big(skb, c->st, c->ifindex, mtu - ovh);
	if (data + sizeof(ieth) > data_end) {
		count_drop(c->st, XV_DROP_MALFORMED);
		return TC_ACT_SHOT;
	}
	__builtin_memcpy(&ieth, data, sizeof(ieth));
	rc = encap_prepare(c->cfg, &p, fe->family, fe->remote, c->vni, data,
			   data_end, len);
	if (rc) {
		count_drop(c->st, rc);
		return TC_ACT_SHOT;
	}
	if (skb->gso_size && p.family == XV_AF_INET6 && !p.zero_csum6 &&
	    c->cfg->gso6_ifindex) {
		rc = tc_gso6_handoff(skb, &p);
		if (rc) {
			count_drop(c->st, rc);
			return TC_ACT_SHOT;
		}
		count_tx(c->st, len);
		return bpf_redirect(c->cfg->gso6_ifindex, 0);
	}
	sc = get_scratch();
	rc = fib_outer_at(skb, c->cfg, &p, &oif, sc, xv_clock(sc), &nh_expires);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH) {
		count_drop(c->st, XV_DROP_FIB_MISS);
		return TC_ACT_SHOT;
	}
	rc = tc_encap(skb, &p, &ieth, mtu) ? -1 : rc;
	if (rc < 0) {
		count_drop(c->st, XV_DROP_ENCAP_FAILED);
		return TC_ACT_SHOT;
	}
	if (rc == BPF_FIB_LKUP_RET_SUCCESS && nh_expires)
		tc_flow_tmpl(skb, c->ifindex, &ieth, p.family, oif, nh_expires);
	count_tx(c->st, len);
	return tc_xmit(c, rc, oif);
}

/* Unicast to one remote VTEP. Global so its stack is not added to the
 * caller's (the flood path's frame would exceed 512 bytes otherwise).
 * vni_ifx = vni << 32 | ingress ifindex (5-argument limit). */
__attribute__((noinline))
int xv_tc_unicast(struct __sk_buff *skb, struct xv_config *cfg,
		  struct xv_stats *st, struct xv_fdb_entry *fe, __u64 vni_ifx)
{
	struct xv_ep_ctx cc = { .cfg = cfg, .st = st, .vni = vni_ifx >> 32,
				.ifindex = (__u32)vni_ifx };

	struct xv_ep_ctx *c = &cc;

	if (!skb || !cfg || !fe)
		return TC_ACT_SHOT;
	return tc_unicast_remote(skb, c, fe);
}

SEC("tc")
int xv_tc_endpoint(struct __sk_buff *skb)
{
	struct xv_fdb_key fk = {};
	struct xv_fdb_entry *fe;
	struct xv_ep_ctx c;
	struct ethhdr *eth;
	void *data, *data_end;
	int rc, cacheable = 1, fresh = 0;
	__u64 gen;

	tc_pull_hash_headers(skb);
	rc = tc_tx_fast(skb, &fresh);
	if (rc != XV_GENERAL_PATH)
		return rc;
	rc = ep_lookup(&c, skb->ifindex);
	if (rc == EP_PASS)
		return TC_ACT_OK;
	if (rc == EP_DROP)
		return TC_ACT_SHOT;
	data = SKB_DATA(skb);
	data_end = SKB_DATA_END(skb);
	eth = data;
	if ((void *)(eth + 1) > data_end) {
		count_drop(c.st, XV_DROP_MALFORMED);
		return TC_ACT_SHOT;
	}
	if (mac_is_multicast(eth->h_source) || mac_is_zero(eth->h_source)) {
		count_drop(c.st, XV_DROP_BAD_SRC_MAC);
		return TC_ACT_SHOT;
	}
	if (!(c.flags & XV_VNI_F_NO_LEARN))
		cacheable = fdb_learn_local(c.cfg, c.st, c.vni, eth->h_source, c.ifindex);

	if (mac_is_multicast(eth->h_dest)) {
		if (eth->h_proto == bpf_htons(ETH_P_IPV6) && (c.flags & XV_VNI_F_PROXY_ND)) {
			tc_pull(skb, sizeof(struct ethhdr) + sizeof(struct ipv6hdr) + sizeof(struct xv_nd));
			if (proxy_nd(SKB_DATA(skb), SKB_DATA_END(skb), c.vni, c.st))
				return bpf_redirect(c.ifindex, 0);
		} else if (eth->h_proto == bpf_htons(ETH_P_ARP) &&
			   (c.flags & XV_VNI_F_PROXY_ARP) &&
			   proxy_arp(data, data_end, c.vni, c.st)) {
			return bpf_redirect(c.ifindex, 0);
		}
		return xv_tc_flood(skb, c.cfg, c.st, c.vni, c.ifindex);
	}
	fk.vni = c.vni;
	mac_copy(fk.mac, eth->h_dest);
	gen = get_gen();
	fe = bpf_map_lookup_elem(&xv_fdb, &fk);
	if (!fe)
		return xv_tc_flood(skb, c.cfg, c.st, c.vni, c.ifindex);
	if (fe->flags & XV_FDB_F_LOCAL) {
		if (fe->ifindex == c.ifindex) {
			count_drop(c.st, XV_DROP_HAIRPIN);
			return TC_ACT_SHOT;
		}
		count_event(c.st, XV_EV_LOCAL_FWD);
		return bpf_redirect(fe->ifindex, 0);
	}
	if (cacheable && !fresh)
		tc_flow_fill(&c, eth, fe, gen);
	return xv_tc_unicast(skb, c.cfg, c.st, fe, (__u64)c.vni << 32 | c.ifindex);
}

#endif /* XVTEP_ENDPOINT_H */
