// --tc-mode (attach, run) over underlay.tcMode: the flag wins, as --pin-dir does.
import type { Config, TcMode } from '../config/index.js';
import { usage } from './errors.js';

export const TC_MODES: readonly TcMode[] = ['auto', 'tcx', 'netlink'];

export function checkTcMode(v: string): TcMode {
  if (!(TC_MODES as readonly string[]).includes(v)) throw usage(`--tc-mode: "${v}" is not one of ${TC_MODES.join(', ')}`);
  return v as TcMode;
}

export function withTcMode(cfg: Config, mode: string | undefined): Config {
  if (mode === undefined) return cfg;
  return Object.freeze({ ...cfg, underlay: Object.freeze({ ...cfg.underlay, tcMode: checkTcMode(mode) }) });
}
