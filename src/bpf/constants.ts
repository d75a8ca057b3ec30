// Kernel ABI numbers (include/uapi/linux/bpf.h, if_link.h). Only the ones
// this project uses; newer than Debian 12's headers where noted.
export const MapType = {
  HASH: 1, ARRAY: 2, PROG_ARRAY: 3, PERF_EVENT_ARRAY: 4, PERCPU_HASH: 5, PERCPU_ARRAY: 6,
  LRU_HASH: 9, LRU_PERCPU_HASH: 10, LPM_TRIE: 11, ARRAY_OF_MAPS: 12, HASH_OF_MAPS: 13,
  DEVMAP: 14, CPUMAP: 16, XSKMAP: 17, PERCPU_CGROUP_STORAGE: 21, DEVMAP_HASH: 25, RINGBUF: 27,
} as const;
export type MapTypeName = keyof typeof MapType;

export const ProgType = { SOCKET_FILTER: 1, KPROBE: 2, SCHED_CLS: 3, SCHED_ACT: 4, TRACEPOINT: 5, XDP: 6, RAW_TRACEPOINT: 17 } as const;

export const AttachType = { XDP: 37, TCX_INGRESS: 46, TCX_EGRESS: 47 } as const; // TCX_*: kernel >= 6.6

export const LinkType = { XDP: 6, TCX: 11 } as const;

/** Flags of map update: exactly one of them. */
export const UpdateFlag = { ANY: 0, NOEXIST: 1, EXIST: 2 } as const;
export type UpdateFlagValue = (typeof UpdateFlag)[keyof typeof UpdateFlag];

export const XdpFlag = { UPDATE_IF_NOEXIST: 1, SKB_MODE: 2, DRV_MODE: 4, HW_MODE: 8, REPLACE: 16 } as const;
export const XdpAttached = { NONE: 0, DRV: 1, SKB: 2, HW: 3, MULTI: 4 } as const;

export const TestRunFlag = { RUN_ON_CPU: 1, XDP_LIVE_FRAMES: 2 } as const;

export const XdpAction = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;
export const TcAction = { OK: 0, SHOT: 2, REDIRECT: 7 } as const;

export const BPF_FS_MAGIC = 0xcafe4a11;
export const CLONE_NEWNET = 0x40000000;

export function mapTypeName(type: number): string {
  for (const [k, v] of Object.entries(MapType)) if (v === type) return k.toLowerCase();
  return `type${type}`;
}

export function isPerCpuMapType(type: number): boolean {
  return type === MapType.PERCPU_HASH || type === MapType.PERCPU_ARRAY || type === MapType.LRU_PERCPU_HASH ||
    type === MapType.PERCPU_CGROUP_STORAGE;
}
