// Where the pinned state lives. Only the default location may be prepared
// behind the user's back (mounting bpffs at /sys/fs/bpf where systemd would
// have); any other directory that is not on a bpffs is an error to fix.
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { isBpffs } from '../bpf/index.js';
import { type Config, CONFIG_DEFAULTS } from '../config/index.js';
import { system, usage } from './errors.js';

export const DEFAULT_PIN_DIR: string = CONFIG_DEFAULTS.state.pinDir;
const BPFFS_ROOT = '/sys/fs/bpf';

/** Makes sure pinDir can hold pins; returns a notice when it had to mount bpffs. */
export function preparePinDir(pinDir: string): string | undefined {
  if (existsSync(pinDir)) {
    if (!isBpffs(pinDir)) throw system(`${pinDir}: not on a bpffs (mount -t bpf bpf ${pinDir}, or choose another --pin-dir)`);
    return undefined;
  }
  const parent = dirname(pinDir);
  if (isBpffs(parent)) return undefined;
  if (pinDir === DEFAULT_PIN_DIR && existsSync(BPFFS_ROOT) && !isBpffs(BPFFS_ROOT)) {
    const r = spawnSync('mount', ['-t', 'bpf', 'bpf', BPFFS_ROOT], { encoding: 'utf8' });
    if (r.status !== 0) throw system(`mount -t bpf bpf ${BPFFS_ROOT} failed: ${(r.stderr || r.error?.message || '').trim()}`);
    return `mounted bpffs at ${BPFFS_ROOT} (nothing was mounted there)`;
  }
  throw system(`${parent}: not a bpffs, so ${pinDir} cannot hold pins (mount -t bpf bpf ${parent}, or choose a --pin-dir on a bpffs)`);
}

/** A --pin-dir value: absolute, not /, without trailing or doubled slashes. */
export function checkPinDir(dir: string): string {
  if (!dir.startsWith('/') || dir === '/') throw usage(`--pin-dir: "${dir}" must be an absolute directory other than /`);
  return dir.replace(/\/+$/, '').replace(/\/{2,}/g, '/');
}

/** The config with --pin-dir applied (it wins over the file's state.pinDir). */
export function withPinDir(cfg: Config, pinDir: string | undefined): Config {
  if (pinDir === undefined) return cfg;
  return Object.freeze({ ...cfg, state: Object.freeze({ pinDir: checkPinDir(pinDir) }) });
}
