// Fixed-size codecs between JS values and the bytes of BPF map keys/values.
// Layout follows C: natural alignment, struct size rounded to its alignment,
// so a codec built from the same field list as a C struct has its offsets.
// Multi-byte integers are host order (little-endian on every target here)
// unless the name says be*.

export interface Codec<T> {
  readonly size: number;
  readonly align: number;
  encode(value: T, buf: Buffer, offset: number): void;
  decode(buf: Buffer, offset: number): T;
}

export type ValueOf<C> = C extends Codec<infer T> ? T : never;

/**
 * Primitives carry the Buffer method names that read and write them, so
 * struct() can generate straight-line code instead of a loop of calls: the
 * codecs sit on every map operation, and a 1M-entry batch encodes 2M structs.
 */
export interface Primitive<T> extends Codec<T> {
  readonly method: { read: string; write: string; wrapIn?: string; wrapOut?: string };
}

function prim<T>(size: number, read: string, write: string, wrapIn?: string, wrapOut?: string): Primitive<T> {
  const w = wrapIn ? `${wrapIn}(v)` : 'v';
  const r = wrapOut ? `${wrapOut}(b.${read}(o))` : `b.${read}(o)`;
  return {
    size,
    align: size,
    method: { read, write, wrapIn, wrapOut },
    encode: new Function('v', 'b', 'o', `b.${write}(${w}, o);`) as Codec<T>['encode'],
    decode: new Function('b', 'o', `return ${r};`) as Codec<T>['decode'],
  };
}

export const u8 = prim<number>(1, 'readUInt8', 'writeUInt8');
export const u16 = prim<number>(2, 'readUInt16LE', 'writeUInt16LE');
export const u32 = prim<number>(4, 'readUInt32LE', 'writeUInt32LE');
export const i32 = prim<number>(4, 'readInt32LE', 'writeInt32LE');
export const u64 = prim<bigint>(8, 'readBigUInt64LE', 'writeBigUInt64LE');
/**
 * A u64 as a JS number: exact below 2^53, which counters stay under for
 * centuries. Two 32-bit halves, so no BigInt is allocated per value.
 */
export const u64n: Codec<number> = {
  size: 8,
  align: 8,
  encode(v, b, o) {
    b.writeUInt32LE(v % 0x100000000, o);
    b.writeUInt32LE(Math.floor(v / 0x100000000), o + 4);
  },
  decode: (b, o) => b.readUInt32LE(o) + b.readUInt32LE(o + 4) * 0x100000000,
};
export const be16 = prim<number>(2, 'readUInt16BE', 'writeUInt16BE');
export const be32 = prim<number>(4, 'readUInt32BE', 'writeUInt32BE');

/** Raw bytes; encode pads a shorter buffer with zeros. */
export function bytes(size: number, align = 1): Codec<Buffer> {
  return {
    size,
    align,
    encode(v, b, o) {
      if (v.length > size) throw new RangeError(`${v.length} bytes do not fit a ${size}-byte field`);
      v.copy(b, o);
      b.fill(0, o + v.length, o + size);
    },
    decode: (b, o) => Buffer.from(b.subarray(o, o + size)),
  };
}

/** Padding: written as zeros, left out of decoded structs (name fields `_…`). */
export function pad(size: number): Codec<undefined> {
  return { size, align: 1, encode: (_v, b, o) => void b.fill(0, o, o + size), decode: () => undefined };
}

export function array<T>(codec: Codec<T>, length: number): Codec<T[]> {
  const stride = alignUp(codec.size, codec.align);
  return {
    size: stride * length,
    align: codec.align,
    encode(v, b, o) {
      if (v.length > length) throw new RangeError(`${v.length} elements do not fit an array of ${length}`);
      for (let i = 0; i < length; i++) {
        if (i < v.length) codec.encode(v[i]!, b, o + i * stride);
        else b.fill(0, o + i * stride, o + (i + 1) * stride);
      }
    },
    decode(b, o) {
      const out: T[] = new Array(length);
      for (let i = 0; i < length; i++) out[i] = codec.decode(b, o + i * stride);
      return out;
    },
  };
}

