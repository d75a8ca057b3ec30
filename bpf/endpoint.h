/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Transmit path: frames from local endpoints (host side of a veth/tap). */
#ifndef XVTEP_ENDPOINT_H
#define XVTEP_ENDPOINT_H

#include "common.h"

struct xv_ep_ctx {
	struct xv_config *cfg;
	struct xv_stats *st;
	__u32 vni;
	__u32 ifindex;
	__u32 flags; /* the VNI's XV_VNI_F_* (copy kept in xv_ep) */
	__u32 slot;  /* the VNI's stats slot */
};

enum { EP_PASS, EP_DROP, EP_OK };

/* Config/endpoint/VNI lookups shared by both hooks. */
static __always_inline int ep_lookup(struct xv_ep_ctx *c, __u32 ifindex)
{
	struct xv_ep_info *ep;

	c->st = 0;
	c->cfg = get_config();
	if (!c->cfg) {
		count_event(0, XV_EV_NOT_CONFIGURED);
		return EP_PASS;
	}
	ep = bpf_map_lookup_elem(&xv_ep, &ifindex);
	if (!ep) {
		count_event(0, XV_EV_UNKNOWN_EP);
		return EP_PASS;
	}
	c->vni = ep->vni;
	c->ifindex = ifindex;
	c->flags = ep->vni_flags;
	c->slot = ep->stats_slot;
	c->st = get_stats(ep->stats_slot);
	return EP_OK;
}

static __always_inline void count_tx(struct xv_stats *st, __u64 bytes)
{
	if (st) {
		st->tx_packets++;
		st->tx_bytes += bytes;
	}
}

