/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-VNI counters (xv_stats). Counting must never fail a packet: a missing
 * slot falls back to slot 0 for drops and events, and is skipped for traffic.
 */
#ifndef XV_LIB_STATS_H
#define XV_LIB_STATS_H

#include "config.h"

static __always_inline struct xv_stats *get_stats(__u32 slot)
{
	return bpf_map_lookup_elem(&xv_stats, &slot);
}

static __always_inline void count_drop(struct xv_stats *st, int reason)
{
	if (!st)
		st = get_stats(0);
	if (st && reason >= 0 && reason < XV_DROP__MAX)
		st->drop[reason]++;
}

static __always_inline void count_event(struct xv_stats *st, int ev)
{
	if (!st)
		st = get_stats(0);
	if (st && ev >= 0 && ev < XV_EV__MAX)
		st->event[ev]++;
}

static __always_inline void count_tx(struct xv_stats *st, __u64 bytes)
{
	if (st) {
		st->tx_packets++;
		st->tx_bytes += bytes;
	}
}

static __always_inline void count_rx(struct xv_stats *st, __u64 bytes)
{
	if (st) {
		st->rx_packets++;
		st->rx_bytes += bytes;
	}
}

#endif /* XV_LIB_STATS_H */
