/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Endpoint lookups (xv_ep) shared by the endpoint hooks. */
#ifndef XV_LIB_EP_H
#define XV_LIB_EP_H

#include "config.h"
#include "stats.h"

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

#endif /* XV_LIB_EP_H */
