// A GRO hand-off that needs no XDP metadata, as a no-lookup prototype for
// bench/tcp-kernel-gro.mjs: XDP on the underlay moves every VXLAN frame to a
// private UDP port and passes it; the kernel's vxlan in external mode listens
// there, so the stack's UDP GRO aggregates each TCP flow and the kernel
// decapsulates once per aggregate; kgro_tc on that device's tcx ingress sends
// the aggregate to the endpoint. Measured, not adopted: in the veth lab it
// came within noise of what XDP's own redirect gives (docs/performance.md).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 kgro_ifindex = 0; /* the endpoint */
const volatile __u32 kgro_peer = 0;    /* 1: bpf_redirect_peer into its peer's namespace */
const volatile __u16 kgro_port = 48879;
const volatile __u16 kgro_wire_port = 4789;

SEC("xdp")
int kgro_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *uh = (void *)(ip + 1);
	__u32 c;

	if ((void *)(uh + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP || ip->ihl != 5 ||
	    uh->dest != bpf_htons(kgro_wire_port))
		return XDP_PASS;
	if (uh->check) {
		/* RFC 1624: the port is in the checksummed header */
		c = (__u16)~uh->check;
		c += (__u16)~uh->dest;
		c += bpf_htons(kgro_port);
		c = (c & 0xffff) + (c >> 16);
		c = (c & 0xffff) + (c >> 16);
		uh->check = (__u16)~c ? (__u16)~c : 0xffff;
	}
	uh->dest = bpf_htons(kgro_port);
	return XDP_PASS;
}

SEC("tc")
int kgro_tc(struct __sk_buff *skb)
{
	struct bpf_tunnel_key k = {};

	if (bpf_skb_get_tunnel_key(skb, &k, sizeof(k), 0))
		return TC_ACT_SHOT;
	return kgro_peer ? bpf_redirect_peer(kgro_ifindex, 0) : bpf_redirect(kgro_ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
