/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* This CPU's scratch area (xv_scratch) and the coarse clock kept in it. */
#ifndef XV_LIB_SCRATCH_H
#define XV_LIB_SCRATCH_H

#include "config.h"

/*
 * CLOCK_MONOTONIC (coarse) in ns. bpf_ktime_get_coarse_ns() costs ~20 ns
 * here while bpf_jiffies64() is inlined to a load; the coarse clock only
 * moves on ticks anyway, so re-read it once per jiffy per CPU.
 */
static __always_inline __u64 xv_clock(struct xv_scratch *sc)
{
	__u64 j = bpf_jiffies64();

	if (!sc)
		return bpf_ktime_get_coarse_ns();
	if (sc->clk_jiffies != j) {
		sc->clk_ns = bpf_ktime_get_coarse_ns();
		sc->clk_jiffies = j;
	}
	return sc->clk_ns;
}

static __always_inline struct xv_scratch *get_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xv_scratch, &zero);
}

static __always_inline __u64 xv_now_ns(void)
{
	return xv_clock(get_scratch());
}

#endif /* XV_LIB_SCRATCH_H */
