// The floor of the per-packet cost: XDP programs that do nothing.
// BPF_PROG_TEST_RUN of xdp_drop in live-frames mode is the fixed cost of the
// test-run machinery itself; xdp_redirect adds one redirect to a veth.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 floor_ifindex = 0;

SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int xdp_redirect(struct xdp_md *ctx)
{
	return bpf_redirect(floor_ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
