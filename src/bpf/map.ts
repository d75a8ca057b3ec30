// Typed access to a BPF map through key/value codecs. Reads and writes go
// straight to the kernel (nothing is cached), so two processes sharing a
// pinned map always agree.
import { constants } from 'node:os';
import { alignUp, raw, type Codec } from './codec.js';
import { isPerCpuMapType, mapTypeName, UpdateFlag, type UpdateFlagValue } from './constants.js';
import { BpfError, call, wrapNative } from './errors.js';
import { FdHandle } from './handle.js';
import { native } from './native.js';
import { openPinned, pinFd } from './bpffs.js';

export interface MapInfo {
  readonly id: number;
  readonly type: number;
  readonly typeName: string;
  readonly name: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
}

export interface MapCreateOptions {
  type: number;
  name?: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  /** For map-in-map types: a map with the layout of the inner maps. */
  innerMap?: MapBase<unknown>;
}

export interface BatchOptions {
  /** Entries per syscall; the kernel copies this many at once. */
  chunk?: number;
}

let possibleCpus: number | undefined;
/** Possible CPUs (not online ones): the number of slots of per-CPU values. */
export function numPossibleCpus(): number {
  return (possibleCpus ??= native.numPossibleCpus());
}

function infoOf(fd: number, label?: string): MapInfo {
  const i = call(label, () => native.mapInfo(fd), 'map info');
  return { ...i, typeName: mapTypeName(i.type) };
}

const batchRefusals = new Set([constants.errno.EINVAL, constants.errno.EOPNOTSUPP, 524]);

/** What both plain and per-CPU maps share: keys, deletes, pins, raw batches. */
export abstract class MapBase<K> {
  readonly info: MapInfo;
  /** Bytes per value as the syscalls see it (per-CPU: every CPU's slot). */
  protected readonly valueBytes: number;
  protected readonly keyScratch: Buffer;
  protected readonly valueScratch: Buffer;
  #batch: boolean | undefined;
  /** Batch walk buffers, kept for the next walk of this map (a daemon walks the same maps every scrape). */
  #walkBufs: { keys: Buffer; values: Buffer } | undefined;
  #walking = false;

  protected constructor(
    protected readonly handle: FdHandle,
    info: MapInfo,
    readonly keyCodec: Codec<K>,
    valueBytes: number,
  ) {
    this.info = info;
    this.label = `map ${info.name}`;
    if (keyCodec.size !== info.keySize) {
      throw new BpfError('key codec', constants.errno.EINVAL, `map ${info.name}`, `codec is ${keyCodec.size} bytes, map key is ${info.keySize}`);
    }
    this.valueBytes = valueBytes;
    this.keyScratch = Buffer.alloc(Math.max(info.keySize, 1));
    this.valueScratch = Buffer.alloc(valueBytes);
  }

  get fd(): number {
    return this.handle.fd;
  }
  get name(): string {
    return this.info.name;
  }
  protected readonly label: string;

  /** Closes the fd shared by this map and every typed view of it. */
  close(): void {
    this.handle.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }

  pin(path: string): void {
    pinFd(this.fd, path, this.label);
  }

  protected encodeKey(key: K): Buffer {
    if (this.info.keySize === 0) return this.keyScratch;
    this.keyCodec.encode(key, this.keyScratch, 0);
    return this.keyScratch;
  }

  delete(key: K): boolean {
    return call(this.label, () => native.mapDelete(this.fd, this.encodeKey(key)));
  }

  /** Every key, via get_next_key. Concurrent deletes can restart the walk. */
  *keys(): Generator<K> {
    const size = this.info.keySize;
    let prev: Buffer | null = null;
    for (;;) {
      const next = Buffer.alloc(size);
      const more = call(this.label, () => native.mapGetNextKey(this.fd, prev, next));
      if (!more) return;
      yield this.keyCodec.decode(next, 0);
      prev = next;
    }
  }

