/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* MAC learning into the forwarding database (xv_fdb). */
#ifndef XV_LIB_FDB_H
#define XV_LIB_FDB_H

#include "config.h"
#include "scratch.h"
#include "stats.h"
#include "flowcache.h"

static __always_inline __u32 lcache_idx(__u32 vni, const __u8 *mac)
{
	__u32 a = ((__u32)mac[0] << 24) | ((__u32)mac[1] << 16) |
		  ((__u32)mac[2] << 8) | mac[3];
	__u32 b = ((__u32)mac[4] << 8) | mac[5];

	return xv_hash3(a, b, vni) & (XV_LCACHE_SIZE - 1);
}

/* Whether this CPU's learning cache already confirmed mac -> dest recently. */
static __always_inline int lcache_confirms(const struct xv_lcache_ent *lc, __u32 vni,
					   const __u8 *mac, __u8 family,
					   const struct xv_ip *dest, __u64 now,
					   __u64 refresh)
{
	return lc && lc->valid && lc->vni == vni && lc->family == family &&
	       *(__u32 *)lc->mac == *(__u32 *)mac &&
	       *(__u16 *)(lc->mac + 4) == *(__u16 *)(mac + 4) &&
	       ip_eq(lc->dest, dest) && now - lc->stamp_ns < refresh;
}

static __always_inline void lcache_keep(struct xv_lcache_ent *lc, __u32 vni,
					const __u8 *mac, __u8 family,
					const struct xv_ip *dest, __u64 stamp)
{
	if (!lc)
		return;
	lc->valid = 0; /* per-CPU, but keep it consistent if we bail */
	lc->vni = vni;
	mac_copy(lc->mac, mac);
	lc->family = family;
	__builtin_memcpy(lc->dest, dest, 16);
	lc->stamp_ns = stamp;
	lc->valid = 1;
}

/* Whether FDB entry e already says what is being learned. */
static __always_inline int fdb_same(const struct xv_fdb_entry *e, __u8 family,
				    const struct xv_ip *remote, __u32 ifindex)
{
	if (ifindex)
		return (e->flags & XV_FDB_F_LOCAL) && e->ifindex == ifindex &&
		       !e->family;
	return !(e->flags & XV_FDB_F_LOCAL) && e->family == family &&
	       ip_eq(e->remote, remote);
}

/*
 * Per-VNI and total caps on learned entries (xv_vni_info, xv_config).
 * add == 0: whether a new entry may be learned; add == 1: count one that was.
 * Out of line, so the learning callers' frames (and their 512-byte combined
 * stacks) stay as they were; only new MACs get here.
 */
static __attribute__((noinline)) int learn_cap(struct xv_config *cfg, __u32 vni,
					       int add)
{
	struct xv_vni_info *vi = bpf_map_lookup_elem(&xv_vni, &vni);

	if (add) {
		if (vi)
			__sync_fetch_and_add(&vi->learned, 1);
		__sync_fetch_and_add(&cfg->learned_total, 1);
		return 1;
	}
	if (vi && vi->learn_max && vi->learned >= vi->learn_max)
		return 0;
	return !cfg->learn_max_total || cfg->learned_total < cfg->learn_max_total;
}

/*
 * Tells the control plane that this host's own learned MACs changed
 * (xv_learn_ring, xvtep_abi.h). Out of line: only new or moved MACs get here.
 */
static __attribute__((noinline)) void learn_notify(struct xv_stats *st,
						   __u32 vni, const __u8 *mac,
						   __u32 ifindex, __u32 kind)
{
	struct xv_learn_event *ev;
	struct xv_config *cfg;

	ev = bpf_ringbuf_reserve(&xv_learn_ring, sizeof(*ev), 0);
	if (!ev) {
		cfg = get_config();
		if (cfg)
			__sync_fetch_and_add(&cfg->learn_ring_drops, 1);
		count_event(st, XV_EV_LEARN_RING_FULL);
		return;
	}
	ev->vni = vni;
	ev->ifindex = ifindex;
	mac_copy(ev->mac, mac);
	ev->kind = kind;
	ev->_pad = 0;
	bpf_ringbuf_submit(ev, 0);
}

/*
 * Learn src MAC -> destination.
 * Local destination: ifindex != 0, family == 0, remote all-zero.
 * Remote: ifindex == 0. remote must always be a valid pointer.
 *
 * Steady state (entry exists, unchanged, confirmed within fdb_refresh_ms)
 * costs one per-CPU array lookup: xv_lcache remembers what this CPU last
 * confirmed. Otherwise one FDB lookup, and a write only when the entry is
 * new, moved or due for a timestamp refresh, so learning never writes per
 * packet.
 */
