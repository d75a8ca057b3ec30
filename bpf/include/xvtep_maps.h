/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xvtep maps: the map definitions of the data path object. Their keys and
 * values, and what each map holds, are in xvtep_abi.h. Objects that run
 * against the data path's maps by fd (count.bpf.c) include xvtep_abi.h only,
 * so they do not create a second set.
 */
#ifndef XVTEP_MAPS_H
#define XVTEP_MAPS_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xvtep_abi.h"

/* ------------------------------------------------------------------------ */
/* Map definitions                                                          */
/* ------------------------------------------------------------------------ */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xv_config);
} xv_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XV_MAX_VNIS);
	__type(key, __u32);
	__type(value, struct xv_vni_info);
} xv_vni SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XV_MAX_EPS);
	__type(key, __u32);
	__type(value, struct xv_ep_info);
} xv_ep SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XV_MAX_FDB);
	__type(key, struct xv_fdb_key);
	__type(value, struct xv_fdb_entry);
} xv_fdb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XV_MAX_PEERS);
	__type(key, struct xv_addr_key);
	__type(value, struct xv_peer_val);
} xv_peer SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XV_MAX_NEIGH);
	__type(key, struct xv_addr_key);
	__type(value, struct xv_neigh_val);
} xv_neigh SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XV_MAX_VNIS);
	__type(key, __u32);
	__type(value, struct xv_bum);
} xv_bum SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, XV_MAX_EPS);
	__type(key, __u32);
	__type(value, __u32);
} xv_devs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} xv_uplink SEC(".maps");

struct xv_bcast_inner {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, XV_MAX_BCAST_PORTS);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, XV_MAX_VNIS);
	__type(key, __u32);
	__array(values, struct xv_bcast_inner);
} xv_bcast SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XV_MAX_STAT_SLOTS);
	__type(key, __u32);
	__type(value, struct xv_stats);
} xv_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xv_scratch);
} xv_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XV_LCACHE_SIZE);
	__type(key, __u32);
	__type(value, struct xv_lcache_ent);
} xv_lcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XV_NHCACHE_SIZE);
	__type(key, __u32);
	__type(value, struct xv_nhcache_ent);
} xv_nhcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xv_gen);
} xv_gen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XV_FLOW_CACHE_SIZE);
	__type(key, __u32);
	__type(value, struct xv_rxflow);
} xv_rxflow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XV_FLOW_CACHE_SIZE);
	__type(key, __u32);
	__type(value, struct xv_txflow);
} xv_txflow SEC(".maps");

/* Local learning events for the control plane (struct xv_learn_event). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, XV_LEARN_RING_BYTES);
} xv_learn_ring SEC(".maps");
/* A ring buffer has no value type: this puts the record's layout in the
 * object's BTF, where test/datapath/abi.test.ts checks it (16 B of .rodata). */
const volatile struct xv_learn_event xv_learn_event_btf = {};

#endif /* XVTEP_MAPS_H */
