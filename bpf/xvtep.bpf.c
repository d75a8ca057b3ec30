// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xvtep data path: one object with every program and map so that all hooks
 * share the same maps.
 *
 *   xv_xdp_underlay  SEC("xdp")        underlay NIC, receive + decap
 *   xv_tc_underlay   SEC("tc")         underlay NIC tcx ingress (skb fallback)
 *   xv_xdp_endpoint  SEC("xdp")        endpoint host-side if, fast path
 *   xv_xdp_ep_frags  SEC("xdp.frags")  same, multi-buffer aware
 *   xv_tc_endpoint   SEC("tc")         endpoint tcx ingress, full tx path
 *
 * Build: clang -O2 -g -Wall -target bpf -D__TARGET_ARCH_x86 -I bpf/include \
 *          -c bpf/xvtep.bpf.c -o xvtep.bpf.o
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "underlay.h"
#include "endpoint.h"

/* Layout version of this object, readable before load from .rodata. */
const volatile __u32 xv_layout_version = XVTEP_LAYOUT_VERSION;

/*
 * 1 when this kernel lets XDP programs use bpf_xdp_adjust_meta, set before
 * load from src/datapath/probe.ts. At 0 the verifier sees the GRO hand-off's
 * tagging as dead code and never checks the helper call, so the object loads
 * on kernels that refuse it (frames are then redirected one by one).
 */
const volatile __u32 xv_xdp_meta = 1;

/* The ABI's enums type no map value, so nothing else would put them in the
 * object's BTF, where test/datapath/abi.test.ts checks the control plane's
 * tables against them. No program reads these. */
const volatile enum xv_drop_reason xv_abi_drop_reasons = XV_DROP__MAX;
const volatile enum xv_event xv_abi_events = XV_EV__MAX;

/* GPL: bpf_redirect_neigh() and friends are GPL-only helpers. */
char _license[] SEC("license") = "Dual BSD/GPL";