static __always_inline __u32 overhead_of(__u8 family)
{
	return family == XV_AF_INET ? XV_OVERHEAD4 : XV_OVERHEAD6;
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

/* ======================================================================== */
/* XDP fast path                                                            */
/* ======================================================================== */

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

/*
 * The frame's transmit flow entry: *fcp = its slot (0 if none); returns 1 if
 * the slot holds this flow's decision and it is still valid.
 */
static __always_inline int tx_flow_find(const struct xv_config *cfg,
					const struct ethhdr *eth, __u32 ifindex,
					__u64 now, __u64 gen,
					struct xv_txflow **fcp)
{
	__u32 idx = cache_slot(ifindex, mac_word(eth->h_source),
			       mac_word(eth->h_dest), XV_FLOW_CACHE_SIZE - 1);
	struct xv_txflow *fc = bpf_map_lookup_elem(&xv_txflow, &idx);

	*fcp = fc;
	return fc && fc->valid && fc->gen == gen &&
	       now - fc->stamp_ns < refresh_ns(cfg) &&
	       fc->ingress == ifindex && mac_eq(fc->smac, eth->h_source) &&
	       mac_eq(fc->dmac, eth->h_dest);
}

/* Whether oif is the device in xv_uplink (see xvtep_maps.h). */
static __always_inline __u8 is_uplink(__u32 oif)
{
	return !!bpf_map_lookup_elem(&xv_uplink, &oif);
}

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
	family = fc->family;
	if (!family || now >= fc->nh_expires_ns)
		return XV_GENERAL_PATH;
	inner_parse(data, data_end, &ii);
	if ((!cfg->ep_csum_complete && !ii.csum_safe) ||
	    len - sizeof(struct ethhdr) + overhead_of(family) > underlay_mtu(cfg))
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

static __always_inline int xdp_endpoint(struct xdp_md *ctx, int frags)
{
	void *data = XDP_DATA(ctx);
	void *data_end = XDP_DATA_END(ctx);
	struct xv_fdb_key fk = {};
	struct xv_fdb_entry *fe;
	struct xv_txflow *fc = 0;
	struct xv_scratch *sc = 0;
	struct xv_ep_ctx c;
	struct xv_encap p = {};
	struct xv_inner ii;
	struct ethhdr *eth = data;
	struct xv_ip remote = {}; /* all-zero until a destination is known */
	const void *rp = &remote; /* the remote VTEP address */
	__u32 len, ovh, mtu, oif, target = 0;
	__u64 now = 0, gen = 0, nh_expires;
	__u8 family = 0;
	int rc, cacheable = 1, fc_ours = 0; /* fc holds this frame's flow */

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
		sc = get_scratch();
		now = xv_clock(sc);
		gen = get_gen();
		if (tx_flow_find(c.cfg, eth, c.ifindex, now, gen, &fc)) {
			c.vni = fc->vni;
			c.flags = fc->vni_flags;
			c.st = get_stats(fc->stats_slot);
			family = fc->family;
			rp = fc->remote;
			target = *(__u32 *)fc->remote;
			fc_ours = 1;
			goto forward;
		}
	}

	rc = ep_lookup(&c, c.ifindex);
	if (rc == EP_PASS)
		return XDP_PASS;
	if (rc == EP_DROP)
		return XDP_DROP;
	if (mac_is_multicast(eth->h_source) || mac_is_zero(eth->h_source)) {
		count_drop(c.st, XV_DROP_BAD_SRC_MAC);
		return XDP_DROP;
	}
	if (!(c.flags & XV_VNI_F_NO_LEARN))
		cacheable = fdb_learn(c.cfg, c.st, c.vni, eth->h_source, 0,
				      &remote, c.ifindex);

	if (mac_is_multicast(eth->h_dest)) {
		if (eth->h_proto == bpf_htons(ETH_P_ARP) &&
		    (c.flags & XV_VNI_F_PROXY_ARP) &&
		    proxy_arp(data, data_end, c.vni, c.st))
			return XDP_TX;
		if (eth->h_proto == bpf_htons(ETH_P_IPV6) &&
		    (c.flags & XV_VNI_F_PROXY_ND) &&
		    proxy_nd(data, data_end, c.vni, c.st))
			return XDP_TX;
		goto to_tc; /* head-end replication needs skb clones */
	}
	fk.vni = c.vni;
	mac_copy(fk.mac, eth->h_dest);
	fe = bpf_map_lookup_elem(&xv_fdb, &fk);
	if (!fe)
		goto to_tc;
	if (fe->flags & XV_FDB_F_LOCAL) {
		family = 0;
		target = fe->ifindex;
		remote.w[0] = target;
	} else {
		family = fe->family;
		__builtin_memcpy(&remote, fe->remote, 16);
	}
	if (cacheable && fc) {
		fc->valid = 0;
		fc->ingress = c.ifindex;
		mac_copy(fc->smac, eth->h_source);
		mac_copy(fc->dmac, eth->h_dest);
		fc->vni = c.vni;
		fc->stats_slot = c.slot;
		fc->vni_flags = c.flags;
		fc->family = family;
		__builtin_memcpy(fc->remote, &remote, 16);
		fc->gen = gen;
		fc->stamp_ns = now;
		fc->nh_expires_ns = 0;
		fc->valid = 1;
		fc_ours = 1;
	}

forward:
	inner_parse(data, data_end, &ii);
	if (!c.cfg->ep_csum_complete && !ii.csum_safe)
		goto to_tc;
	if (!family) {
		if (target == c.ifindex) {
			count_drop(c.st, XV_DROP_HAIRPIN);
			return XDP_DROP;
		}
		count_event(c.st, XV_EV_LOCAL_FWD);
		/* not in xv_devs -> XDP_PASS, TC redirects it */
		return bpf_redirect_map(&xv_devs, target, XDP_PASS);
	}

	len = data_end - data;
	ovh = overhead_of(family);
	mtu = underlay_mtu(c.cfg);
	if (len - sizeof(struct ethhdr) + ovh > mtu) {
		struct xv_icmp_save s;
		__u32 nlen = icmp_save(data, data_end, &s);

		if (!nlen || nlen > len) {
			count_drop(c.st, XV_DROP_MTU_EXCEEDED);
			return XDP_DROP;
		}
		if (bpf_xdp_adjust_tail(ctx, (int)nlen - (int)len))
			goto mtu_drop;
		data = XDP_DATA(ctx);
		data_end = XDP_DATA_END(ctx);
		if (icmp_build(data, data_end, &s, mtu - ovh))
			goto mtu_drop;
		count_event(c.st, XV_EV_ICMP_TOO_BIG);
		return XDP_TX;
mtu_drop:
		count_drop(c.st, XV_DROP_MTU_EXCEEDED);
		return XDP_DROP;
	}
	rc = encap_prepare_ii(c.cfg, &p, family, rp, c.vni, &ii, len, sc);
	if (rc) {
		count_drop(c.st, rc);
		return XDP_DROP;
	}
	/* unicast: now was read for the flow cache */
	rc = fib_outer_at(ctx, c.cfg, &p, &oif, sc, now, &nh_expires);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		goto to_tc; /* TC uses bpf_redirect_neigh() and counts it */
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		count_drop(c.st, XV_DROP_FIB_MISS);
		return XDP_DROP;
	}
	if (bpf_xdp_adjust_head(ctx, -(int)ovh))
		goto encap_drop;
	data = XDP_DATA(ctx);
	data_end = XDP_DATA_END(ctx);
	if (write_outer(data, data_end, &p))
		goto encap_drop;
	if (fc_ours && fc && nh_expires &&
	    !tx_tmpl_save(fc, data, data_end, family)) {
		fc->nh_oif = oif;
		fc->nh_uplink = is_uplink(oif);
		fc->nh_expires_ns = nh_expires;
	}
	if (family == XV_AF_INET6 && !p.zero_csum6 && xv_csum6_xdp(ctx))
		goto encap_drop;
	count_tx(c.st, len);
	return bpf_redirect(oif, 0);
