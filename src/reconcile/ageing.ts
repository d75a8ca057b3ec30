// Learned FDB entries expire from the control plane (the data path only
// stamps updated_ns; Datapath.ageLearned deletes). The per-VNI lifetime comes
// from the config; VNIs added live with `xvtep vni add` get the kernel vxlan
// default.
import { type Config, CONFIG_DEFAULTS } from '../config/index.js';

export const DEFAULT_AGEING_S: number = CONFIG_DEFAULTS.vni.ageingSeconds;

export function ageingOf(cfg: Config | undefined): (vni: number) => number {
  const m = new Map((cfg?.vnis ?? []).map((v) => [v.vni, v.ageingSeconds]));
  return (vni) => m.get(vni) ?? DEFAULT_AGEING_S;
}

/** How often to sweep: a tenth of the shortest lifetime, between 1 s and 30 s. */
export function sweepIntervalMs(cfg: Config | undefined): number {
  const ages = (cfg?.vnis ?? []).map((v) => v.ageingSeconds).filter((a) => a > 0);
  const shortest = Math.min(DEFAULT_AGEING_S, ...ages);
  return Math.max(1000, Math.min(30_000, (shortest * 1000) / 10));
}
