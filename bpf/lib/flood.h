/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* TC: head-end replication of BUM frames from an endpoint. */
#ifndef XV_LIB_FLOOD_H
#define XV_LIB_FLOOD_H

#include "stats.h"
#include "encap_tc.h"
#include "fib.h"

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

/* Encapsulate the skb once, for the first VTEP of the flood list (IPv4 ones
 * first). Returns 0, or -1 (counted). */
static __always_inline int flood_encap(struct __sk_buff *skb, struct xv_config *cfg,
				       struct xv_stats *st, struct xv_bum *bum,
				       __u32 vni, struct xv_flood *f, __u32 len,
				       __u32 n4, __u32 n6)
{
	__u32 mtu = underlay_mtu(cfg);
	void *data, *data_end;
	struct ethhdr ieth;
	int rc;

	if (!skb->gso_size &&
	    len - ETH_HLEN + (n6 ? XV_OVERHEAD6 : XV_OVERHEAD4) > mtu) {
		count_drop(st, XV_DROP_MTU_EXCEEDED);
		return -1;
	}
	data = SKB_DATA(skb);
	data_end = SKB_DATA_END(skb);
	if (data + sizeof(ieth) > data_end)
		return -1;
	__builtin_memcpy(&ieth, data, sizeof(ieth));
	if (n4) {
		rc = encap_prepare(cfg, &f->p, XV_AF_INET, &bum->remote4[0], vni,
				   data, data_end, len);
	} else {
		rc = encap_prepare(cfg, &f->p, XV_AF_INET6, bum->remote6[0], vni,
				   data, data_end, len);
	}
	if (rc) {
		count_drop(st, rc);
		return -1;
	}
	if (tc_encap(skb, &f->p, &ieth, mtu)) {
		count_drop(st, XV_DROP_ENCAP_FAILED);
		return -1;
	}
	return 0;
}

/* After the IPv4 copies: turn the outer header into IPv6 for the IPv6 ones.
 * Same VXLAN/UDP bytes, only the IP header grows by 20. Returns 0, or -1
 * (counted). */
static __always_inline int flood_to_ipv6(struct __sk_buff *skb, struct xv_config *cfg,
					 struct xv_stats *st, struct xv_flood *f)
{
	if (f->pend.idx >= 0 || skb->gso_size) {
		count_event(st, XV_EV_FLOOD_SKIPPED);
		return -1;
	}
	if (ip6_is_zero(cfg->local_ip6)) {
		count_drop(st, XV_DROP_NO_LOCAL_ADDR);
		return -1;
	}
	/* IP skbs: grow the outer L3 and fix skb->protocol; others (ARP...)
	 * were encapsulated with change_head, grow likewise */
	if (skb->protocol == bpf_htons(ETH_P_IP) ?
	    bpf_skb_change_proto(skb, bpf_htons(ETH_P_IPV6), 0) :
	    bpf_skb_change_head(skb, XV_OVERHEAD6 - XV_OVERHEAD4, 0)) {
		count_drop(st, XV_DROP_ENCAP_FAILED);
		return -1;
	}
	/* keep tos/ttl/sport of the IPv4 copies: same inner frame */
	f->p.family = XV_AF_INET6;
	__builtin_memcpy(&f->p.saddr, cfg->local_ip6, 16);
	tc_pull(skb, XV_OVERHEAD6 + ETH_HLEN);
	if (write_outer(SKB_DATA(skb), SKB_DATA_END(skb), &f->p)) {
		count_drop(st, XV_DROP_ENCAP_FAILED);
		return -1;
	}
	return 0;
}

/* The original skb to the peer whose next hop is unresolved, through the
 * neighbour layer. Returns the verdict, or -1 if there is none. */
static __always_inline int flood_pending(struct __sk_buff *skb, struct xv_stats *st,
					 struct xv_bum *bum, struct xv_flood *f,
					 __u32 len)
{
	if (f->pend.idx < 0)
		return -1;
	/* the outer header family still matches the pending peer's */
	if (f->p.family == XV_AF_INET)
		f->p.daddr.w[0] = bum->remote4[f->pend.idx & (XV_BUM_MAX_REMOTE4 - 1)];
	else
		__builtin_memcpy(&f->p.daddr,
				 bum->remote6[f->pend.idx & (XV_BUM_MAX_REMOTE6 - 1)], 16);
	__builtin_memset(f->p.dmac, 0, 6);
	__builtin_memset(f->p.smac, 0, 6);
	if (retarget(skb, &f->p))
		return -1;
	count_tx(st, len);
	count_event(st, XV_EV_NEIGH_UNRESOLVED);
	return bpf_redirect_neigh(f->pend.oif, 0, 0, 0);
}

/*
 * Head-end replication: a clone to every other local endpoint, then the skb
 * is encapsulated once and a clone is sent to every VTEP of the flood list,
 * IPv4 peers first, then IPv6 (the outer header grows by 20 bytes in place;
 * not done for GSO skbs, whose IPv6 copies are then skipped).
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
	__u32 n4, n6, len;
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
	if (flood_encap(skb, cfg, st, bum, vni, &f, len, n4, n6))
		goto out;
	xv_flood_remote(skb, cfg, st, bum, &f);
	if (n4 && n6 && !flood_to_ipv6(skb, cfg, st, &f))
		xv_flood_remote(skb, cfg, st, bum, &f);
	rc = flood_pending(skb, st, bum, &f, len);
	if (rc >= 0)
		return rc;
out:
	/* the original was only a template for the clones */
	return TC_ACT_SHOT;
}

#endif /* XV_LIB_FLOOD_H */
