// Whether a config file may steer a root daemon, like sshd's StrictModes:
// the file (after symlinks) must be a regular file, owned by root or the
// user xvtep runs as, and neither it nor any directory on its way (the
// symlinks' directories and the target's) may be writable by anyone else.
// A world-writable sticky directory owned by root (/tmp) is allowed: others
// can add names there but not replace ours. Hand-written: no library
// checks a path the way sshd does, and the rule is a dozen lines.
import { lstatSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';

export const INSECURE_FLAG = '--insecure-config-perms';

/** What is wrong with the file or a directory on its path, with the command that fixes it; null if nothing. */
export function trustProblem(path: string, file: Stats): string | null {
  const uid = process.getuid?.() ?? 0;
  const owner = (st: Stats, what: string, p: string) =>
    st.uid === 0 || st.uid === uid ? null
      : `${what} ${p} is owned by uid ${st.uid}, not root or the user xvtep runs as (uid ${uid}): chown root ${p}`;
  const writable = (st: Stats, what: string, p: string) =>
    (st.mode & 0o022) === 0 ? null
      : `${what} ${p} is writable by ${(st.mode & 0o020) && (st.mode & 0o002) ? 'group and others' : st.mode & 0o020 ? 'group' : 'others'} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}): chmod go-w ${p}`;
  const real = realTarget(path);
  const fileProblem = owner(file, 'config file', real) ?? writable(file, 'config file', real);
  if (fileProblem) return fileProblem;
  for (const dir of directoriesOf(path)) {
    let st: Stats;
    try {
      st = statSync(dir);
    } catch {
      continue; // a path that vanished under us: the read itself reports it
    }
    const p = owner(st, 'directory', dir) ?? (sticky(st) ? null : writable(st, 'directory', dir));
    if (p) return p;
  }
  return null;
}

const sticky = (st: Stats) => st.uid === 0 && (st.mode & 0o1000) !== 0;

/** The file a path ends at, through every symlink (as open() follows them). */
function realTarget(path: string): string {
  let p = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch {
      return p;
    }
    if (!st.isSymbolicLink()) return p;
    p = resolve(dirname(p), readlinkSync(p));
  }
  return p;
}

/**
 * Every directory whose owner could change what `path` opens: each
 * ancestor of the path as given and of each symlink hop's target, up to /.
 * (A symlink inside an ancestor is followed by the hop logic on its own.)
 */
function directoriesOf(path: string): string[] {
  const dirs = new Set<string>();
  const ancestors = (p: string) => {
    for (let d = dirname(p); ; d = dirname(d)) {
      dirs.add(d);
      if (d === dirname(d)) break;
    }
  };
  let p = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    ancestors(p);
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch {
      break;
    }
    if (!st.isSymbolicLink()) break;
    p = resolve(dirname(p), readlinkSync(p));
  }
  try {
    ancestors(realpathSync(path)); // symlinked directories on the way (a ConfigMap's ..data)
  } catch {
    // gone: the read reports it
  }
  return [...dirs];
}

/** A file type in words, for "is a FIFO, not a regular file". */
export function kindOf(st: Stats): string {
  return st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() ? 'a character device'
    : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'not a regular file';
}
