/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internet checksum helpers. All sums are kept in "memory order" (what
 * csum_partial/bpf_csum_diff produce on the host), so the folded result can
 * be stored into the packet as is.
 */
#ifndef XVTEP_CSUM_H
#define XVTEP_CSUM_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "parse.h"
#include "xvtep_maps.h"

static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Sum of 16-byte address words. */
static __always_inline __u64 csum_add_ip6(__u64 sum, const void *a)
{
	const __u32 *w = a;

	return sum + w[0] + w[1] + w[2] + w[3];
}

/* IPv6 pseudo header (RFC 8200 8.1) without the payload. */
static __always_inline __u64 csum_ip6_pseudo(const void *saddr, const void *daddr,
					     __u32 len, __u8 nexthdr)
{
	__u64 sum = 0;

	sum = csum_add_ip6(sum, saddr);
	sum = csum_add_ip6(sum, daddr);
	sum += bpf_htonl(len);
	sum += bpf_htonl(nexthdr);
	return sum;
}

/* IPv4 header checksum for a 20-byte header (check field must be 0). */
static __always_inline __u16 csum_ipv4_hdr(const void *iph)
{
	const __u16 *w = iph;
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	return csum_fold(sum);
}

/*
 * Sum `len` packet bytes starting at offset `off` (even). Copies 512-byte
 * chunks to the stack with bpf_{xdp,skb}_load_bytes: that works on
 * non-linear data and keeps packet offsets scalar, whereas walking packet
 * pointers makes the verifier explore every chunk/tail combination.
 * is_xdp must be a compile-time constant. Handles up to 9 KiB (jumbo); *ok = 0 on
 * error.
 */
#define XV_CSUM_CHUNK XV_SCRATCH_SIZE
#define XV_CSUM_MAX_CHUNKS 18

static __always_inline __u64 csum_load_range(void *ctx, const int is_xdp,
					     __u32 off, __u32 len, __u64 seed,
					     int *ok)
{
	__u32 zero = 0;
	struct xv_scratch *sc = bpf_map_lookup_elem(&xv_scratch, &zero);
	__u8 *buf;
	__u64 sum = seed;

	*ok = 0;
	if (!sc || len > XV_CSUM_CHUNK * XV_CSUM_MAX_CHUNKS)
		return 0;
	buf = sc->buf;
	for (int i = 0; i < XV_CSUM_MAX_CHUNKS; i++) {
		__u64 n = len < XV_CSUM_CHUNK ? len : XV_CSUM_CHUNK, n4;
		long err;

		/* hide n from the optimizer so the verifier sees this bound */
		asm volatile("" : "+r"(n));
		if (n == 0 || n > XV_CSUM_CHUNK)
			break;
		if (is_xdp)
			err = bpf_xdp_load_bytes(ctx, off, buf, n);
		else
			err = bpf_skb_load_bytes(ctx, off, buf, n);
		if (err)
			return 0;
		/* zero-pad the last chunk to a multiple of 4 */
		n4 = (n + 3) & ~3ULL;
		if (n & 3) {
			buf[n] = 0;
			buf[n + 1] = 0;
			buf[n + 2] = 0;
		}
		asm volatile("" : "+r"(n4));
		if (n4 > XV_CSUM_CHUNK)
			return 0;
		sum += (__u32)bpf_csum_diff(0, 0, (void *)buf, n4, 0);
		off += n;
		len -= n;
	}
	*ok = 1;
	return sum;
}

#endif /* XVTEP_CSUM_H */