  /** Deletes every key; returns how many. */
  clear(): number {
    const keys = [...this.keys()];
    return keys.length === 0 ? 0 : this.deleteBatch(keys);
  }

  count(): number {
    let n = 0;
    for (const _ of this.keys()) n++;
    return n;
  }

  /** Whether the kernel does batches for this map; learnt on first use. */
  protected batchSupported(e?: unknown): boolean {
    if (e instanceof BpfError && batchRefusals.has(e.errno) && this.#batch === undefined) {
      this.#batch = false;
    }
    return this.#batch !== false;
  }
  protected batchWorked(): void {
    this.#batch ??= true;
  }

  /** Writes n packed entries (values `stride` bytes apart): one batch where the map type has it, else one update each. */
  protected writeRaw(keys: Buffer, values: Buffer, n: number, stride: number, flags: UpdateFlagValue): number {
    if (this.batchSupported()) {
      try {
        const done = call(this.label, () => native.mapUpdateBatch(this.fd, keys, values, n, flags));
        this.batchWorked();
        return done;
      } catch (e) {
        if (this.batchSupported(e)) throw e;
      }
    }
    const ks = this.info.keySize;
    for (let i = 0; i < n; i++) {
      const k = keys.subarray(i * ks, (i + 1) * ks), v = values.subarray(i * stride, (i + 1) * stride);
      call(this.label, () => native.mapUpdate(this.fd, k, v, flags));
    }
    return n;
  }

  /** Raw batch walk: calls back with each chunk of keys and values bytes. */
  protected walkRaw(chunk: number, del: boolean, cb: (keys: Buffer, values: Buffer, n: number) => void): boolean {
    const ks = this.info.keySize;
    // No bigger than the map, not zeroed (the kernel fills what cb reads),
    // and reused by the next walk unless cb walks this map again meanwhile:
    // a scrape walks several maps, and fresh megabytes each time stay in
    // the allocator's arenas (RSS) long after.
    chunk = Math.max(1, Math.min(chunk, this.info.maxEntries));
    const reuse = !this.#walking;
    let bufs = reuse ? this.#walkBufs : undefined;
    if (!bufs || bufs.keys.length < ks * chunk || bufs.values.length < this.valueBytes * chunk) {
      bufs = { keys: Buffer.allocUnsafeSlow(ks * chunk), values: Buffer.allocUnsafeSlow(this.valueBytes * chunk) };
      if (reuse) this.#walkBufs = bufs;
    }
    const { keys, values } = bufs;
    if (reuse) this.#walking = true;
    try {
      return this.#walk(chunk, del, keys, values, cb);
    } finally {
      if (reuse) this.#walking = false;
    }
  }

  #walk(chunk: number, del: boolean, keys: Buffer, values: Buffer, cb: (keys: Buffer, values: Buffer, n: number) => void): boolean {
    const ks = this.info.keySize;
    // Hash maps return a bucket cursor, arrays a key: room for both.
    let inTok: Buffer | null = null as Buffer | null;
    let outTok: Buffer = Buffer.alloc(Math.max(ks, 8));
    for (;;) {
      let r: { count: number; done: boolean };
      try {
        r = call(this.label, () => native.mapLookupBatch(this.fd, inTok, outTok, keys, values, chunk, 0, del));
      } catch (e) {
        if (!this.batchSupported(e)) return false;
        throw e;
      }
      this.batchWorked();
      if (r.count > 0) cb(keys, values, r.count);
      if (r.done) return true;
      const t: Buffer = inTok ?? Buffer.alloc(outTok.length);
      inTok = outTok;
      outTok = t;
    }
  }

  /**
   * Deletes `n` keys already encoded (packed at the key size), in one batch
   * where the map type has it: for encoders faster than the generic codecs.
   */
  deleteBatchRaw(keys: Buffer, n: number): number {
    const ks = this.info.keySize;
    if (keys.length < ks * n) throw new RangeError(`${n} keys of ${ks} bytes do not fit ${keys.length} bytes`);
    if (n === 0) return 0;
    if (this.batchSupported()) {
      try {
        const done = call(this.label, () => native.mapDeleteBatch(this.fd, keys, n));
        this.batchWorked();
        return done;
      } catch (e) {
        if (this.batchSupported(e)) throw e;
      }
    }
    let done = 0;
    for (let i = 0; i < n; i++) if (call(this.label, () => native.mapDelete(this.fd, keys.subarray(i * ks, (i + 1) * ks)))) done++;
    return done;
  }

  deleteBatch(keys: K[], opts: BatchOptions = {}): number {
    const chunk = opts.chunk ?? 8192;
    const ks = this.info.keySize;
    let done = 0;
    if (this.batchSupported()) {
      const buf = Buffer.alloc(ks * Math.min(chunk, keys.length));
      try {
        for (let i = 0; i < keys.length; i += chunk) {
          const n = Math.min(chunk, keys.length - i);
          for (let j = 0; j < n; j++) this.keyCodec.encode(keys[i + j]!, buf, j * ks);
          done += call(this.label, () => native.mapDeleteBatch(this.fd, buf, n));
        }
        this.batchWorked();
        return done;
      } catch (e) {
        if (this.batchSupported(e) || done > 0) throw e;
      }
    }
    for (const k of keys) if (this.delete(k)) done++;
    return done;
  }
}