type Fields = Record<string, Codec<unknown>>;
export type StructOf<F extends Fields> = {
  [K in keyof F as K extends `_${string}` ? never : K]: ValueOf<F[K]>;
};

export interface StructCodec<F extends Fields> extends Codec<StructOf<F>> {
  readonly offsets: { readonly [K in keyof F]: number };
  /** Every field in declaration order with its offset: the layout as data (checked against BTF). */
  readonly fields: ReadonlyArray<{ readonly name: string; readonly offset: number; readonly codec: Codec<unknown> }>;
}

/** A C struct from fields in declaration order; `_`-prefixed fields are padding. */
export function struct<F extends Fields>(fields: F): StructCodec<F> {
  const layout: Array<[string, Codec<unknown>, number]> = [];
  const offsets: Record<string, number> = {};
  let off = 0;
  let align = 1;
  for (const [name, codec] of Object.entries(fields)) {
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) throw new TypeError(`struct field name "${name}" is not an identifier`);
    off = alignUp(off, codec.align);
    layout.push([name, codec, off]);
    offsets[name] = off;
    off += codec.size;
    align = Math.max(align, codec.align);
  }
  const size = alignUp(off, align);
  const list = layout.map(([name, codec, offset]) => ({ name, offset, codec }));
  return {
    size, align, offsets: offsets as StructCodec<F>['offsets'], fields: list,
    ...(compileStruct(layout, size) as Pick<StructCodec<F>, 'encode' | 'decode'>),
  };
}

// Generates encode/decode as straight-line code. Gaps (implicit padding,
// `_` fields) are zeroed: map keys are compared byte by byte.
function compileStruct(layout: Array<[string, Codec<unknown>, number]>, size: number): Pick<Codec<unknown>, 'encode' | 'decode'> {
  const codecs: Codec<unknown>[] = [];
  const enc: string[] = [];
  const dec: string[] = [];
  let cursor = 0;
  for (const [name, codec, fo] of layout) {
    if (fo > cursor) enc.push(`b.fill(0, o + ${cursor}, o + ${fo});`);
    cursor = fo + codec.size;
    if (name.startsWith('_')) {
      enc.push(`b.fill(0, o + ${fo}, o + ${cursor});`);
      continue;
    }
    const i = codecs.push(codec) - 1;
    const f = JSON.stringify(name);
    enc.push(`if (v[${f}] === undefined) throw new TypeError('struct field "' + ${f} + '" is missing');`);
    const m = (codec as Partial<Primitive<unknown>>).method;
    if (m) {
      enc.push(`b.${m.write}(${m.wrapIn ? `${m.wrapIn}(v[${f}])` : `v[${f}]`}, o + ${fo});`);
      dec.push(`${f}: ${m.wrapOut ? `${m.wrapOut}(b.${m.read}(o + ${fo}))` : `b.${m.read}(o + ${fo})`}`);
    } else {
      enc.push(`c[${i}].encode(v[${f}], b, o + ${fo});`);
      dec.push(`${f}: c[${i}].decode(b, o + ${fo})`);
    }
  }
  if (size > cursor) enc.push(`b.fill(0, o + ${cursor}, o + ${size});`);
  const encode = new Function('c', `return function encode(v, b, o) {\n${enc.join('\n')}\n};`)(codecs);
  const decode = new Function('c', `return function decode(b, o) {\nreturn { ${dec.join(', ')} };\n};`)(codecs);
  return { encode, decode };
}

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export function encode<T>(codec: Codec<T>, value: T): Buffer {
  const b = Buffer.alloc(codec.size);
  codec.encode(value, b, 0);
  return b;
}

export function decode<T>(codec: Codec<T>, buf: Buffer, offset = 0): T {
  if (buf.length < offset + codec.size) throw new RangeError(`need ${codec.size} bytes at ${offset}, have ${buf.length - offset}`);
  return codec.decode(buf, offset);
}

/** The identity codec of a map whose layout the caller handles as bytes. */
export function raw(size: number): Codec<Buffer> {
  return bytes(size, 1);
}