encap_drop:
	count_drop(c.st, XV_DROP_ENCAP_FAILED);
	return XDP_DROP;
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

/* Rewrite the frame into an ICMP error back to the sender. */
static __always_inline int tc_too_big(struct __sk_buff *skb, struct xv_ep_ctx *c,
				      __u32 ovh)
{
	struct xv_icmp_save s;
	void *data, *data_end;
	__u32 nlen, mtu = underlay_mtu(c->cfg);

	tc_pull(skb, sizeof(struct ethhdr) + XV_ICMP_QUOTE);
	data = SKB_DATA(skb);
	data_end = SKB_DATA_END(skb);
	nlen = icmp_save(data, data_end, &s);
	if (!nlen || bpf_skb_change_tail(skb, nlen, 0))
		goto drop;
	tc_pull(skb, nlen);
	data = SKB_DATA(skb);
	data_end = SKB_DATA_END(skb);
	if (icmp_build(data, data_end, &s, mtu - ovh))
		goto drop;
	count_event(c->st, XV_EV_ICMP_TOO_BIG);
	return bpf_redirect(c->ifindex, 0);
drop:
	count_drop(c->st, XV_DROP_MTU_EXCEEDED);
	return TC_ACT_SHOT;
}

static __always_inline __u64 encap_flags(__u8 family)
{
	return (family == XV_AF_INET ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV4
				     : BPF_F_ADJ_ROOM_ENCAP_L3_IPV6) |
	       BPF_F_ADJ_ROOM_ENCAP_L4_UDP | BPF_F_ADJ_ROOM_ENCAP_L2_ETH |
	       BPF_F_ADJ_ROOM_ENCAP_L2(ETH_HLEN);
}

/*
 * Segment size check for GSO skbs that must keep their gso_size (UDP GSO):
 * inner L3 header + L4 header + gso_size must fit. Returns 0 if fine.
 */
static __always_inline int gso_too_big(struct __sk_buff *skb, __u32 ovh, __u32 mtu)
{
	void *data = SKB_DATA(skb);
	void *data_end = SKB_DATA_END(skb);
	struct ethhdr *eth = data;
	__u32 hl;

	if ((void *)(eth + 1) > data_end)
		return 1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end)
			return 1;
		hl = iph->ihl * 4;
	} else {
		hl = sizeof(struct ipv6hdr);
	}
	return hl + sizeof(struct udphdr) + skb->gso_size + ovh - ETH_HLEN > mtu;
}

/*
 * Insert room for the outer headers and write them. p must be prepared; the
 * inner Ethernet header is re-written from `ieth` because adjust_room opens
 * the gap after the (old) MAC header.
 */
