/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Proxy ARP / ND: rewrite the request in place into the reply.
 * Returns 1 if the frame now holds a reply to send back, 0 otherwise.
 */
#ifndef XV_LIB_PROXY_H
#define XV_LIB_PROXY_H

#include "config.h"
#include "stats.h"

/* Not inlined: rare path, and keeping its locals out of the callers' frames
 * keeps the TC call chain within the 512-byte combined stack limit. */
static __attribute__((noinline)) int proxy_arp(void *data, void *data_end,
					      __u32 vni, struct xv_stats *st)
{
	struct ethhdr *eth = data;
	struct xv_arp *arp = (void *)(eth + 1);
	struct xv_addr_key k = { .vni = vni, .family = XV_AF_INET };
	struct xv_neigh_val *n;
	__u8 tmp[4];

	if ((void *)(arp + 1) > data_end)
		return 0;
	if (arp->htype != bpf_htons(1) || arp->ptype != bpf_htons(ETH_P_IP) ||
	    arp->hlen != 6 || arp->plen != 4 || arp->op != bpf_htons(ARPOP_REQUEST))
		return 0;
	/* gratuitous ARP / probes must reach everybody */
	if (*(__u32 *)arp->spa == *(__u32 *)arp->tpa || !*(__u32 *)arp->spa)
		return 0;
	__builtin_memcpy(k.addr, arp->tpa, 4);
	n = bpf_map_lookup_elem(&xv_neigh, &k);
	if (!n || mac_is_zero(n->mac))
		return 0;
	mac_copy(eth->h_dest, arp->sha);
	mac_copy(eth->h_source, n->mac);
	arp->op = bpf_htons(ARPOP_REPLY);
	mac_copy(arp->tha, arp->sha);
	mac_copy(arp->sha, n->mac);
	__builtin_memcpy(tmp, arp->spa, 4);
	__builtin_memcpy(arp->spa, arp->tpa, 4);
	__builtin_memcpy(arp->tpa, tmp, 4);
	count_event(st, XV_EV_PROXY_ARP);
	return 1;
}

/* Only an NS carrying exactly one source link-layer option (what Linux and
 * most stacks send for address resolution) is answered: the NA then has the
 * same size and the reply is an in-place rewrite. */
static __attribute__((noinline)) int proxy_nd(void *data, void *data_end,
					     __u32 vni, struct xv_stats *st)
{
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct xv_nd *nd = (void *)(ip6 + 1);
	struct xv_addr_key k = { .vni = vni, .family = XV_AF_INET6 };
	struct xv_neigh_val *n;
	__u64 sum;

	if ((void *)(nd + 1) > data_end)
		return 0;
	if (ip6->nexthdr != IPPROTO_ICMPV6 || ip6->hop_limit != 255 ||
	    ip6->payload_len != bpf_htons(sizeof(*nd)) ||
	    nd->type != NDISC_NEIGHBOUR_SOLICITATION || nd->code != 0 ||
	    nd->opt_type != 1 || nd->opt_len != 1)
		return 0;
	if (ip6_is_zero(&ip6->saddr)) /* DAD: must not be answered by proxy */
		return 0;
	__builtin_memcpy(k.addr, nd->target, 16);
	n = bpf_map_lookup_elem(&xv_neigh, &k);
	if (!n || mac_is_zero(n->mac))
		return 0;
	mac_copy(eth->h_dest, nd->opt_mac);
	mac_copy(eth->h_source, n->mac);
	/* NA from the target to the solicitor */
	__builtin_memcpy(&ip6->daddr, &ip6->saddr, 16);
	__builtin_memcpy(&ip6->saddr, nd->target, 16);
	*(__be32 *)ip6 = bpf_htonl(0x60000000);
	nd->type = NDISC_NEIGHBOUR_ADVERTISEMENT;
	nd->flags = bpf_htonl(0x60000000); /* Solicited | Override */
	nd->opt_type = 2; /* target link-layer address */
	mac_copy(nd->opt_mac, n->mac);
	nd->csum = 0;
	sum = csum_ip6_pseudo(&ip6->saddr, &ip6->daddr, sizeof(*nd), IPPROTO_ICMPV6);
	{
		__u32 *w = (void *)nd;
#pragma unroll
		for (int i = 0; i < 8; i++)
			sum += w[i];
	}
	nd->csum = csum_fold(sum);
	count_event(st, XV_EV_PROXY_ND);
	return 1;
}

#endif /* XV_LIB_PROXY_H */
