// The daemon's watch on its pin directory. The pins are how everything but
// the daemon (the CLI, the apply children, bpftool) reaches the data path,
// and what keeps a bpf_link attached when no process holds it: unmounting
// the bpffs would detach every hook at once. The daemon holds an fd on each
// (PinKeeper, refreshed after every apply), notices within a second that
// the pins are gone, says so once, and pins everything again as soon as a
// bpffs is under the pin directory again. Meanwhile reloads are refused.
import { Datapath } from '../datapath/index.js';
import { errMessage, mountPointOf, PinKeeper } from '../reconcile/index.js';
import type { Log } from './bringup.js';

export class PinWatcher {
  readonly #keeper: PinKeeper;
  readonly #timer: NodeJS.Timeout;
  /** When the pins were found gone (ISO time), null while they are there. */
  #goneSince: string | null = null;
  #lastError = '';

  constructor(private readonly pinDir: string, private readonly dp: Datapath, private readonly log: Log) {
    this.#keeper = new PinKeeper(pinDir);
    this.#keeper.hold(dp);
    this.#timer = setInterval(() => this.#check(), 1000);
  }

  /** After each apply: hold what it attached, let go of what it detached. */
  hold(): void {
    if (this.#goneSince === null) this.#keeper.hold(this.dp);
  }

  /** Why a reload cannot run now, or null. */
  refusal(): string | null {
    return this.#goneSince === null ? null
      : `the pin directory ${this.pinDir} is gone since ${this.#goneSince} (bpffs unmounted?); mount -t bpf bpf ${mountPointOf(this.pinDir)} and the daemon pins it again`;
  }

  get goneSince(): string | null {
    return this.#goneSince;
  }

  #check(): void {
    try {
      if (this.#goneSince === null) {
        if (Datapath.isPinned(this.pinDir)) return;
        this.#goneSince = new Date().toISOString();
        this.log(`pin directory ${this.pinDir} is gone (its bpffs unmounted?): the data path keeps forwarding on the daemon's own references (the maps, ${this.#keeper.count} hook(s)); reloads and the CLI cannot reach it until a bpffs is mounted there again (mount -t bpf bpf ${mountPointOf(this.pinDir)}), then the daemon pins it all again`);
        return;
      }
      if (!this.#keeper.repin(this.dp)) return;
      this.log(`pin directory ${this.pinDir} is back: the maps, programs and ${this.#keeper.count} hook(s) pinned again (gone since ${this.#goneSince})`);
      this.#goneSince = null;
      this.#lastError = '';
    } catch (e) {
      // once per distinct error, not every second
      if (errMessage(e) !== this.#lastError) this.log(`pins: ${(this.#lastError = errMessage(e))}`);
    }
  }

  /** Stops watching and lets go of the hooks: with the pins gone, they detach now. */
  close(): void {
    clearInterval(this.#timer);
    this.#keeper.close();
  }
}