static __always_inline int tc_encap(struct __sk_buff *skb, struct xv_encap *p,
				    const struct ethhdr *ieth, __u32 mtu)
{
	__u32 ovh = overhead_of(p->family);
	__u64 flags = encap_flags(p->family);
	void *data, *data_end;
	int gso = skb->gso_size != 0;

	p->inner_len = skb->len;
	if (skb->protocol != bpf_htons(ETH_P_IP) &&
	    skb->protocol != bpf_htons(ETH_P_IPV6)) {
		/* adjust_room only takes IP skbs; ARP & co. are never GSO, so
		 * just push the outer headers in front of the inner frame */
		if (bpf_skb_change_head(skb, ovh, 0))
			return XV_DROP_ENCAP_FAILED;
		tc_pull(skb, ovh + ETH_HLEN);
		if (write_outer(SKB_DATA(skb), SKB_DATA_END(skb), p))
			return XV_DROP_ENCAP_FAILED;
		if (p->family == XV_AF_INET6 && !p->zero_csum6 && xv_csum6_skb(skb))
			return XV_DROP_ENCAP_FAILED;
		return 0;
	}
	if (bpf_skb_adjust_room(skb, ovh, BPF_ADJ_ROOM_MAC, flags)) {
		/* UDP GSO refuses a shrinking gso_size: keep it if it fits */
		if (!gso || gso_too_big(skb, ovh, mtu) ||
		    bpf_skb_adjust_room(skb, ovh, BPF_ADJ_ROOM_MAC,
					flags | BPF_F_ADJ_ROOM_FIXED_GSO))
			return XV_DROP_ENCAP_FAILED;
	}
	tc_pull(skb, ovh + ETH_HLEN);
	data = SKB_DATA(skb);
	data_end = SKB_DATA_END(skb);
	if (write_outer(data, data_end, p))
		return XV_DROP_ENCAP_FAILED;
	if (data + ovh + ETH_HLEN > data_end)
		return XV_DROP_ENCAP_FAILED;
	__builtin_memcpy(data + ovh, ieth, ETH_HLEN);
	/* GSO segments differ from the super-packet, so they can't carry a
	 * checksum computed here: they go out with 0 (tc_gso6_handoff() is
	 * the way to a checksum) */
	if (p->family == XV_AF_INET6 && !p->zero_csum6 && !gso &&
	    xv_csum6_skb(skb))
		return XV_DROP_ENCAP_FAILED;
	return 0;
}

/*
 * A GSO frame to an IPv6 peer with the outer checksum on: segments differ
 * from the super-frame, so no checksum written here can be right for them,
 * and bpf_skb_adjust_room can't ask for SKB_GSO_UDP_TUNNEL_CSUM. The
 * kernel's vxlan in external mode (cfg->gso6_ifindex) can: it encapsulates
 * from the tunnel key and its segmentation checksums every segment. The
 * same addresses, VNI, TTL and TOS as tc_encap would write, and the flow hash
 * that src_port() uses, so the device picks the same source port (its range
 * is xvtep's). Returns 0 or a drop reason; the caller redirects.
 */
static __always_inline int tc_gso6_handoff(struct __sk_buff *skb,
					   const struct xv_encap *p)
{
	struct bpf_tunnel_key k = {};
	struct xv_inner ii;

	inner_parse(SKB_DATA(skb), SKB_DATA_END(skb), &ii);
	k.tunnel_id = p->vni;
	__builtin_memcpy(k.remote_ipv6, &p->daddr, 16);
	__builtin_memcpy(k.local_ipv6, &p->saddr, 16);
	k.tunnel_tos = p->tos;
	k.tunnel_ttl = p->ttl;
	if (bpf_skb_set_tunnel_key(skb, &k, sizeof(k), BPF_F_TUNINFO_IPV6))
		return XV_DROP_ENCAP_FAILED;
	bpf_set_hash(skb, ii.hash);
	return 0;
}

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

/* Unicast to one remote VTEP (inlined into xv_tc_unicast). */
static __always_inline int tc_unicast_remote(struct __sk_buff *skb,
					     struct xv_ep_ctx *c,
					     struct xv_fdb_entry *fe)
{
	void *data = SKB_DATA(skb);
	void *data_end = SKB_DATA_END(skb);
	struct xv_encap p = {};
	struct ethhdr ieth;
	__u32 ovh = overhead_of(fe->family), mtu = underlay_mtu(c->cfg), oif;
	__u32 len = skb->len;
	int rc;

	if (!skb->gso_size && len - ETH_HLEN + ovh > mtu)
		return tc_too_big(skb, c, ovh);
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
	rc = fib_outer(skb, c->cfg, &p, &oif);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH) {
		count_drop(c->st, XV_DROP_FIB_MISS);
		return TC_ACT_SHOT;
	}
	rc = tc_encap(skb, &p, &ieth, mtu) ? -1 : rc;
	if (rc < 0) {
		count_drop(c->st, XV_DROP_ENCAP_FAILED);
		return TC_ACT_SHOT;
	}
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

