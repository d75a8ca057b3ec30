// Spec, then load (as in cilium/ebpf): ObjectSpec describes an ELF file and
// takes adjustments (constants, map sizes, maps to reuse); load() verifies it
// in the kernel and returns a Collection of handles. Each handle owns a dup
// of its fd, so the collection and its members close independently.
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { basename } from 'node:path';
import { raw, type Codec } from './codec.js';
import { isPerCpuMapType, mapTypeName } from './constants.js';
import { BpfError, VerifierError, call, failedProgram, lastLines, wrapNative } from './errors.js';
import { FdHandle } from './handle.js';
import { BpfMap, PerCpuMap, type MapBase, type MapInfo } from './map.js';
import { native, type NativeBpfObject } from './native.js';
import { Program } from './program.js';

export interface ProgramSpec {
  readonly name: string;
  readonly section: string;
  readonly type: number;
  readonly expectedAttachType: number;
  readonly autoload: boolean;
}

export interface MapSpec {
  readonly name: string;
  readonly type: number;
  readonly typeName: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /** .rodata/.data/.bss: globals, not maps the source declared. */
  readonly internal: boolean;
}

export class ObjectSpec {
  #obj: NativeBpfObject | undefined;

  private constructor(obj: NativeBpfObject, readonly name: string) {
    this.#obj = obj;
  }