static __always_inline int fdb_learn(const struct xv_config *cfg,
				     struct xv_stats *st, __u32 vni,
				     const __u8 *mac, __u8 family,
				     const struct xv_ip *remote, __u32 ifindex)
{
	struct xv_fdb_key key = { .vni = vni };
	struct xv_fdb_entry *e, ne = {};
	struct xv_lcache_ent *lc;
	struct xv_ip dest = *remote;
	__u64 now = xv_now_ns(), refresh = refresh_ns(cfg), stamp;
	__u32 idx = lcache_idx(vni, mac);
	int was_local;

	if (ifindex)
		dest.w[0] = ifindex;
	lc = bpf_map_lookup_elem(&xv_lcache, &idx);
	if (lcache_confirms(lc, vni, mac, family, &dest, now, refresh))
		return 1;

	mac_copy(key.mac, mac);
	e = bpf_map_lookup_elem(&xv_fdb, &key);
	if (e) {
		int same = fdb_same(e, family, remote, ifindex);

		if (e->flags & XV_FDB_F_STATIC) {
			if (!same) {
				count_event(st, XV_EV_STATIC_CONFLICT);
				return 0;
			}
			stamp = now; /* static: nothing to refresh */
			goto cache;
		}
		if (same) {
			/* 8-byte aligned store: readers never see it torn */
			if (now - e->updated_ns >= refresh)
				e->updated_ns = now;
			stamp = e->updated_ns;
			goto cache;
		}
	}
	/* a new MAC: only here, never on the steady-state path above */
	if (!e && !learn_cap((struct xv_config *)cfg, vni, 0)) {
		count_event(st, XV_EV_LEARN_LIMIT);
		return 0;
	}
	/* read before the update replaces the value e points at */
	was_local = e && (e->flags & XV_FDB_F_LOCAL);
	if (ifindex) {
		ne.ifindex = ifindex;
		ne.flags = XV_FDB_F_LOCAL;
	} else {
		__builtin_memcpy(ne.remote, remote, 16);
		ne.family = family;
	}
	ne.updated_ns = now;
	/* whole-value replace so readers see old or new, never a mix */
	if (bpf_map_update_elem(&xv_fdb, &key, &ne, e ? BPF_EXIST : BPF_NOEXIST)) {
		if (!e)
			count_event(st, XV_EV_FDB_FULL);
		return 0;
	}
	if (!e)
		learn_cap((struct xv_config *)cfg, vni, 1);
	else
		gen_bump(); /* a cached decision may point at the old location */
	count_event(st, e ? XV_EV_LEARN_MOVE : XV_EV_LEARN_NEW);
	if ((ifindex || was_local) && cfg->learn_events)
		learn_notify(st, vni, key.mac, ifindex,
			     !ifindex ? XV_LEARN_LEFT : e ? XV_LEARN_MOVE : XV_LEARN_NEW);
	stamp = now;
cache:
	lcache_keep(lc, vni, mac, family, &dest, stamp);
	return 1;
}

/* Out-of-line variant for the TC endpoint program: keeps fdb_learn()'s locals
 * out of its frame (the TC call chain must fit the 512-byte combined stack).
 * Returns fdb_learn()'s verdict: whether the decision may be cached. */
static __attribute__((noinline)) int fdb_learn_local(const struct xv_config *cfg,
						      struct xv_stats *st,
						      __u32 vni, const __u8 *mac,
						      __u32 ifindex)
{
	struct xv_ip none = {};

	return fdb_learn(cfg, st, vni, mac, 0, &none, ifindex);
}

/*
 * Where the frame to `mac` goes. Local: *family = 0 and dest->w[0] is the
 * endpoint's ifindex. Remote: the VTEP's family and address. Returns 0 if the
 * MAC is unknown (the frame is then flooded).
 */
static __always_inline int fdb_dest(__u32 vni, const __u8 *mac, __u8 *family,
				    struct xv_ip *dest)
{
	struct xv_fdb_key fk = {};
	struct xv_fdb_entry *fe;

	fk.vni = vni;
	mac_copy(fk.mac, mac);
	fe = bpf_map_lookup_elem(&xv_fdb, &fk);
	if (!fe)
		return 0;
	if (fe->flags & XV_FDB_F_LOCAL) {
		*family = 0;
		dest->w[0] = fe->ifindex;
	} else {
		*family = fe->family;
		__builtin_memcpy(dest, fe->remote, 16);
	}
	return 1;
}

#endif /* XV_LIB_FDB_H */
