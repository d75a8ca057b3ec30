// A loaded program: identity (name, type, id, tag), attach points and
// BPF_PROG_TEST_RUN. Attaching returns the object that keeps it attached.
import { constants } from 'node:os';
import { AttachType, TestRunFlag, XdpFlag } from './constants.js';
import { BpfError, call, wrapNative } from './errors.js';
import { FdHandle } from './handle.js';
import { Link, XdpLink, xdpModeOf, type XdpMode } from './link.js';
import { native, type NativeTestRunArgs } from './native.js';
import { ifindexOf } from './netif.js';
import type { Netns } from './netns.js';
import { openPinned, pinFd } from './bpffs.js';
import { hasTcx } from './probe.js';

export interface ProgramInfo {
  readonly id: number;
  readonly type: number;
  readonly name: string;
  readonly tag: string;
}

export interface TestRunOptions {
  data?: Buffer;
  /** Room for the output packet; default input + 512 (programs may push headers). 0: no output. */
  dataOutSize?: number;
  ctx?: Buffer;
  ctxOutSize?: number;
  repeat?: number;
  flags?: number;
  cpu?: number;
  /** Live frames: how many frames per batch. */
  batchSize?: number;
  /** Run in this namespace (live frames resolve the ctx's ifindex there). */
  netns?: Netns;
}

export interface TestRunResult {
  retval: number;
  /** Average nanoseconds per repetition, as the kernel measured it. */
  duration: number;
  data?: Buffer;
  ctx?: Buffer;
  /** The ctx buffer after the run, when no ctx out was asked for (ctxOutSize 0): syscall programs write their context back in place. */
  ctxIn?: Buffer;
}

export type TcDirection = 'ingress' | 'egress';

/** A cls_bpf filter on a clsact qdisc (netlink): not a link, it stays until removed. */
export class TcFilter {
  constructor(
    readonly ifindex: number,
    readonly direction: TcDirection,
    readonly handle: number,
    readonly priority: number,
    readonly progId: number,
  ) {}
  detach(): boolean {
    return call(`tc filter on ifindex ${this.ifindex}`, () =>
      native.tcDetach(this.ifindex, tcPoint(this.direction), this.handle, this.priority), 'detach');
  }
  /** The id of the program attached with this handle and priority, or 0 when there is none. */
  static query(ifindex: number, direction: TcDirection, handle: number, priority: number): number {
    return call(`tc filter ${handle}:${priority} on ifindex ${ifindex}`, () => native.tcQuery(ifindex, tcPoint(direction), handle, priority), 'query');
  }
}

const tcPoint = (d: TcDirection) => (d === 'ingress' ? 1 : 2);

export class Program {
  readonly #handle: FdHandle;
  readonly info: ProgramInfo;

  constructor(fd: number) {
    this.info = call(undefined, () => native.progInfo(fd), 'prog info');
    this.#handle = new FdHandle(fd, `program ${this.info.name}`);
  }

  static open(path: string): Program {
    return new Program(openPinned(path));
  }
  static fromId(id: number): Program {
    return new Program(call(`program id ${id}`, () => native.getFdById('prog', id), 'open'));
  }

  get fd(): number {
    return this.#handle.fd;
  }
  get name(): string {
    return this.info.name;
  }
  get id(): number {
    return this.info.id;
  }
  get tag(): string {
    return this.info.tag;
  }
  get type(): number {
    return this.info.type;
  }
  get label(): string {
    return `program ${this.info.name}`;
  }

  pin(path: string): void {
    pinFd(this.fd, path, this.label);
  }

  /** The ids of the maps this program uses, as the kernel lists them. */
  mapIds(): number[] {
    return call(this.label, () => native.progMapIds(this.fd), 'prog info');
  }

  /**
   * The kernel's accounting of this program's runs (bpf_prog_info
   * run_time_ns and run_cnt), read now. Both stay where they are unless
   * sysctl kernel.bpf_stats_enabled is 1: the kernel then times every run,
   * inside the program only (an XDP redirect is carried out after it).
   */
  runStats(): { runTimeNs: number; runCount: number } {
    const i = call(this.label, () => native.progInfo(this.fd), 'prog info');
    return { runTimeNs: i.runTimeNs, runCount: i.runCount };
  }

