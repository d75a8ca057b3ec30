// What the running kernel can do, found by asking it (BPF_PROG_QUERY, tiny
// program loads and test runs), never from its version number: distribution
// kernels backport, and a version says nothing about the config.
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { AttachType, ProgType } from './constants.js';
import { BpfError, call, errnoName, wrapNative } from './errors.js';
import { native } from './native.js';

export interface Feature {
  /** Stable key (doctor -j). */
  key: string;
  /** What it is, as the kernel's changelog names it. */
  name: string;
  /** The first mainline kernel that has it. */
  since: string;
  /** What xvtep does without it. */
  without: string;
}

export interface ProbedFeature extends Feature {
  present: boolean;
  /** Why the probe said no (the errno), or why it could not tell. */
  detail?: string;
}

/**
 * TEST HOOK: XVTEP_TEST_PROBE_NO_TCX=1 makes the tcx probe answer "absent",
 * to exercise the netlink path of `tcMode: auto` on a kernel that has tcx.
 * Nothing else reads it.
 */
export const TEST_HOOK_NO_TCX = 'XVTEP_TEST_PROBE_NO_TCX';

let tcxCache: boolean | undefined;

/**
 * tcx (linux 6.6): BPF_PROG_QUERY for BPF_TCX_INGRESS on lo. Read-only; a
 * kernel without tcx refuses the attach type with EINVAL.
 */
export function hasTcx(): boolean {
  if (process.env[TEST_HOOK_NO_TCX] === '1') return false;
  if (tcxCache !== undefined) return tcxCache;
  try {
    native.progQuery(1, AttachType.TCX_INGRESS);
    tcxCache = true;
  } catch (e) {
    const errno = (e as { errno?: number }).errno;
    if (errno !== constants.errno.EINVAL) throw wrapNative(e, 'tcx probe', 'prog query');
    tcxCache = false;
  }
  return tcxCache;
}

const HELPERS: ReadonlyArray<{ id: number; fn: string; prog: 'xdp' | 'tc'; since: string; without?: string }> = [
  { id: 54, fn: 'bpf_xdp_adjust_meta', prog: 'xdp', since: '4.15',
    without: 'no GRO hand-off: TCP to endpoints is redirected segment by segment (the call is compiled out at load)' },
  { id: 69, fn: 'bpf_fib_lookup', prog: 'xdp', since: '4.18' },
  { id: 118, fn: 'bpf_jiffies64', prog: 'tc', since: '5.5' },
  { id: 152, fn: 'bpf_redirect_neigh', prog: 'tc', since: '5.10' },
  { id: 160, fn: 'bpf_ktime_get_coarse_ns', prog: 'xdp', since: '5.11' },
  { id: 164, fn: 'bpf_for_each_map_elem', prog: 'xdp', since: '5.13' },
  { id: 188, fn: 'bpf_xdp_get_buff_len', prog: 'xdp', since: '5.18' },
  { id: 189, fn: 'bpf_xdp_load_bytes', prog: 'xdp', since: '5.18' },
];

const BPF_F_XDP_HAS_FRAGS = 1 << 5;

function errnoOf(e: unknown): string {
  return e instanceof BpfError ? e.code : (e as Error).message;
}

/**
 * Every kernel feature the data path uses beyond what Debian 11's 5.10 has,
 * each probed. Needs CAP_BPF (the probes load programs).
 */