/* Point the outer header of an encapsulated skb at another VTEP. */
static __always_inline int retarget(struct __sk_buff *skb, struct xv_encap *p)
{
	void *data = SKB_DATA(skb);
	void *data_end = SKB_DATA_END(skb);
	struct ethhdr *eth = data;

	if (p->family == XV_AF_INET) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end)
			return -1;
		iph->daddr = p->daddr.w[0];
		iph->check = 0;
		iph->check = csum_ipv4_hdr(iph);
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		__builtin_memcpy(&ip6->daddr, &p->daddr, 16);
		if (!p->zero_csum6 && !skb->gso_size) {
			if (xv_csum6_skb(skb))
				return -1;
			data = SKB_DATA(skb);
			data_end = SKB_DATA_END(skb);
			eth = data;
		}
	}
	if ((void *)(eth + 1) > data_end)
		return -1;
	mac_copy(eth->h_dest, p->dmac);
	mac_copy(eth->h_source, p->smac);
	return 0;
}

struct xv_pend {
	__s32 idx;  /* peer index whose next hop is unresolved, -1 = none */
	__u32 oif;
	__s32 cur;  /* index of the peer being sent to */
	__u32 _pad;
};

/* One flood copy to the VTEP in p->daddr. 1 = sent, 0 = deferred, -1 = not. */
__attribute__((noinline))
int xv_flood_peer(struct __sk_buff *skb, struct xv_config *cfg,
		  struct xv_encap *p, struct xv_stats *st, struct xv_pend *pend)
{
	__u32 oif;
	int rc;

	if (!skb || !cfg || !p || !pend)
		return -1;
	rc = fib_outer(skb, cfg, p, &oif);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		if (pend->idx >= 0)
			count_event(st, XV_EV_FLOOD_SKIPPED);
		pend->idx = pend->cur;
		pend->oif = oif;
		return 0;
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		count_drop(st, XV_DROP_FIB_MISS);
		return -1;
	}
	if (retarget(skb, p))
		return -1;
	if (bpf_clone_redirect(skb, oif, 0)) {
		count_drop(st, XV_DROP_REDIRECT_FAILED);
		return -1;
	}
	count_tx(st, p->inner_len);
	return 1;
}

/*
 * Clones to the other local endpoints of the VNI. Loop bodies here keep no
 * per-path counters in registers: since 6.8 the verifier compares states
 * inside a loop exactly, so a "sent" counter would make every
 * success/failure combination a distinct state.
 */
__attribute__((noinline))
int xv_flood_local(struct __sk_buff *skb, struct xv_bum *bum,
		   struct xv_stats *st, __u32 ingress)
{
	__u32 n;

	if (!skb || !bum)
		return 0;
	n = bum->n_local;
	for (int i = 0; i < XV_BUM_MAX_LOCAL; i++) {
		__u32 ifx;

		if (i >= n)
			break;
		ifx = bum->local[i];
		if (ifx == ingress)
			continue;
		if (bpf_clone_redirect(skb, ifx, 0) && st)
			st->drop[XV_DROP_REDIRECT_FAILED]++;
	}
	return 0;
}

struct xv_flood {
	struct xv_encap p;
	struct xv_pend pend;
};

/* Clones to every VTEP of one family; the skb is already encapsulated with
 * that family. Loops live in their own (global)
 * functions so the verifier checks each once instead of per path. */
__attribute__((noinline))
int xv_flood_remote(struct __sk_buff *skb, struct xv_config *cfg,
		    struct xv_stats *st, struct xv_bum *bum, struct xv_flood *f)
{
	if (!skb || !cfg || !bum || !f)
		return 0;
	if (f->p.family == XV_AF_INET) {
		__u32 n = bum->n_remote4;

		for (int i = 0; i < XV_BUM_MAX_REMOTE4; i++) {
			if (i >= n)
				break;
			f->p.daddr.w[0] = bum->remote4[i];
			f->pend.cur = i;
			xv_flood_peer(skb, cfg, &f->p, st, &f->pend);
		}
	} else {
		__u32 n = bum->n_remote6;

		for (int i = 0; i < XV_BUM_MAX_REMOTE6; i++) {
			if (i >= n)
				break;
			__builtin_memcpy(&f->p.daddr, bum->remote6[i], 16);
			f->pend.cur = i;
			xv_flood_peer(skb, cfg, &f->p, st, &f->pend);
		}
	}
	return 0;
}

