/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The data path's settings (xv_config) and their defaults. */
#ifndef XV_LIB_CONFIG_H
#define XV_LIB_CONFIG_H

#include <stddef.h>
#include "compat.h"
#include "xvtep_maps.h"
#include "parse.h"
#include "csum.h"

#define XV_DEFAULT_MTU       1500
#define XV_DEFAULT_TTL       64
#define XV_DEFAULT_SPORT_MIN 32768
#define XV_DEFAULT_SPORT_MAX 61000
#define XV_DEFAULT_REFRESH_NS (1000ULL * 1000 * 1000)

static __always_inline struct xv_config *get_config(void)
{
	__u32 zero = 0;
	struct xv_config *cfg = bpf_map_lookup_elem(&xv_config, &zero);

	if (unlikely(!cfg || cfg->layout_version != XVTEP_LAYOUT_VERSION))
		return 0;
	return cfg;
}

static __always_inline __u64 refresh_ns(const struct xv_config *cfg)
{
	return cfg->fdb_refresh_ms ? (__u64)cfg->fdb_refresh_ms * 1000000ULL
				   : XV_DEFAULT_REFRESH_NS;
}

static __always_inline __u32 underlay_mtu(const struct xv_config *cfg)
{
	return cfg->underlay_mtu ? cfg->underlay_mtu : XV_DEFAULT_MTU;
}

#endif /* XV_LIB_CONFIG_H */