export function probeFeatures(): ProbedFeature[] {
  // Without the privilege every probe below would read as "absent": refuse instead.
  const pre = native.probeProgLoad(ProgType.XDP, 0, AttachType.XDP);
  if (pre === -constants.errno.EPERM) throw new BpfError('probe', constants.errno.EPERM, 'kernel features', 'loading a program needs CAP_BPF');
  const out: ProbedFeature[] = [];
  const btf = existsSync('/sys/kernel/btf/vmlinux');
  out.push({ key: 'btf', name: 'kernel BTF (/sys/kernel/btf/vmlinux)', since: '5.4 (CONFIG_DEBUG_INFO_BTF=y)', present: btf,
    without: 'not needed by the data path (no CO-RE); bpftool cannot dump map types by name' });
  let tcx: boolean;
  try {
    tcx = hasTcx();
  } catch (e) {
    tcx = false;
    out.push({ key: 'tcx', name: 'tcx (BPF_TCX_INGRESS links)', since: '6.6', present: false, detail: `probe failed: ${errnoOf(e)}`,
      without: 'TC programs attach as netlink clsact filters (tcMode auto)' });
  }
  if (!out.some((f) => f.key === 'tcx')) {
    out.push({ key: 'tcx', name: 'tcx (BPF_TCX_INGRESS links)', since: '6.6', present: tcx,
      ...(process.env[TEST_HOOK_NO_TCX] === '1' ? { detail: `forced absent by the test hook ${TEST_HOOK_NO_TCX}=1` } : {}),
      without: 'TC programs attach as netlink clsact filters (tcMode auto)' });
  }
  const frags = native.probeProgLoad(ProgType.XDP, BPF_F_XDP_HAS_FRAGS, 0);
  out.push({ key: 'xdp-frags', name: 'XDP multi-buffer (BPF_F_XDP_HAS_FRAGS)', since: '5.18', present: frags === 0,
    ...(frags === 0 ? {} : { detail: errnoName(-frags) }),
    without: 'endpoint xdp: frags and jumbo frames on XDP cannot load' });
  const decap = native.probeAdjustRoomDecap();
  out.push({ key: 'adjust-room-decap', name: 'bpf_skb_adjust_room DECAP_L3 flags', since: '6.3', present: decap === 0,
    ...(decap === 0 ? {} : { detail: errnoName(-decap) }),
    without: 'the TC decap path (underlay tc mode, and the GRO hand-off of native mode) cannot strip the outer header: xvtep turns the hand-off off' });
  for (const h of HELPERS) {
    let present = false, detail: string | undefined;
    try {
      present = helperPresent(h.prog, h.id);
    } catch (e) {
      detail = `probe failed: ${errnoOf(wrapNative(e, h.fn, 'helper probe'))}`;
    }
    out.push({ key: `helper:${h.fn}`, name: `helper ${h.fn} (${h.prog})`, since: h.since, present, ...(detail ? { detail } : {}),
      without: h.without ?? 'the data path programs do not load' });
  }
  return out;
}

/** Whether `prog` programs (as libbpf loads them: XDP with attach type BPF_XDP) may call helper `id`. */
function helperPresent(prog: 'xdp' | 'tc', id: number): boolean {
  // EPERM (no CAP_BPF) comes back as a BpfError naming the capabilities
  return call(`${prog} helper probe`, () =>
    prog === 'xdp' ? native.probeHelper(ProgType.XDP, AttachType.XDP, id) === 1 : native.probeHelper(ProgType.SCHED_CLS, 0, id) === 1, 'probe');
}

/**
 * bpf_xdp_adjust_meta from XDP: in mainline since 4.15, but a kernel may
 * refuse it (this project's CI kernel, 6.18.44-fc, does). Cached.
 */
let metaCache: boolean | undefined;
export function hasXdpAdjustMeta(): boolean {
  metaCache ??= helperPresent('xdp', 54);
  return metaCache;
}

/** bpf_skb_adjust_room's DECAP_L3 flags (6.3): cached, the attach path asks once per process. */
let decapCache: boolean | undefined;
export function hasAdjustRoomDecap(): boolean {
  decapCache ??= call('adjust_room probe', () => native.probeAdjustRoomDecap() === 0, 'probe');
  return decapCache;
}

/**
 * Whether the interface takes an XDP program in driver (native) mode: a
 * trial attach of an XDP_PASS program, detached at once. It touches the NIC
 * (some drivers reset their rings on an XDP attach): callers ask first.
 */
export function probeNativeXdp(ifindex: number): { ok: true } | { ok: false; code: string } {
  const r = native.probeXdpAttach(ifindex);
  return r === 0 ? { ok: true } : { ok: false, code: errnoName(-r) };
}
