// A consumer of a BPF ring buffer map (BPF_MAP_TYPE_RINGBUF): libbpf's
// ring_buffer, its epoll fd watched on the event loop, so records reach JS
// in batches as the kernel signals them, with no polling timer. Records are
// raw bytes; what they mean is the caller's.
import { constants } from 'node:os';
import { MapType } from './constants.js';
import { BpfError, call, wrapNative } from './errors.js';
import { FdHandle } from './handle.js';
import type { MapBase } from './map.js';
import { native, type NativeRingBuffer } from './native.js';

export class RingBuffer {
  readonly #fd: FdHandle;
  #rb: NativeRingBuffer | undefined;
  readonly label: string;

  /** Over `map`'s own fd, duplicated: closing the map does not end the consumer. */
  constructor(map: MapBase<unknown>) {
    this.label = `map ${map.name}`;
    if (map.info.type !== MapType.RINGBUF) {
      throw new BpfError('ring buffer', constants.errno.EINVAL, this.label, `a ${map.info.typeName} map, not a ringbuf`);
    }
    this.#fd = new FdHandle(call(this.label, () => native.dup(map.fd), 'dup'), this.label);
    try {
      this.#rb = call(this.label, () => new native.RingBuffer(this.#fd.fd), 'ring_buffer__new');
    } catch (e) {
      this.#fd.close();
      throw e;
    }
  }

  get closed(): boolean {
    return this.#rb === undefined;
  }

  #native(): NativeRingBuffer {
    if (!this.#rb) throw new BpfError('ring buffer', constants.errno.EBADF, this.label, 'the consumer is closed');
    return this.#rb;
  }

  /**
   * Hands every batch of ready records to onRecords as the kernel signals
   * them (records waiting already arrive on the next turn of the loop).
   * A failed poll or consume goes to onError; the consumer keeps watching.
   * The watch keeps the process alive until close() or unref().
   */
  start(onRecords: (records: Buffer[]) => void, onError: (e: Error) => void): void {
    const rb = this.#native();
    call(this.label, () => rb.start((err, records) => {
      if (records.length) onRecords(records);
      if (err) onError(wrapNative(err, this.label));
    }), 'ring buffer start');
  }

  /** Takes every record ready now, synchronously (started or not). */
  consume(): Buffer[] {
    const rb = this.#native();
    return call(this.label, () => rb.consume(), 'ring_buffer__consume');
  }

  /** Whether the watch keeps the event loop alive (as a timer's ref/unref). */
  ref(): void {
    this.#rb?.ref();
  }
  unref(): void {
    this.#rb?.unref();
  }

  close(): void {
    if (!this.#rb) return;
    this.#rb.close();
    this.#rb = undefined;
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
