// Pins live on a bpffs. Checking first turns the kernel's bare EPERM into a
// message that says what is wrong and how to fix it.
import { accessSync, constants as fsConstants, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { constants } from 'node:os';
import { BPF_FS_MAGIC } from './constants.js';
import { BpfError, call } from './errors.js';
import { native } from './native.js';

export function isBpffs(path: string): boolean {
  try {
    return native.fsMagic(path) === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

export function assertBpffs(dir: string): void {
  if (!existsSync(dir)) {
    throw new BpfError('pin', constants.errno.ENOENT, dir, `directory does not exist: create it on a bpffs (mount -t bpf bpf ${dir})`);
  }
  if (!isBpffs(dir)) {
    throw new BpfError('pin', constants.errno.EPERM, dir, `not on a bpffs: mount one with \`mount -t bpf bpf ${dir}\``);
  }
}

const rootOnlyHint =
  'the pins are root\'s (directories mode 0700): run as root (needs CAP_BPF and CAP_NET_ADMIN)';

/**
 * Whether `path` exists, where a directory on the way that this user may not
 * enter is an EACCES naming the privilege: existsSync would answer "no" and
 * turn a permission problem into "nothing pinned here".
 */
export function pinExists(path: string): boolean {
  try {
    accessSync(path, fsConstants.F_OK);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    if (code === 'EACCES' || code === 'EPERM') throw new BpfError('open', constants.errno.EACCES, path, rootOnlyHint, { cause: e });
    throw e;
  }
}

/** A pin directory this user can list and enter, else EACCES naming the privilege. */
export function assertPinDirAccess(dir: string): void {
  try {
    accessSync(dir, fsConstants.R_OK | fsConstants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new BpfError('open', constants.errno.EACCES, dir, rootOnlyHint, { cause: e });
    if (code !== 'ENOENT') throw e;
  }
}

export function pinFd(fd: number, path: string, label: string): void {
  const dir = dirname(path);
  if (!existsSync(dir) && isBpffs(dirname(dir))) mkdirSync(dir, { recursive: true, mode: 0o700 });
  assertBpffs(dir);
  call(label, () => native.objPin(fd, path), `pin to ${path}`);
}

export function unpinPath(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new BpfError(`unpin ${path}`, (constants.errno as Record<string, number>)[err.code ?? ''] ?? constants.errno.EIO, undefined, undefined, { cause: e });
  }
}

export function openPinned(path: string): number {
  return call(undefined, () => native.objGet(path), `open pinned ${path}`);
}