/* One GSO flood copy to the IPv6 VTEP in p->daddr, through the kernel's
 * vxlan (tc_gso6_handoff), before the skb is encapsulated. */
__attribute__((noinline))
int xv_gso6_peer(struct __sk_buff *skb, struct xv_config *cfg,
		 struct xv_encap *p, struct xv_stats *st)
{
	if (!skb || !cfg || !p)
		return -1;
	if (tc_gso6_handoff(skb, p) ||
	    bpf_clone_redirect(skb, cfg->gso6_ifindex, 0)) {
		count_drop(st, XV_DROP_REDIRECT_FAILED);
		return -1;
	}
	count_tx(st, p->inner_len);
	return 1;
}

/* GSO flood copies to every IPv6 VTEP with the outer checksum on; f->p is
 * prepared for IPv6. */
__attribute__((noinline))
int xv_flood_gso6(struct __sk_buff *skb, struct xv_config *cfg,
		  struct xv_stats *st, struct xv_bum *bum, struct xv_flood *f)
{
	if (!skb || !cfg || !bum || !f)
		return 0;
	__u32 n = bum->n_remote6;

	for (int i = 0; i < XV_BUM_MAX_REMOTE6; i++) {
		if (i >= n)
			break;
		__builtin_memcpy(&f->p.daddr, bum->remote6[i], 16);
		xv_gso6_peer(skb, cfg, &f->p, st);
	}
	return 0;
}

/*
 * Head-end replication: a clone to every other local endpoint, then the skb
 * is encapsulated once and a clone is sent to every VTEP of the flood list,
 * IPv4 peers first, then IPv6 (the outer header grows by 20 bytes in place;
 * not done for GSO skbs, whose IPv6 copies are then skipped, unless they went
 * to the kernel's vxlan first: xv_flood_gso6).
 * A copy whose next hop is unresolved can't be cloned to the neighbour
 * layer; the last such peer gets the original via bpf_redirect_neigh() so
 * resolution makes progress (the control plane should keep peers' next hops
 * resolved, e.g. with managed neighbour entries).
 */
__attribute__((noinline))
int xv_tc_flood(struct __sk_buff *skb, struct xv_config *cfg,
		struct xv_stats *st, __u32 vni, __u32 ingress)
{
	struct xv_flood f = { .pend = { .idx = -1 } };
	struct xv_bum *bum;
	struct ethhdr ieth;
	void *data, *data_end;
	__u32 n4, n6, mtu, len;
	int rc;

	if (!skb || !cfg)
		return TC_ACT_SHOT;
	len = skb->len;
	bum = bpf_map_lookup_elem(&xv_bum, &vni);
	if (!bum) {
		count_drop(st, XV_DROP_NO_ENDPOINT);
		return TC_ACT_SHOT;
	}
	if (!bum->n_local && !bum->n_remote4 && !bum->n_remote6) {
		count_drop(st, XV_DROP_NO_ENDPOINT);
		return TC_ACT_SHOT;
	}
	count_event(st, XV_EV_FLOOD);
	xv_flood_local(skb, bum, st, ingress);