export class BpfMap<K = Buffer, V = Buffer> extends MapBase<K> {
  constructor(handle: FdHandle, info: MapInfo, keyCodec: Codec<K>, readonly valueCodec: Codec<V>) {
    super(handle, info, keyCodec, info.valueSize);
    if (isPerCpuMapType(info.type)) {
      throw new BpfError('open', constants.errno.EINVAL, `map ${info.name}`, 'per-CPU map: use PerCpuMap');
    }
    if (valueCodec.size !== info.valueSize) {
      throw new BpfError('value codec', constants.errno.EINVAL, `map ${info.name}`, `codec is ${valueCodec.size} bytes, map value is ${info.valueSize}`);
    }
  }

  /** Takes ownership of fd. */
  static fromFd(fd: number): BpfMap<Buffer, Buffer> {
    const info = infoOf(fd);
    return new BpfMap(new FdHandle(fd, `map ${info.name}`), info, raw(info.keySize), raw(info.valueSize));
  }
  static open(path: string): BpfMap<Buffer, Buffer> {
    return BpfMap.fromFd(openPinned(path));
  }
  static fromId(id: number): BpfMap<Buffer, Buffer> {
    return BpfMap.fromFd(call(undefined, () => native.getFdById('map', id), `map id ${id}`));
  }
  static create(o: MapCreateOptions): BpfMap<Buffer, Buffer> {
    return BpfMap.fromFd(createFd(o));
  }

  /** A view with other codecs over the same fd (closing either closes both). */
  typed<K2, V2>(key: Codec<K2>, value: Codec<V2>): BpfMap<K2, V2> {
    return new BpfMap(this.handle, this.info, key, value);
  }

  get(key: K): V | undefined {
    const k = this.encodeKey(key);
    let found: boolean;
    try {
      found = native.mapLookup(this.fd, k, this.valueScratch, 0);
    } catch (e) {
      throw wrapNative(e, this.label);
    }
    return found ? this.valueCodec.decode(this.valueScratch, 0) : undefined;
  }

  has(key: K): boolean {
    const k = this.encodeKey(key);
    return call(this.label, () => native.mapLookup(this.fd, k, this.valueScratch, 0));
  }

  set(key: K, value: V, flags: UpdateFlagValue = UpdateFlag.ANY): void {
    const k = this.encodeKey(key);
    this.valueCodec.encode(value, this.valueScratch, 0);
    try {
      native.mapUpdate(this.fd, k, this.valueScratch, flags);
    } catch (e) {
      throw wrapNative(e, this.label);
    }
  }

  /** Queue/stack maps: value only. */
  push(value: V): void {
    this.valueCodec.encode(value, this.valueScratch, 0);
    call(this.label, () => native.mapUpdate(this.fd, null, this.valueScratch, 0));
  }

