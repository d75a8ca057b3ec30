// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xv_count_fdb: static and learned entries of xv_fdb, counted inside the
 * kernel. The control plane loads this object with xv_fdb replaced by the
 * data path's map (bpf_map__reuse_fd) and runs it with BPF_PROG_TEST_RUN;
 * the kernel writes the context back in place. A batch walk would copy all
 * 44 bytes of every entry to user space to read one flag bit: ~30 ms per
 * scrape at 100k entries.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xvtep_abi.h"

/* Stands in for the data path's xv_fdb: reuse_fd takes the real map's size. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct xv_fdb_key);
	__type(value, struct xv_fdb_entry);
} xv_fdb SEC(".maps");

/* The run's context (16 bytes, in and out). */
struct xv_fdb_counts {
	__u64 static_entries;
	__u64 learned;
};

static long count_entry(void *map, struct xv_fdb_key *key,
			struct xv_fdb_entry *val, struct xv_fdb_counts *c)
{
	if (val->flags & XV_FDB_F_STATIC)
		c->static_entries++;
	else
		c->learned++;
	return 0;
}

SEC("syscall")
int xv_count_fdb(struct xv_fdb_counts *ctx)
{
	struct xv_fdb_counts c = {};

	bpf_for_each_map_elem(&xv_fdb, count_entry, &c, 0);
	ctx->static_entries = c.static_entries;
	ctx->learned = c.learned;
	return 0;
}

char _license[] SEC("license") = "Dual BSD/GPL";