	n4 = bum->n_remote4;
	n6 = bum->n_remote6;
	if (!n4 && !n6)
		goto out;
	mtu = underlay_mtu(cfg);
	if (!skb->gso_size &&
	    len - ETH_HLEN + (n6 ? XV_OVERHEAD6 : XV_OVERHEAD4) > mtu) {
		count_drop(st, XV_DROP_MTU_EXCEEDED);
		goto out;
	}
	data = SKB_DATA(skb);
	data_end = SKB_DATA_END(skb);
	if (data + sizeof(ieth) > data_end)
		goto out;
	if (n6 && skb->gso_size && !cfg->udp6_zero_csum && cfg->gso6_ifindex) {
		/* the IPv6 copies go through the kernel's vxlan, checksummed
		 * per segment, before the skb is encapsulated for IPv4 */
		rc = encap_prepare(cfg, &f.p, XV_AF_INET6, bum->remote6[0], vni,
				   data, data_end, len);
		if (rc) {
			count_drop(st, rc);
			goto out;
		}
		xv_flood_gso6(skb, cfg, st, bum, &f);
		if (!n4)
			goto out;
		n6 = 0;
		data = SKB_DATA(skb);
		data_end = SKB_DATA_END(skb);
		if (data + sizeof(ieth) > data_end)
			goto out;
	}
	__builtin_memcpy(&ieth, data, sizeof(ieth));
	if (n4) {
		rc = encap_prepare(cfg, &f.p, XV_AF_INET, &bum->remote4[0], vni,
				   data, data_end, len);
	} else {
		rc = encap_prepare(cfg, &f.p, XV_AF_INET6, bum->remote6[0], vni,
				   data, data_end, len);
	}
	if (rc) {
		count_drop(st, rc);
		goto out;
	}
	if (tc_encap(skb, &f.p, &ieth, mtu)) {
		count_drop(st, XV_DROP_ENCAP_FAILED);
		goto out;
	}
	xv_flood_remote(skb, cfg, st, bum, &f);
	if (n4 && n6) {
		/* same VXLAN/UDP bytes, only the IP header grows by 20 */
		if (f.pend.idx >= 0 || skb->gso_size) {
			count_event(st, XV_EV_FLOOD_SKIPPED);
			goto last;
		}
		if (ip6_is_zero(cfg->local_ip6)) {
			count_drop(st, XV_DROP_NO_LOCAL_ADDR);
			goto last;
		}
		/* IP skbs: grow the outer L3 and fix skb->protocol; others
		 * (ARP...) were encapsulated with change_head, grow likewise */
		if (skb->protocol == bpf_htons(ETH_P_IP) ?
		    bpf_skb_change_proto(skb, bpf_htons(ETH_P_IPV6), 0) :
		    bpf_skb_change_head(skb, XV_OVERHEAD6 - XV_OVERHEAD4, 0)) {
			count_drop(st, XV_DROP_ENCAP_FAILED);
			goto last;
		}
		/* keep tos/ttl/sport of the IPv4 copies: same inner frame */
		f.p.family = XV_AF_INET6;
		__builtin_memcpy(&f.p.saddr, cfg->local_ip6, 16);
		tc_pull(skb, XV_OVERHEAD6 + ETH_HLEN);
		if (write_outer(SKB_DATA(skb), SKB_DATA_END(skb), &f.p)) {
			count_drop(st, XV_DROP_ENCAP_FAILED);
			goto last;
		}
		xv_flood_remote(skb, cfg, st, bum, &f);
	}
last:
	if (f.pend.idx >= 0) {
		/* the outer header family still matches the pending peer's */
		if (f.p.family == XV_AF_INET)
			f.p.daddr.w[0] = bum->remote4[f.pend.idx & (XV_BUM_MAX_REMOTE4 - 1)];
		else
			__builtin_memcpy(&f.p.daddr,
					 bum->remote6[f.pend.idx & (XV_BUM_MAX_REMOTE6 - 1)], 16);
		__builtin_memset(f.p.dmac, 0, 6);
		__builtin_memset(f.p.smac, 0, 6);
		if (!retarget(skb, &f.p)) {
			count_tx(st, len);
			count_event(st, XV_EV_NEIGH_UNRESOLVED);
			return bpf_redirect_neigh(f.pend.oif, 0, 0, 0);
		}
	}
out:
	/* the original was only a template for the clones */
	return TC_ACT_SHOT;
}

SEC("tc")
int xv_tc_endpoint(struct __sk_buff *skb)
{
	struct xv_fdb_key fk = {};
	struct xv_fdb_entry *fe;
	struct xv_ep_ctx c;
	struct ethhdr *eth;
	void *data, *data_end;
	int rc;

	rc = ep_lookup(&c, skb->ifindex);
	if (rc == EP_PASS)
		return TC_ACT_OK;
	if (rc == EP_DROP)
		return TC_ACT_SHOT;
	tc_pull_hash_headers(skb);
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
		fdb_learn_local(c.cfg, c.st, c.vni, eth->h_source, c.ifindex);

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
	return xv_tc_unicast(skb, c.cfg, c.st, fe, (__u64)c.vni << 32 | c.ifindex);
}

#endif /* XVTEP_ENDPOINT_H */
