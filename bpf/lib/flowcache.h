/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The per-CPU flow caches (xv_txflow, xv_rxflow): direct-mapped slots that
 * remember a forwarding decision. xv_gen invalidates them all at once.
 */
#ifndef XV_LIB_FLOWCACHE_H
#define XV_LIB_FLOWCACHE_H

#include "config.h"

static __always_inline __u64 get_gen(void)
{
	__u32 zero = 0;
	struct xv_gen *g = bpf_map_lookup_elem(&xv_gen, &zero);

	return g ? g->gen : 0;
}

/* Invalidate every cached decision (an FDB entry moved). */
static __always_inline void gen_bump(void)
{
	__u32 zero = 0;
	struct xv_gen *g = bpf_map_lookup_elem(&xv_gen, &zero);

	if (g)
		__sync_fetch_and_add(&g->gen, 1);
}

static __always_inline int mac_eq(const __u8 *a, const __u8 *b)
{
	return *(const __u32 *)a == *(const __u32 *)b &&
	       *(const __u16 *)(a + 4) == *(const __u16 *)(b + 4);
}

static __always_inline __u32 mac_word(const __u8 *m)
{
	return *(const __u32 *)(m + 2);
}

/* Slot of a direct-mapped per-CPU cache for three 32-bit key words (entries
 * hold their full key, the slot only spreads them). */
static __always_inline __u32 cache_slot(__u32 a, __u32 b, __u32 c, __u32 mask)
{
	return xv_hash3(a, b, c) & mask;
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

#endif /* XV_LIB_FLOWCACHE_H */
