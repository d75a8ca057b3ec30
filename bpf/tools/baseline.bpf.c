#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } xv_tgt SEC(".maps");
SEC("xdp") int xv_empty(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp") int xv_drop(struct xdp_md *ctx) { return XDP_DROP; }
SEC("xdp") int xv_redir(struct xdp_md *ctx) { __u32 z = 0; __u32 *t = bpf_map_lookup_elem(&xv_tgt, &z); return t ? bpf_redirect(*t, 0) : XDP_DROP; }
SEC("tc") int xv_empty_tc(struct __sk_buff *skb) { return 0; }
char _license[] SEC("license") = "GPL";