  *entries(): Generator<[K, V]> {
    for (const k of this.keys()) {
      const v = this.get(k);
      if (v !== undefined) yield [k, v];
    }
  }

  /**
   * Every entry as raw bytes, a chunk at a time (keys and values packed at
   * their sizes): for decoders faster than the generic codecs.
   */
  forEachBatch(cb: (keys: Buffer, values: Buffer, count: number) => void, opts: BatchOptions = {}): void {
    if (this.walkRaw(opts.chunk ?? 8192, false, cb)) return;
    const k = Buffer.alloc(this.info.keySize), v = Buffer.alloc(this.info.valueSize);
    for (const key of this.keys()) {
      this.keyCodec.encode(key, k, 0);
      if (call(this.label, () => native.mapLookup(this.fd, k, v, 0))) cb(k, v, 1);
    }
  }

  /** Every entry, with batch syscalls where the map type has them. */
  lookupBatch(opts: BatchOptions = {}): Array<[K, V]> {
    return this.#dump(opts, false);
  }

  lookupAndDeleteBatch(opts: BatchOptions = {}): Array<[K, V]> {
    return this.#dump(opts, true);
  }

  #dump(opts: BatchOptions, del: boolean): Array<[K, V]> {
    const out: Array<[K, V]> = [];
    const ks = this.info.keySize, vs = this.info.valueSize;
    const ok = this.walkRaw(opts.chunk ?? 8192, del, (keys, values, n) => {
      for (let i = 0; i < n; i++) out.push([this.keyCodec.decode(keys, i * ks), this.valueCodec.decode(values, i * vs)]);
    });
    if (ok) return out;
    const all = [...this.entries()];
    if (del) for (const [k] of all) this.delete(k);
    return all;
  }

  /**
   * Writes `n` entries already encoded (keys and values packed at their
   * sizes), in one batch where the map type has it: for encoders faster than
   * the generic codecs.
   */
  updateBatchRaw(keys: Buffer, values: Buffer, n: number, flags: UpdateFlagValue = UpdateFlag.ANY): number {
    const ks = this.info.keySize, vs = this.info.valueSize;
    if (keys.length < ks * n || values.length < vs * n) throw new RangeError(`${n} entries do not fit ${keys.length} key and ${values.length} value bytes`);
    if (n === 0) return 0;
    return this.writeRaw(keys, values, n, vs, flags);
  }

  updateBatch(entries: ReadonlyArray<readonly [K, V]>, flags: UpdateFlagValue = UpdateFlag.ANY, opts: BatchOptions = {}): number {
    const chunk = Math.min(opts.chunk ?? 65536, Math.max(entries.length, 1));
    const ks = this.info.keySize, vs = this.info.valueSize;
    let done = 0;
    if (this.batchSupported()) {
      const keys = Buffer.alloc(ks * chunk), values = Buffer.alloc(vs * chunk);
      try {
        for (let i = 0; i < entries.length; i += chunk) {
          const n = Math.min(chunk, entries.length - i);
          for (let j = 0; j < n; j++) {
            const [k, v] = entries[i + j]!;
            this.keyCodec.encode(k, keys, j * ks);
            this.valueCodec.encode(v, values, j * vs);
          }
          done += call(this.label, () => native.mapUpdateBatch(this.fd, keys, values, n, flags));
        }
        this.batchWorked();
        return done;
      } catch (e) {
        if (this.batchSupported(e) || done > 0) throw e;
      }
    }
    for (const [k, v] of entries) {
      this.set(k, v, flags);
      done++;
    }
    return done;
  }
}

/**
 * A per-CPU map: a lookup returns one value per possible CPU; the kernel lays
 * them out every round_up(value_size, 8) bytes.
 */
export class PerCpuMap<K = Buffer, V = Buffer> extends MapBase<K> {
  readonly cpus: number;
  readonly stride: number;

