/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Next hop of the outer packet: FIB lookup behind a per-CPU next-hop cache. */
#ifndef XV_LIB_FIB_H
#define XV_LIB_FIB_H

#include "config.h"
#include "scratch.h"
#include "encap.h"

static __always_inline __u64 nh_ttl_ns(const struct xv_config *cfg)
{
	if (cfg->nh_cache_ms == XV_NH_CACHE_OFF)
		return 0;
	return (cfg->nh_cache_ms ? cfg->nh_cache_ms : 100) * 1000000ULL;
}

/*
 * Next hop for the outer packet. Returns BPF_FIB_LKUP_RET_*; on success the
 * MACs are in p and *oif is the egress device. BPF_FIB_LOOKUP_OUTPUT makes it
 * an output (locally generated) lookup, so forwarding need not be enabled.
 * *expires (if given): until when the result may be reused (0 = not
 * cacheable). sc: this CPU's scratch, whose fib area holds the lookup's
 * parameters (64 bytes the callers' stack frames can't spare).
 */
static __always_inline int fib_outer_at(void *ctx, const struct xv_config *cfg,
					struct xv_encap *p, __u32 *oif,
					struct xv_scratch *sc, __u64 now,
					__u64 *expires)
{
	struct bpf_fib_lookup *fib;
	struct xv_nhcache_ent *nc;
	__u64 ttl = nh_ttl_ns(cfg);
	__u32 idx = xv_hash3(p->daddr.w[0] ^ p->daddr.w[1],
			     p->daddr.w[2] ^ p->daddr.w[3], p->family) &
		    (XV_NHCACHE_SIZE - 1);
	int rc;

	nc = bpf_map_lookup_elem(&xv_nhcache, &idx);
	if (nc && nc->valid && nc->family == p->family &&
	    ip_eq(nc->addr, &p->daddr) && now < nc->expires_ns &&
	    nc->expires_ns - now <= ttl) { /* filled under a longer nh_cache_ms: stale */
		mac_copy(p->dmac, nc->dmac);
		mac_copy(p->smac, nc->smac);
		*oif = nc->oif;
		if (expires)
			*expires = nc->expires_ns;
		return BPF_FIB_LKUP_RET_SUCCESS;
	}
	if (expires)
		*expires = 0;
	if (!sc)
		return BPF_FIB_LKUP_RET_NOT_FWDED;

	fib = &sc->fib;
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->ifindex = cfg->underlay_ifindex;
	fib->l4_protocol = IPPROTO_UDP;
	fib->sport = 0;
	fib->dport = cfg->udp_port;
	if (p->family == XV_AF_INET) {
		fib->family = AF_INET;
		fib->ipv4_src = p->saddr.w[0];
		fib->ipv4_dst = p->daddr.w[0];
	} else {
		fib->family = AF_INET6;
		__builtin_memcpy(fib->ipv6_src, &p->saddr, 16);
		__builtin_memcpy(fib->ipv6_dst, &p->daddr, 16);
	}
	rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), BPF_FIB_LOOKUP_OUTPUT);
	*oif = fib->ifindex;
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		mac_copy(p->dmac, fib->dmac);
		mac_copy(p->smac, fib->smac);
		if (nc && ttl) {
			nc->valid = 0;
			__builtin_memcpy(nc->addr, &p->daddr, 16);
			nc->family = p->family;
			mac_copy(nc->dmac, fib->dmac);
			mac_copy(nc->smac, fib->smac);
			nc->oif = fib->ifindex;
			nc->expires_ns = now + ttl;
			nc->valid = 1;
			if (expires)
				*expires = now + ttl;
		}
	} else if (rc == BPF_FIB_LKUP_RET_FWD_DISABLED) {
		/* bpf_fib_lookup() insists on forwarding being enabled on the
		 * underlay even for output lookups; without it let the kernel
		 * route + resolve (bpf_redirect_neigh), i.e. the slow path */
		*oif = cfg->underlay_ifindex;
		rc = BPF_FIB_LKUP_RET_NO_NEIGH;
	}
	return rc;
}

static __always_inline int fib_outer(void *ctx, const struct xv_config *cfg,
				     struct xv_encap *p, __u32 *oif)
{
	struct xv_scratch *sc = get_scratch();

	return fib_outer_at(ctx, cfg, p, oif, sc, xv_clock(sc), 0);
}

/* Whether oif is the device in xv_uplink (see xvtep_abi.h). */
static __always_inline __u8 is_uplink(__u32 oif)
{
	return !!bpf_map_lookup_elem(&xv_uplink, &oif);
}

#endif /* XV_LIB_FIB_H */
