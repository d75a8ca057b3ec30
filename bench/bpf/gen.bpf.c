// Packet generator for BPF_PROG_TEST_RUN live frames: like `tx` in
// test/fixtures/traffic.bpf.c (XDP_TX puts the frame on the wire), but it can
// spread the frames over `nflows` flows by writing the flow number into one
// byte (a MAC address) and a big-endian port of each frame. Offsets come
// from .rodata, set before load; 0 = leave alone.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u32 gen_nflows = 1;
const volatile __u32 gen_byte_off = 0;  /* byte set to the flow number (> 256 flows: the
                                           byte before it gets the high byte) */
const volatile __u32 gen_port_off = 0;  /* be16 set to 49152 + flow */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} gen_seq SEC(".maps");

SEC("xdp")
int gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0, flow, *seq;

	if (gen_nflows <= 1)
		return XDP_TX;
	seq = bpf_map_lookup_elem(&gen_seq, &zero);
	if (!seq)
		return XDP_TX;
	flow = *seq;
	*seq = flow + 1 >= gen_nflows ? 0 : flow + 1;
	if (gen_byte_off) {
		__u8 *b = data + (gen_byte_off & 127);

		if ((void *)(b + 1) <= data_end)
			*b = flow;
		if (gen_nflows > 256) { /* and the byte before: 16-bit flows */
			b = data + ((gen_byte_off - 1) & 127);
			if ((void *)(b + 1) <= data_end)
				*b = flow >> 8;
		}
	}
	if (gen_port_off) {
		__be16 *p = data + (gen_port_off & 127);

		if ((void *)(p + 1) <= data_end)
			*p = bpf_htons(49152 + flow);
	}
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
