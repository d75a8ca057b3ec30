// The ceiling of the benchmarks: the least an XDP VXLAN endpoint can do.
// Decap: check the outer headers are IPv4/UDP to the VXLAN port, strip the
// 50 outer bytes, redirect. Encap: push a fixed 50-byte outer header,
// redirect. No map lookups, no learning, no statistics.
// ceil_tc_encap is the TC encap ceiling: for bulk TCP (XDP on the endpoint
// veth would clear its peer's TSO, so it encapsulates whole GSO skbs on tcx
// ingress) and for small frames, beside xvtep's xv_tc_endpoint (the default
// on veths): push the 50 outer bytes, redirect to the underlay.
// ceil_decap_gro + ceil_tc_gro are the TCP decap ceiling: xvtep's GRO
// hand-off (bpf/lib/gro.h) without lookups.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define OUTER 50 /* Eth 14 + IPv4 20 + UDP 8 + VXLAN 8 */

const volatile __u32 ceil_decap_ifindex = 0; /* decap: redirect target */
const volatile __u32 ceil_encap_ifindex = 0; /* encap: redirect target */
const volatile __u16 ceil_port = 4789;   /* VXLAN UDP port, host order */
/* 0 where the kernel refuses bpf_xdp_adjust_meta to XDP (as xvtep's xv_xdp_meta) */
const volatile __u8 ceil_xdp_meta = 1;
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

/* IPv4 (no options) / UDP to the VXLAN port, with a whole inner Ethernet header. */
static __always_inline int is_vxlan4(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct udphdr *udp = (void *)(iph + 1);

	if ((void *)(udp + 1) + 8 + sizeof(struct ethhdr) > data_end)
		return 0;
	return eth->h_proto == bpf_htons(ETH_P_IP) && iph->ihl == 5 &&
	       iph->protocol == IPPROTO_UDP && udp->dest == bpf_htons(ceil_port);
}

SEC("xdp")
int ceil_decap(struct xdp_md *ctx)
{
	if (!is_vxlan4((void *)(long)ctx->data, (void *)(long)ctx->data_end))
		return XDP_PASS;
	if (bpf_xdp_adjust_head(ctx, OUTER))
		return XDP_DROP;
	return bpf_redirect(ceil_decap_ifindex, 0);
}

/*
 * The TCP profile's decap: xvtep's GRO hand-off without lookups. Frames of at
 * least 512 bytes carrying TCP are stripped and passed up to the device's
 * GRO with the endpoint in their metadata; ceil_tc_gro on tcx ingress sends
 * each aggregate on. Everything else as ceil_decap.
 */
struct ceil_meta {
	__u32 ifindex;
	__u32 magic;
};
#define CEIL_MAGIC 0x6365696cU

SEC("xdp")
int ceil_decap_gro(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *ieth = data + OUTER; /* the inner frame starts after the 50 bytes */
	struct iphdr *iiph = (void *)(ieth + 1);
	struct ceil_meta *m;

	if (!is_vxlan4(data, data_end) || (void *)(ieth + 1) > data_end)
		return XDP_PASS;
	if (data_end - data < OUTER + 512 || (void *)(iiph + 1) > data_end ||
	    ieth->h_proto != bpf_htons(ETH_P_IP) || iiph->protocol != IPPROTO_TCP) {
		if (bpf_xdp_adjust_head(ctx, OUTER))
			return XDP_DROP;
		return bpf_redirect(ceil_decap_ifindex, 0);
	}
	if (!ceil_xdp_meta) { /* as xvtep where the kernel refuses the helper: redirect */
		if (bpf_xdp_adjust_head(ctx, OUTER))
			return XDP_DROP;
		return bpf_redirect(ceil_decap_ifindex, 0);
	}
	if (bpf_xdp_adjust_head(ctx, OUTER) || bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m)))
		return XDP_DROP;
	m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > (void *)(long)ctx->data)
		return XDP_DROP;
	m->ifindex = ceil_decap_ifindex;
	m->magic = CEIL_MAGIC;
	return XDP_PASS;
}

SEC("tc")
int ceil_tc_gro(struct __sk_buff *skb)
{
	struct ceil_meta *m = (void *)(long)skb->data_meta;

	if ((void *)(m + 1) > (void *)(long)skb->data || m->magic != CEIL_MAGIC)
		return TC_ACT_OK;
	return bpf_redirect(m->ifindex, 0);
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

/* The outer header with this skb's lengths: ceil_outer is written for a
 * 64-byte inner frame, a GSO skb is up to 64 KB (segmentation fixes the
 * lengths of each segment). */
static __always_inline int write_outer(void *data, void *data_end, __u32 inner_len)
{
	struct iphdr *iph = data + sizeof(struct ethhdr);
	struct udphdr *udp = (void *)(iph + 1);
	__u16 *w = (void *)iph;
	__u32 sum = 0;

	if (data + OUTER + sizeof(struct ethhdr) > data_end)
		return -1;
	copy_outer(data);
	iph->tot_len = bpf_htons(inner_len + OUTER - sizeof(struct ethhdr));
	udp->len = bpf_htons(inner_len + 16);
	iph->check = 0;
	for (int i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	iph->check = ~sum;
	return 0;
}

SEC("tc")
int ceil_tc_encap(struct __sk_buff *skb)
{
	__u64 flags = BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP |
		      BPF_F_ADJ_ROOM_ENCAP_L2_ETH |
		      BPF_F_ADJ_ROOM_ENCAP_L2(sizeof(struct ethhdr));
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 inner_len = skb->len;
	struct ethhdr ieth;

	if (skb->protocol != bpf_htons(ETH_P_IP) || data + sizeof(ieth) > data_end)
		return TC_ACT_OK;
	__builtin_memcpy(&ieth, data, sizeof(ieth));
	/* the room opens after the MAC header: outer headers go in front,
	 * the inner Ethernet header is rewritten behind them */
	if (bpf_skb_adjust_room(skb, OUTER, BPF_ADJ_ROOM_MAC, flags))
		return TC_ACT_SHOT;
	if (bpf_skb_pull_data(skb, OUTER + sizeof(ieth)))
		return TC_ACT_SHOT;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (write_outer(data, data_end, inner_len))
		return TC_ACT_SHOT;
	__builtin_memcpy(data + OUTER, &ieth, sizeof(ieth));
	return bpf_redirect(ceil_encap_ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
