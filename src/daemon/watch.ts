// Watches the config file through its directory: editors that save by
// writing a new file and renaming it over the old one replace the inode, and
// a watch on the file itself would go deaf after the first save.
//
// A config reached through symlinks changes without any event naming it: a
// Kubernetes ConfigMap volume holds xvtep.yaml -> ..data/xvtep.yaml and
// swaps ..data (a symlink to a timestamped directory) atomically. So every
// directory a symlink hop goes through is watched too, any event in them is
// checked against what the path opened last (its real path, inode, size and
// mtime), and the watches are re-armed after each change.
import { lstatSync, readlinkSync, realpathSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/** The path and every symlink target on the way to the file (bounded like the kernel's 40 hops). */
function hops(path: string): string[] {
  const out = [resolve(path)];
  for (let i = 0; i < 40; i++) {
    const p = out[out.length - 1]!;
    try {
      if (!lstatSync(p).isSymbolicLink()) break;
      out.push(resolve(dirname(p), readlinkSync(p)));
    } catch {
      break;
    }
  }
  return out;
}

/** What the path opens now: changes when a symlink on the way is swapped or the file is replaced or written. */
function identity(path: string): string {
  try {
    const st = statSync(path);
    return `${realpathSync(path)}:${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

export function watchFile(path: string, debounceMs: number, onChange: () => void): { close(): void } {
  const abs = resolve(path);
  const name = basename(abs);
  let timer: NodeJS.Timeout | undefined;
  let watchers: FSWatcher[] = [];
  let last = identity(abs);
  let named = false; // an event named the file itself: a reload whatever the identity says (as before)
  const fire = () => {
    const now = identity(abs);
    if (!named && now === last) return;
    named = false;
    last = now;
    arm(); // the chain of links may have changed
    onChange();
  };
  const arm = () => {
    for (const w of watchers) w.close();
    const dirs = new Set<string>();
    for (const h of hops(abs)) dirs.add(dirname(h));
    try {
      dirs.add(dirname(realpathSync(abs)));
    } catch {
      // not there now: its directory is watched already
    }
    watchers = [];
    for (const d of dirs) {
      try {
        watchers.push(watch(d, { persistent: false }, (_event, file) => {
          if (d === dirname(abs) && file !== null && file.toString() === name) named = true;
          clearTimeout(timer);
          timer = setTimeout(fire, debounceMs);
        }));
      } catch {
        // a directory that went away: the config's own directory still reports the swap
      }
    }
  };
  arm();
  return {
    close() {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