  static open(path: string, name?: string): ObjectSpec {
    // Read it ourselves: a missing file should say ENOENT and the path, not an ELF error.
    let image: Buffer;
    try {
      image = readFileSync(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      throw new BpfError('open', (constants.errno as Record<string, number>)[code] ?? constants.errno.EIO, path, undefined, { cause: e });
    }
    return ObjectSpec.fromBuffer(image, name ?? basename(path).replace(/\.o$/, ''));
  }

  static fromBuffer(image: Uint8Array, name: string): ObjectSpec {
    try {
      return new ObjectSpec(new native.BpfObject(image, name), name);
    } catch (e) {
      const err = wrapNative(e, name, 'open');
      const log = (e as { libbpfLog?: string }).libbpfLog;
      if (err instanceof BpfError && log) throw new BpfError(err.op, err.errno, name, lastLines(log, 2), { cause: e });
      throw err;
    }
  }

  get #native(): NativeBpfObject {
    if (!this.#obj) throw new BpfError('use', constants.errno.EBADF, `object ${this.name}`, 'already loaded or closed');
    return this.#obj;
  }

  get programs(): ProgramSpec[] {
    return this.#native.programs().map(({ fd: _fd, ...p }) => p);
  }

  get maps(): MapSpec[] {
    return this.#native.maps().map(({ fd: _fd, ...m }) => ({ ...m, typeName: mapTypeName(m.type) }));
  }

  /** Sets a `const volatile` global by name; the bytes must be its exact size. */
  setRodata(variable: string, value: Uint8Array): this {
    call(`object ${this.name}`, () => this.#native.setRodata(variable, value));
    return this;
  }

  setConstant<T>(variable: string, codec: Codec<T>, value: T): this {
    const b = Buffer.alloc(codec.size);
    codec.encode(value, b, 0);
    return this.setRodata(variable, b);
  }

  setMaxEntries(map: string, n: number): this {
    call(`object ${this.name}`, () => this.#native.setMaxEntries(map, n));
    return this;
  }

  /** Load against an existing map (e.g. a pinned one) instead of creating it. */
  reuseMap(map: string, existing: MapBase<unknown>): this {
    call(`object ${this.name}`, () => this.#native.reuseFd(map, existing.fd));
    return this;
  }

  setAutoload(program: string, on: boolean): this {
    call(`object ${this.name}`, () => this.#native.setAutoload(program, on));
    return this;
  }

  /**
   * Verifies and loads every program and creates every map. A program the
   * verifier rejects gives a VerifierError with the kernel's log. The spec
   * cannot be used afterwards, whatever the outcome.
   */
  async load(): Promise<Collection> {
    const obj = this.#native;
    try {
      await obj.load();
    } catch (e) {
      throw this.#loadError(e);
    }
    return this.#collect();
  }

  /**
   * load() on the calling thread, blocking it while the kernel verifies: for
   * a program needed in the middle of synchronous work (Datapath.program).
   */
  loadSync(): Collection {
    const obj = this.#native;
    try {
      obj.loadSync();
    } catch (e) {
      throw this.#loadError(e);
    }
    return this.#collect();
  }

  #loadError(e: unknown): unknown {
    this.close();
    const ne = e as { errno?: number; log?: string; libbpfLog?: string };
    if (typeof ne.errno !== 'number') return e;
    const program = failedProgram(ne.libbpfLog ?? '');
    if (ne.log) return new VerifierError(`load ${this.name}`, ne.errno, program, ne.log, ne.libbpfLog ?? '');
    const err = wrapNative(e, program ? `program ${program}` : `BPF object ${this.name}`, 'load') as BpfError;
    if (!err.hint && ne.libbpfLog) return new BpfError(err.op, err.errno, err.object, lastLines(ne.libbpfLog, 2), { cause: e });
    return err;
  }

  #collect(): Collection {
    const obj = this.#native;
    try {
      const programs = new Map<string, Program>();
      for (const p of obj.programs()) if (p.fd >= 0) programs.set(p.name, new Program(native.dup(p.fd)));
      const maps = new Map<string, FdHandle>();
      const infos = new Map<string, MapInfo>();
      for (const m of obj.maps()) {
        const fd = native.dup(m.fd);
        const i = native.mapInfo(fd);
        maps.set(m.name, new FdHandle(fd, `map ${m.name}`));
        infos.set(m.name, { ...i, name: m.name, typeName: mapTypeName(i.type) });
      }
      return new Collection(this.name, programs, maps, infos);
    } finally {
      this.close();
    }
  }

  close(): void {
    this.#obj?.close();
    this.#obj = undefined;
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

export class Collection {
  constructor(
    readonly name: string,
    readonly programs: ReadonlyMap<string, Program>,
    private readonly mapHandles: ReadonlyMap<string, FdHandle>,
    private readonly mapInfos: ReadonlyMap<string, MapInfo>,
  ) {}

  get mapNames(): string[] {
    return [...this.mapInfos.keys()];
  }

  program(name: string): Program {
    const p = this.programs.get(name);
    if (!p) throw new BpfError('find', constants.errno.ENOENT, `program ${name} in ${this.name}`);
    return p;
  }

  #map(name: string): [FdHandle, MapInfo] {
    const h = this.mapHandles.get(name), i = this.mapInfos.get(name);
    if (!h || !i) throw new BpfError('find', constants.errno.ENOENT, `map ${name} in ${this.name}`);
    return [h, i];
  }

  map(name: string): BpfMap<Buffer, Buffer>;
  map<K, V>(name: string, key: Codec<K>, value: Codec<V>): BpfMap<K, V>;
  map<K, V>(name: string, key?: Codec<K>, value?: Codec<V>): BpfMap<K, V> | BpfMap<Buffer, Buffer> {
    const [h, i] = this.#map(name);
    if (isPerCpuMapType(i.type)) throw new BpfError('open', constants.errno.EINVAL, `map ${name}`, 'per-CPU map: use perCpuMap()');
    return key && value ? new BpfMap(h, i, key, value) : new BpfMap(h, i, raw(i.keySize), raw(i.valueSize));
  }

  perCpuMap(name: string): PerCpuMap<Buffer, Buffer>;
  perCpuMap<K, V>(name: string, key: Codec<K>, value: Codec<V>): PerCpuMap<K, V>;
  perCpuMap<K, V>(name: string, key?: Codec<K>, value?: Codec<V>): PerCpuMap<K, V> | PerCpuMap<Buffer, Buffer> {
    const [h, i] = this.#map(name);
    return key && value ? new PerCpuMap(h, i, key, value) : new PerCpuMap(h, i, raw(i.keySize), raw(i.valueSize));
  }

  /** A map as the class its type calls for, with raw byte codecs. */
  anyMap(name: string): BpfMap<Buffer, Buffer> | PerCpuMap<Buffer, Buffer> {
    const [, i] = this.#map(name);
    return isPerCpuMapType(i.type) ? this.perCpuMap(name) : this.map(name);
  }

  /** Closes every program and map fd this collection holds. */
  close(): void {
    for (const p of this.programs.values()) p.close();
    for (const h of this.mapHandles.values()) h.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}
