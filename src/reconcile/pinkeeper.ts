// What `xvtep run` holds so its data path survives the loss of its pins.
// A bpf_link lives while a pin or an fd refers to it: unmounting the bpffs
// (or deleting the pins) would otherwise detach every XDP and tcx hook at
// once, with the daemon still "running". The daemon keeps an fd on every
// pinned hook (links, and the programs of netlink filters, which live on
// without them but are needed to pin again); the Datapath it already holds
// keeps the maps and programs. When a bpffs is back under the pin
// directory, everything is pinned again from these fds, under the same names.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isBpffs, Link, Program } from '../bpf/index.js';
import type { Datapath } from '../datapath/index.js';

export class PinKeeper {
  #held = new Map<string, Link | Program>();
  constructor(private readonly pinDir: string) {}

  /**
   * Takes an fd on every hook pinned now (after each apply), dropping those
   * no longer pinned; and has dp hold every pinned program, including one an
   * apply worker loaded after dp was opened (Datapath.program), so that
   * repin() pins it again too.
   */
  hold(dp?: Datapath): void {
    if (dp) {
      try {
        for (const name of readdirSync(join(this.pinDir, 'progs'))) if (name.startsWith('xv_')) dp.programId(name);
      } catch {
        // nothing pinned (or the pins are gone): dp keeps what it holds
      }
    }
    const dir = join(this.pinDir, 'links');
    const next = new Map<string, Link | Program>();
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return; // nothing pinned (or the pins are gone): keep what is held
    }
    for (const name of names) {
      try {
        next.set(name, name.endsWith('-tc-ingress') ? Program.open(join(dir, name)) : Link.open(join(dir, name)));
      } catch {
        // a pin that vanished meanwhile
      }
    }
    for (const h of this.#held.values()) h.close();
    this.#held = next;
  }

  get count(): number {
    return this.#held.size;
  }

  /**
   * Pins the maps, the programs and every held hook again once pinDir (or
   * its parent) is on a bpffs; false while it is not.
   */
  repin(dp: Datapath): boolean {
    if (!(existsSync(this.pinDir) ? isBpffs(this.pinDir) : isBpffs(dirname(this.pinDir)))) return false;
    dp.pin(this.pinDir);
    for (const [name, h] of this.#held) {
      const path = join(this.pinDir, 'links', name);
      if (!existsSync(path)) h.pin(path);
    }
    return true;
  }

  close(): void {
    for (const h of this.#held.values()) h.close();
    this.#held.clear();
  }
}

/** The closest existing directory at or above path: where a bpffs was mounted, once it is gone. */
export function mountPointOf(path: string): string {
  let p = path;
  while (!existsSync(p) && p !== dirname(p)) p = dirname(p);
  return p;
}
