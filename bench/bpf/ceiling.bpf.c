// The ceiling of the benchmarks: the least an XDP VXLAN endpoint can do.
// Decap: check the outer headers are IPv4/UDP to the VXLAN port, strip the
// 50 outer bytes, redirect. Encap: push a fixed 50-byte outer header,
// redirect. No map lookups, no learning, no statistics.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define OUTER 50 /* Eth 14 + IPv4 20 + UDP 8 + VXLAN 8 */

const volatile __u32 ceil_decap_ifindex = 0; /* decap: redirect target */
const volatile __u32 ceil_encap_ifindex = 0; /* encap: redirect target */
const volatile __u16 ceil_port = 4789;   /* VXLAN UDP port, host order */
/* encap: the outer header to push (8-aligned for copy_outer) */
const volatile __u8 ceil_outer[OUTER] __attribute__((aligned(8))) = {};

/*
 * Copy ceil_outer to dst through volatile loads. A memcpy from it with the
 * qualifier cast away lets clang fold the zero initialiser into 50 zero
 * stores, ignoring the value the loader writes.
 */
static __always_inline void copy_outer(void *dst)
{
	const volatile __u64 *s = (const volatile __u64 *)ceil_outer;
	__u64 *d = dst;

	for (int i = 0; i < OUTER / 8; i++)
		d[i] = s[i];
	*(__u16 *)(dst + 48) = *(const volatile __u16 *)(ceil_outer + 48);
}

SEC("xdp")
int ceil_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct udphdr *udp = (void *)(iph + 1);

	if ((void *)(udp + 1) + 8 + sizeof(struct ethhdr) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || iph->ihl != 5 ||
	    iph->protocol != IPPROTO_UDP || udp->dest != bpf_htons(ceil_port))
		return XDP_PASS;
	if (bpf_xdp_adjust_head(ctx, OUTER))
		return XDP_DROP;
	return bpf_redirect(ceil_decap_ifindex, 0);
}

SEC("xdp")
int ceil_encap(struct xdp_md *ctx)
{
	void *data, *data_end;

	if (bpf_xdp_adjust_head(ctx, -OUTER))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + OUTER > data_end)
		return XDP_DROP;
	copy_outer(data);
	return bpf_redirect(ceil_encap_ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
