/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Constants newer than the uapi headers of Debian 12 (linux-libc-dev 6.1) or
 * clang 14. Values were checked against the BTF of the running 6.18 kernel
 * (bpftool btf dump file /sys/kernel/btf/vmlinux | grep ADJ_ROOM).
 */
#ifndef XVTEP_COMPAT_H
#define XVTEP_COMPAT_H

#include <linux/bpf.h>

/* Newer uapi headers declare these as enum members, which #ifndef can't see;
 * that is harmless because <linux/bpf.h> is included first, so the macro only
 * shadows an already-parsed enumerator with the same value. */
#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV4
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)  /* linux 6.3 */
#endif
#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV6
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)  /* linux 6.3 */
#endif
#ifndef BPF_F_ADJ_ROOM_ENCAP_L2
#define BPF_F_ADJ_ROOM_ENCAP_L2(len) (((__u64)(len) & 0xff) << 56)
#endif
#ifndef BPF_F_BROADCAST
#define BPF_F_BROADCAST (1ULL << 3)
#endif
#ifndef BPF_F_EXCLUDE_INGRESS
#define BPF_F_EXCLUDE_INGRESS (1ULL << 4)
#endif
#ifndef BPF_FIB_LOOKUP_OUTPUT
#define BPF_FIB_LOOKUP_OUTPUT (1U << 1)
#endif

#ifndef ETH_P_8021Q
#define ETH_P_8021Q 0x8100
#endif
#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif
#ifndef NEXTHDR_FRAGMENT
#define NEXTHDR_FRAGMENT 44
#endif
#ifndef IP_MF
#define IP_MF 0x2000
#endif
#ifndef IP_DF
#define IP_DF 0x4000
#endif
#ifndef IP_OFFSET
#define IP_OFFSET 0x1FFF
#endif
#ifndef ARPOP_REQUEST
#define ARPOP_REQUEST 1
#endif
#ifndef ARPOP_REPLY
#define ARPOP_REPLY 2
#endif
#ifndef ICMP_DEST_UNREACH
#define ICMP_DEST_UNREACH 3
#endif
#ifndef ICMP_FRAG_NEEDED
#define ICMP_FRAG_NEEDED 4
#endif
#ifndef ICMPV6_PKT_TOOBIG
#define ICMPV6_PKT_TOOBIG 2
#endif
#ifndef NDISC_NEIGHBOUR_SOLICITATION
#define NDISC_NEIGHBOUR_SOLICITATION 135
#endif
#ifndef NDISC_NEIGHBOUR_ADVERTISEMENT
#define NDISC_NEIGHBOUR_ADVERTISEMENT 136
#endif
#ifndef TC_ACT_OK
#define TC_ACT_OK 0
#endif
#ifndef TC_ACT_SHOT
#define TC_ACT_SHOT 2
#endif
#ifndef TC_ACT_REDIRECT
#define TC_ACT_REDIRECT 7
#endif

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

#endif /* XVTEP_COMPAT_H */
