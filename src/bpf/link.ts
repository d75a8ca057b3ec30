// A bpf_link: the program stays attached exactly as long as a reference to
// the link exists — an fd in some process or a pin in bpffs. Closing or
// garbage-collecting the last fd of an unpinned link detaches it; a pinned
// link keeps running after the process exits, until unpinned and closed.
import { AttachType, LinkType, XdpAttached } from './constants.js';
import { call } from './errors.js';
import { FdHandle } from './handle.js';
import { native } from './native.js';
import { openPinned, pinFd, unpinPath } from './bpffs.js';

export interface LinkInfo {
  readonly id: number;
  readonly type: number;
  readonly progId: number;
  /** For xdp and tcx links: the interface (0 once detached). */
  readonly ifindex: number;
  /** For tcx links: 46 ingress or 47 egress. */
  readonly attachType: number;
}

/** What update() needs of a program (a Program): its fd. Structural, so this
 * file does not import program.ts, which imports it. */
export interface ProgramFd {
  readonly fd: number;
}

export class Link {
  readonly #handle: FdHandle;
  constructor(fd: number, readonly label = 'link') {
    this.#handle = new FdHandle(fd, label);
  }

  static open(path: string): Link {
    return new Link(openPinned(path), `link ${path}`);
  }
  static fromId(id: number): Link {
    return new Link(call(`link ${id}`, () => native.getFdById('link', id), 'open by id'), `link ${id}`);
  }

  get fd(): number {
    return this.#handle.fd;
  }

  info(): LinkInfo {
    return call(this.label, () => native.linkInfo(this.fd), 'info');
  }

  get id(): number {
    return this.info().id;
  }

  pin(path: string): void {
    pinFd(this.fd, path, this.label);
  }

  /** Removes the pin; the link lives on while this handle is open. */
  unpin(path: string): void {
    unpinPath(path);
  }

  /**
   * Swaps the program atomically: packets see the old one or the new one,
   * never neither. With `expected`, only if that program is still attached.
   */
  update(prog: ProgramFd, expected?: ProgramFd): void {
    call(this.label, () => native.linkUpdate(this.fd, prog.fd, expected ? expected.fd : -1), 'update');
  }

  /** Detaches now, even if pinned or held elsewhere; the fd stays valid but defunct. */
  detach(): void {
    call(this.label, () => native.linkDetach(this.fd), 'detach');
  }

  close(): void {
    this.#handle.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

export type XdpMode = 'driver' | 'skb';

/** A program attached to an interface's XDP hook through a bpf_link. */
export class XdpLink extends Link {
  constructor(fd: number, label: string, readonly ifindex: number, readonly mode: XdpMode) {
    super(fd, label);
  }
}

/** Which mode an interface's XDP program really runs in, or undefined if none. */
export function xdpModeOf(ifindex: number): XdpMode | 'hw' | 'multi' | undefined {
  const q = call(`ifindex ${ifindex}`, () => native.xdpQuery(ifindex, 0), 'xdp query');
  switch (q.attachMode) {
    case XdpAttached.DRV: return 'driver';
    case XdpAttached.SKB: return 'skb';
    case XdpAttached.HW: return 'hw';
    case XdpAttached.MULTI: return 'multi';
    default: return undefined;
  }
}

export function isTcxLink(info: LinkInfo): boolean {
  return info.type === LinkType.TCX && (info.attachType === AttachType.TCX_INGRESS || info.attachType === AttachType.TCX_EGRESS);
}