  constructor(handle: FdHandle, info: MapInfo, keyCodec: Codec<K>, readonly valueCodec: Codec<V>) {
    const cpus = numPossibleCpus();
    const stride = alignUp(info.valueSize, 8);
    super(handle, info, keyCodec, stride * cpus);
    this.cpus = cpus;
    this.stride = stride;
    if (!isPerCpuMapType(info.type)) {
      throw new BpfError('open', constants.errno.EINVAL, `map ${info.name}`, 'not a per-CPU map: use BpfMap');
    }
    if (valueCodec.size !== info.valueSize) {
      throw new BpfError('value codec', constants.errno.EINVAL, `map ${info.name}`, `codec is ${valueCodec.size} bytes, map value is ${info.valueSize}`);
    }
  }

  static fromFd(fd: number): PerCpuMap<Buffer, Buffer> {
    const info = infoOf(fd);
    return new PerCpuMap(new FdHandle(fd, `map ${info.name}`), info, raw(info.keySize), raw(info.valueSize));
  }
  static open(path: string): PerCpuMap<Buffer, Buffer> {
    return PerCpuMap.fromFd(openPinned(path));
  }
  static create(o: MapCreateOptions): PerCpuMap<Buffer, Buffer> {
    return PerCpuMap.fromFd(createFd(o));
  }

  typed<K2, V2>(key: Codec<K2>, value: Codec<V2>): PerCpuMap<K2, V2> {
    return new PerCpuMap(this.handle, this.info, key, value);
  }

  #decodeAll(buf: Buffer, base: number): V[] {
    const out: V[] = new Array(this.cpus);
    for (let c = 0; c < this.cpus; c++) out[c] = this.valueCodec.decode(buf, base + c * this.stride);
    return out;
  }

  /** One value per possible CPU, index = CPU number. */
  get(key: K): V[] | undefined {
    const k = this.encodeKey(key);
    const found = call(this.label, () => native.mapLookup(this.fd, k, this.valueScratch, 0));
    return found ? this.#decodeAll(this.valueScratch, 0) : undefined;
  }

  /** The same value in every CPU's slot. */
  set(key: K, value: V, flags: UpdateFlagValue = UpdateFlag.ANY): void {
    this.#write(key, (buf) => this.#encodeAll(buf, 0, () => value), flags);
  }

  /** One value per possible CPU, index = CPU number. */
  setPerCpu(key: K, values: readonly V[], flags: UpdateFlagValue = UpdateFlag.ANY): void {
    this.#checkCount(values.length);
    this.#write(key, (buf) => this.#encodeAll(buf, 0, (c) => values[c]!), flags);
  }

  #write(key: K, fill: (buf: Buffer) => void, flags: UpdateFlagValue): void {
    const k = this.encodeKey(key);
    fill(this.valueScratch);
    call(this.label, () => native.mapUpdate(this.fd, k, this.valueScratch, flags));
  }

  #checkCount(n: number): void {
    if (n !== this.cpus) throw new BpfError('update', constants.errno.EINVAL, this.label, `${n} values for ${this.cpus} possible CPUs`);
  }

  #encodeAll(buf: Buffer, base: number, valueFor: (cpu: number) => V): void {
    buf.fill(0, base, base + this.valueBytes);
    for (let c = 0; c < this.cpus; c++) this.valueCodec.encode(valueFor(c), buf, base + c * this.stride);
  }

  *entries(): Generator<[K, V[]]> {
    for (const k of this.keys()) {
      const v = this.get(k);
      if (v !== undefined) yield [k, v];
    }
  }

  /**
   * Every entry as raw bytes, a chunk at a time: keys packed at the key
   * size, each value as every possible CPU's slot at `stride` bytes apart
   * (`valueBytes` per entry). For readers that sum without decoding.
   */
  forEachBatch(cb: (keys: Buffer, values: Buffer, count: number) => void, opts: BatchOptions = {}): void {
    if (this.walkRaw(opts.chunk ?? 4096, false, cb)) return;
    const k = Buffer.alloc(this.info.keySize), v = Buffer.alloc(this.valueBytes);
    for (const key of this.keys()) {
      this.keyCodec.encode(key, k, 0);
      if (call(this.label, () => native.mapLookup(this.fd, k, v, 0))) cb(k, v, 1);
    }
  }

  /** Bytes of one entry's value in forEachBatch: every possible CPU's slot. */
  get entryValueBytes(): number {
    return this.valueBytes;
  }

  lookupBatch(opts: BatchOptions = {}): Array<[K, V[]]> {
    const out: Array<[K, V[]]> = [];
    const ks = this.info.keySize;
    const ok = this.walkRaw(opts.chunk ?? 4096, false, (keys, values, n) => {
      for (let i = 0; i < n; i++) out.push([this.keyCodec.decode(keys, i * ks), this.#decodeAll(values, i * this.valueBytes)]);
    });
    return ok ? out : [...this.entries()];
  }

  /** Entries whose value goes to every CPU's slot. */
  updateBatch(entries: ReadonlyArray<readonly [K, V]>, flags: UpdateFlagValue = UpdateFlag.ANY): number {
    return this.#batchWrite(entries.length, (i) => entries[i]![0], (i) => () => entries[i]![1], flags);
  }

  /** Entries with one value per possible CPU. */
  updateBatchPerCpu(entries: ReadonlyArray<readonly [K, readonly V[]]>, flags: UpdateFlagValue = UpdateFlag.ANY): number {
    for (const [, v] of entries) this.#checkCount(v.length);
    return this.#batchWrite(entries.length, (i) => entries[i]![0], (i) => (c) => entries[i]![1][c]!, flags);
  }

  #batchWrite(n: number, keyAt: (i: number) => K, valueAt: (i: number) => (cpu: number) => V, flags: UpdateFlagValue): number {
    const ks = this.info.keySize;
    const keys = Buffer.alloc(ks * n), values = Buffer.alloc(this.valueBytes * n);
    for (let i = 0; i < n; i++) {
      this.keyCodec.encode(keyAt(i), keys, i * ks);
      this.#encodeAll(values, i * this.valueBytes, valueAt(i));
    }
    return this.writeRaw(keys, values, n, this.valueBytes, flags);
  }
}