  close(): void {
    this.#handle.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Attaches to the XDP hook in exactly the mode asked for. The kernel is
   * asked for that mode only, and the mode in use is read back: there is no
   * path on which driver mode quietly becomes generic.
   */
  attachXdp(iface: string | number, opts: { mode: XdpMode }): XdpLink {
    const ifindex = ifindexOf(iface);
    const where = `${this.label} to XDP of ${typeof iface === 'string' ? iface : `ifindex ${iface}`}`;
    const flags = opts.mode === 'driver' ? XdpFlag.DRV_MODE : XdpFlag.SKB_MODE;
    let fd: number;
    try {
      fd = native.linkCreate(this.fd, ifindex, AttachType.XDP, flags);
    } catch (e) {
      const err = wrapNative(e, where, 'attach');
      if (err instanceof BpfError && err.errno === constants.errno.EOPNOTSUPP && opts.mode === 'driver') {
        throw new BpfError('attach', err.errno, where, `the driver has no native XDP; use mode "skb" explicitly if generic XDP is acceptable`, { cause: e });
      }
      if (err instanceof BpfError && (err.errno === constants.errno.EBUSY || err.errno === constants.errno.EEXIST)) {
        throw new BpfError('attach', err.errno, where, 'another XDP program is attached to this interface', { cause: e });
      }
      throw err;
    }
    const link = new XdpLink(fd, `xdp link ${where}`, ifindex, opts.mode);
    const inUse = xdpModeOf(ifindex);
    if (inUse !== opts.mode) {
      link.close();
      throw new BpfError('attach', constants.errno.EOPNOTSUPP, where, `asked for ${opts.mode} mode, kernel reports ${inUse ?? 'none'}`);
    }
    return link;
  }

  /** tcx attach (kernel >= 6.6): a link, so GC/close detaches unless pinned. */
  attachTcx(iface: string | number, direction: TcDirection): Link {
    const ifindex = ifindexOf(iface);
    const type = direction === 'ingress' ? AttachType.TCX_INGRESS : AttachType.TCX_EGRESS;
    const where = `${this.label} to tcx ${direction} of ${iface}`;
    const fd = call(where, () => native.linkCreate(this.fd, ifindex, type, 0), 'attach');
    return new Link(fd, `tcx link ${where}`);
  }

  /**
   * Netlink clsact + direct-action cls_bpf, for kernels without tcx. The
   * filter outlives this process; remove it with TcFilter.detach().
   */
  attachTcNetlink(iface: string | number, direction: TcDirection, opts: { handle?: number; priority?: number } = {}): TcFilter {
    const ifindex = ifindexOf(iface);
    const where = `${this.label} to tc ${direction} of ${iface}`;
    call(where, () => native.tcHookCreate(ifindex, tcPoint(direction)), 'create clsact');
    const r = call(where, () => native.tcAttach(ifindex, tcPoint(direction), this.fd, opts.handle ?? 1, opts.priority ?? 1, true), 'attach');
    return new TcFilter(ifindex, direction, r.handle, r.priority, r.progId);
  }

  /**
   * tcx or netlink as asked; 'auto' is tcx where the kernel has it (probed:
   * hasTcx), else netlink. `kind` says which it is.
   */
  attachTc(iface: string | number, direction: TcDirection, opts: { mode?: 'tcx' | 'netlink' | 'auto'; handle?: number; priority?: number } = {}):
    { kind: 'tcx'; link: Link } | { kind: 'netlink'; filter: TcFilter } {
    const mode = opts.mode ?? 'tcx';
    if (mode === 'netlink' || (mode === 'auto' && !hasTcx())) {
      return { kind: 'netlink', filter: this.attachTcNetlink(iface, direction, opts) };
    }
    return { kind: 'tcx', link: this.attachTcx(iface, direction) };
  }

  #args(o: TestRunOptions): NativeTestRunArgs {
    const live = ((o.flags ?? 0) & TestRunFlag.XDP_LIVE_FRAMES) !== 0;
    return {
      data: o.data,
      dataOutSize: live ? 0 : o.dataOutSize ?? (o.data ? o.data.length + 512 : 0),
      ctx: o.ctx,
      ctxOutSize: live ? 0 : o.ctxOutSize ?? (o.ctx ? o.ctx.length : 0),
      repeat: o.repeat ?? 0,
      flags: o.flags ?? 0,
      cpu: o.cpu ?? 0,
      batchSize: o.batchSize ?? 0,
      netnsFd: o.netns ? o.netns.fd : -1,
    };
  }

  /** BPF_PROG_TEST_RUN on this thread. Use testRunAsync for long runs. */
  testRun(o: TestRunOptions = {}): TestRunResult {
    try {
      return native.progTestRun(this.fd, this.#args(o));
    } catch (e) {
      throw this.#testRunError(e, o);
    }
  }

  /** BPF_PROG_TEST_RUN on a worker thread (live-frame generators, big repeats). */
  async testRunAsync(o: TestRunOptions = {}): Promise<TestRunResult> {
    try {
      return await native.progTestRunAsync(this.fd, this.#args(o));
    } catch (e) {
      throw this.#testRunError(e, o);
    }
  }

  #testRunError(e: unknown, o: TestRunOptions): Error {
    const live = ((o.flags ?? 0) & TestRunFlag.XDP_LIVE_FRAMES) !== 0;
    const err = wrapNative(e, this.label, live ? 'test run (live frames)' : 'test run');
    // Root with every capability meets EPERM here too on kernels that refuse
    // live frames outright (sandboxed builds): say both causes.
    if (live && err instanceof BpfError && err.code === 'EPERM') {
      return new BpfError(err.op, err.errno, err.object,
        'live frames need CAP_BPF and CAP_NET_ADMIN, and some kernels refuse BPF_F_TEST_XDP_LIVE_FRAMES even to root', { cause: e });
    }
    return err;
  }
}

/** Program ids attached at an ifindex for a multi-program hook (tcx). */
export function attachedProgramIds(ifindex: number, attachType: number): number[] {
  return call(`ifindex ${ifindex}`, () => native.progQuery(ifindex, attachType), 'prog query');
}

/**
 * The struct xdp_md ctx for an XDP test run. The kernel requires data_end to
 * equal the packet length and data/data_meta to be 0; ingress_ifindex makes
 * live frames leave through that interface (resolved in the run's netns).
 */
export function xdpContext(o: { dataLength: number; ingressIfindex?: number; rxQueueIndex?: number }): Buffer {
  const ctx = Buffer.alloc(24);
  ctx.writeUInt32LE(o.dataLength, 4);
  ctx.writeUInt32LE(o.ingressIfindex ?? 0, 12);
  ctx.writeUInt32LE(o.rxQueueIndex ?? 0, 16);
  return ctx;
}
