// Constants newer than the uapi headers of Debian 12 (linux-libc-dev 6.1) and
// libbpf 1.1.2. Values are the kernel's ABI and never change once released.
#pragma once

#ifndef BPF_TCX_INGRESS_VALUE
#define BPF_TCX_INGRESS_VALUE 46
#define BPF_TCX_EGRESS_VALUE 47
#endif

#ifndef BPF_F_TEST_XDP_LIVE_FRAMES
#define BPF_F_TEST_XDP_LIVE_FRAMES (1U << 1)
#endif

#ifndef BPF_LINK_TYPE_TCX_VALUE
#define BPF_LINK_TYPE_TCX_VALUE 11
#endif