function createFd(o: MapCreateOptions): number {
  return call(o.name ? `map ${o.name}` : 'map', () =>
    native.mapCreate(o.type, o.name ?? '', o.keySize, o.valueSize, o.maxEntries, o.flags ?? 0, o.innerMap ? o.innerMap.fd : -1), 'create');
}

/** Sums per-CPU values: numbers, bigints, or structs/arrays of them, field by field. */
export function sumPerCpu<V>(values: readonly V[]): V {
  if (values.length === 0) throw new RangeError('no values to sum');
  return values.reduce((a, b) => addValues(a, b) as V);
}

function addValues(a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'bigint' && typeof b === 'bigint') return a + b;
  if (Array.isArray(a) && Array.isArray(b)) return a.map((x, i) => addValues(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Buffer.isBuffer(a)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(a)) out[k] = addValues((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]);
    return out;
  }
  throw new TypeError('per-CPU values to sum must be numbers, bigints, or structs/arrays of them');
}

/** Opens any pinned map as the right class for its type. */
export function openPinnedMap(path: string): BpfMap | PerCpuMap {
  const fd = openPinned(path);
  const info = infoOf(fd, path);
  return isPerCpuMapType(info.type) ? PerCpuMap.fromFd(fd) : BpfMap.fromFd(fd);
}

/** A map by its id (global), as the class its type calls for. */
export function openMapById(id: number): BpfMap | PerCpuMap {
  const fd = call(undefined, () => native.getFdById('map', id), `map id ${id}`);
  const info = infoOf(fd, `map id ${id}`);
  return isPerCpuMapType(info.type) ? PerCpuMap.fromFd(fd) : BpfMap.fromFd(fd);
}
