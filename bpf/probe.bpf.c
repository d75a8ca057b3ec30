// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Kernel feature probes, one tiny program each, loaded one at a time by
 * src/datapath/probe.ts before the data path loads: a verifier refusal here
 * says which feature this kernel lacks, in a program small enough that the
 * refusal means nothing else.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* XDP metadata (bpf_xdp_adjust_meta): the GRO hand-off tags frames with it.
 * Some kernels refuse the helper to XDP programs altogether. */
SEC("xdp")
int xv_probe_xdp_meta(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_meta(ctx, -4))
		return XDP_PASS;
	return XDP_PASS;
}

char _license[] SEC("license") = "Dual BSD/GPL";
