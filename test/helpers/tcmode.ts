// XVTEP_TC_MODE=netlink|tcx|auto: the TC-attaching lab suites run again with
// that mode forced (Makefile `test` runs them a second time with netlink).
// The helpers that start xvtep pass it as --tc-mode; tests that name hook
// pins name them through tcHook.
import { hasAdjustRoomDecap, hasXdpAdjustMeta } from '../../src/bpf/index.js';
import type { TcMode } from '../../src/datapath/index.js';

const env = process.env.XVTEP_TC_MODE;
if (env !== undefined && !['auto', 'tcx', 'netlink'].includes(env)) throw new Error(`XVTEP_TC_MODE=${env}: expected auto, tcx or netlink`);

/** The mode forced for this run, or undefined (the default, auto: tcx on this kernel). */
export const forcedTcMode = env as TcMode | undefined;

/** The pin/status name of a TC ingress hook in this run: tcx link or netlink filter. */
export const tcHook = forcedTcMode === 'netlink' ? 'tc-ingress' : 'tcx-ingress';

/** `args` with --tc-mode added when it is an attach or run command line and a mode is forced. */
export function withTcModeArgs(args: readonly string[]): string[] {
  if (!forcedTcMode || (args[0] !== 'attach' && args[0] !== 'run')) return [...args];
  return [args[0], '--tc-mode', forcedTcMode, ...args.slice(1)];
}

/**
 * Whether this kernel runs the GRO hand-off (XDP may call
 * bpf_xdp_adjust_meta, TC has skb_adjust_room's DECAP_L3 flags): only then
 * does a native-mode underlay get its TC hook. Probed, as attach does.
 */
export const handOffKernel = hasXdpAdjustMeta() && hasAdjustRoomDecap();

/** The underlay's hooks in native mode, sorted: xdp, and the TC half of the hand-off where the kernel has it. */
export const nativeUnderlayHooks: string[] = handOffKernel ? [tcHook, 'xdp'] : ['xdp'];
