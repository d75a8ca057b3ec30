/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Outer headers: what goes into them (config, FDB, inner frame) and writing
 * them in front of an inner frame.
 */
#ifndef XV_LIB_ENCAP_H
#define XV_LIB_ENCAP_H

#include "config.h"
#include "scratch.h"
#include "ecn.h"

static __always_inline __u32 overhead_of(__u8 family)
{
	return family == XV_AF_INET ? XV_OVERHEAD4 : XV_OVERHEAD6;
}

static __always_inline __be16 src_port(const struct xv_config *cfg, __u32 hash)
{
	__u32 min = cfg->src_port_min, max = cfg->src_port_max;

	if (!min && !max) {
		min = XV_DEFAULT_SPORT_MIN;
		max = XV_DEFAULT_SPORT_MAX;
	}
	if (max <= min)
		return bpf_htons(min);
	/* same scaling as the kernel's udp_flow_src_port() */
	hash ^= hash << 16;
	return bpf_htons((((__u64)hash * (max - min)) >> 32) + min);
}

/* Everything needed to write the outer headers. */
struct xv_encap {
	__u8 dmac[6];
	__u8 smac[6];
	struct xv_ip saddr;
	struct xv_ip daddr;
	__u32 vni;
	__u32 inner_len; /* inner frame incl. inner Ethernet */
	__be16 sport;
	__be16 dport;
	__u8 tos;
	__u8 ttl;
	__u8 df;
	__u8 family;
	__u8 zero_csum6; /* IPv6: leave UDP checksum 0 */
	__u8 _pad;
	__u16 ip_id;
};

/*
 * Write outer Eth/IP/UDP/VXLAN at `data` (the inner Ethernet header must
 * already be at data + overhead). Returns 0 or -1 (bounds).
 */
static __always_inline int write_outer(void *data, void *data_end,
				       const struct xv_encap *p)
{
	struct ethhdr *eth = data;
	struct udphdr *udp;
	struct xv_vxlanhdr *vx;
	__u32 udp_len = p->inner_len + sizeof(*udp) + sizeof(*vx);

	if (p->family == XV_AF_INET) {
		struct iphdr *iph = (void *)(eth + 1);

		udp = (void *)(iph + 1);
		vx = (void *)(udp + 1);
		if ((void *)(vx + 1) + sizeof(struct ethhdr) > data_end)
			return -1;
		eth->h_proto = bpf_htons(ETH_P_IP);
		*(__u16 *)iph = bpf_htons(0x4500 | p->tos);
		iph->tot_len = bpf_htons(udp_len + sizeof(*iph));
		/* DF packets may share an ID (RFC 6864); others need one that
		 * varies so reassembly can't mix datagrams */
		iph->id = p->df ? 0 : bpf_htons(p->ip_id);
		iph->frag_off = p->df ? bpf_htons(IP_DF) : 0;
		iph->ttl = p->ttl;
		iph->protocol = IPPROTO_UDP;
		iph->check = 0;
		iph->saddr = p->saddr.w[0];
		iph->daddr = p->daddr.w[0];
		iph->check = csum_ipv4_hdr(iph);
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		udp = (void *)(ip6 + 1);
		vx = (void *)(udp + 1);
		if ((void *)(vx + 1) + sizeof(struct ethhdr) > data_end)
			return -1;
		eth->h_proto = bpf_htons(ETH_P_IPV6);
		*(__be32 *)ip6 = bpf_htonl(0x60000000 | ((__u32)p->tos << 20));
		ip6->payload_len = bpf_htons(udp_len);
		ip6->nexthdr = IPPROTO_UDP;
		ip6->hop_limit = p->ttl;
		__builtin_memcpy(&ip6->saddr, &p->saddr, 16);
		__builtin_memcpy(&ip6->daddr, &p->daddr, 16);
	}
	mac_copy(eth->h_dest, p->dmac);
	mac_copy(eth->h_source, p->smac);
	udp->source = p->sport;
	udp->dest = p->dport;
	udp->len = bpf_htons(udp_len);
	udp->check = 0;
	vx->flags = XV_VXLAN_FLAG_I;
	vx->vni = bpf_htonl(p->vni << 8);
	return 0;
}

/* The outer header fields that vary per inner frame. */
struct xv_vary {
	__be16 sport;
	__u16 ip_id;
	__u8 tos;
	__u8 df;
	__u8 zero_csum6; /* IPv6: leave UDP checksum 0 */
	__u8 _pad;
};

/* sc: this CPU's scratch, 0 = look it up if needed. */
static __always_inline void encap_vary(const struct xv_config *cfg,
				       struct xv_vary *v, __u8 family,
				       const struct xv_inner *ii,
				       struct xv_scratch *sc)
{
	v->tos = outer_tos(cfg, ii->dsf);
	if (cfg->df_policy == XV_DF_SET)
		v->df = 1;
	else if (cfg->df_policy == XV_DF_INHERIT)
		v->df = ii->df;
	else
		v->df = 0;
	v->ip_id = 0;
	if (!v->df && family == XV_AF_INET) {
		/* per-CPU counter, CPUs spread over the ID space; the kernel's
		 * ip_select_ident() collides between flows similarly */
		if (!sc)
			sc = get_scratch();
		if (sc)
			v->ip_id = (__u16)(sc->ip_id++ + (bpf_get_smp_processor_id() << 11));
	}
	v->sport = src_port(cfg, ii->hash);
	/* an outer checksum over a possibly partial inner one would be wrong:
	 * send 0 (RFC 6935) unless the inner frame is known to be complete */
	v->zero_csum6 = cfg->udp6_zero_csum ||
			(!cfg->ep_csum_complete && !ii->csum_safe);
}

/* Fill the parts of xv_encap that come from config + FDB. Returns 0, or a
 * drop reason. */
static __always_inline int encap_prepare_ii(const struct xv_config *cfg,
					    struct xv_encap *p, __u8 family,
					    const void *remote, __u32 vni,
					    const struct xv_inner *ii,
					    __u32 inner_len,
					    struct xv_scratch *sc)
{
	struct xv_vary v;

	p->family = family;
	p->vni = vni;
	p->inner_len = inner_len;
	if (family == XV_AF_INET) {
		if (!cfg->local_ip4)
			return XV_DROP_NO_LOCAL_ADDR;
		p->saddr.w[0] = cfg->local_ip4;
		p->daddr.w[0] = *(const __u32 *)remote;
	} else {
		if (ip6_is_zero(cfg->local_ip6))
			return XV_DROP_NO_LOCAL_ADDR;
		__builtin_memcpy(&p->saddr, cfg->local_ip6, 16);
		__builtin_memcpy(&p->daddr, remote, 16);
	}
	p->ttl = cfg->ttl ? cfg->ttl : XV_DEFAULT_TTL;
	p->dport = cfg->udp_port;
	encap_vary(cfg, &v, family, ii, sc);
	p->tos = v.tos;
	p->df = v.df;
	p->ip_id = v.ip_id;
	p->sport = v.sport;
	p->zero_csum6 = v.zero_csum6;
	return 0;
}

static __always_inline int encap_prepare(const struct xv_config *cfg,
					 struct xv_encap *p, __u8 family,
					 const void *remote, __u32 vni,
					 void *inner, void *data_end,
					 __u32 inner_len)
{
	struct xv_inner ii;

	inner_parse(inner, data_end, &ii);
	return encap_prepare_ii(cfg, p, family, remote, vni, &ii, inner_len, 0);
}

#endif /* XV_LIB_ENCAP_H */
