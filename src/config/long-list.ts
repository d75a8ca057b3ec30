// Lists that can hold 100,000 entries (static FDBs). zod checks an element
// through a dozen short-lived objects (contexts, statuses, lazy paths, the
// output copy): ~10 µs an entry, most of a second for a large file, and
// garbage the collector then pays for again. A long list whose every element
// passes `accepts` is returned as it is; a list with any other element goes
// through z.array(element) whole, so whatever is reported (issues, their
// order and paths, and whether the enclosing rules still run) is zod's own.
//
// `accepts` may say yes only to values the element schema passes unchanged
// and without an issue. strictLeavesAccept() builds it from the schema
// itself: the same leaf checks schema.ts gives zod, and the element's
// refinement as a pure function.
import { z } from 'zod';

type Accepts = (value: unknown) => boolean;

interface LongListDef<T extends z.ZodTypeAny> extends z.ZodTypeDef {
  readonly array: z.ZodArray<T>;
  readonly accepts: Accepts;
}

export class ZodLongList<T extends z.ZodTypeAny> extends z.ZodType<Array<z.output<T>>, LongListDef<T>, Array<z.input<T>>> {
  static create<T extends z.ZodTypeAny>(element: T, accepts: Accepts): ZodLongList<T> {
    return new ZodLongList({ array: z.array(element), accepts });
  }

  get element(): T {
    return this._def.array.element;
  }

  _parse(input: z.ParseInput): z.ParseReturnType<Array<z.output<T>>> {
    const data: unknown = input.data;
    if (Array.isArray(data) && everyAccepted(data, this._def.accepts)) return z.OK(data as Array<z.output<T>>);
    return this._def.array._parse(input);
  }
}

function everyAccepted(xs: readonly unknown[], accepts: Accepts): boolean {
  for (let i = 0; i < xs.length; i++) if (!accepts(xs[i])) return false;
  return true;
}

const leafAccepts = new WeakMap<z.ZodTypeAny, Accepts>();

/** Records what a leaf schema (schema.ts `leaf`) accepts without an issue. */
export function registerLeaf<S extends z.ZodTypeAny>(schema: S, accepts: Accepts): S {
  leafAccepts.set(schema, accepts);
  return schema;
}

function acceptsOf(schema: z.ZodTypeAny, key: string): Accepts {
  if (schema instanceof z.ZodOptional) {
    const inner = acceptsOf(schema.unwrap() as z.ZodTypeAny, key);
    return (v) => v === undefined || inner(v);
  }
  const a = leafAccepts.get(schema);
  if (!a) throw new Error(`internal: ${key} is not a leaf; a long list needs leaves it can check without zod`);
  return a;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * For a .strict() object of leaves refined by `problem` (null: no issue):
 * a plain object with only known keys, every leaf accepted, no problem.
 */
export function strictLeavesAccept<V>(object: z.ZodObject<z.ZodRawShape, 'strict'>, problem: (value: V) => unknown): Accepts {
  if (object._def.unknownKeys !== 'strict') throw new Error('internal: a long list element must be a strict object');
  const keys = Object.keys(object.shape);
  const checks = keys.map((k) => acceptsOf(object.shape[k] as z.ZodTypeAny, k));
  const known = new Set(keys);
  return (v) => {
    if (!isPlainObject(v)) return false;
    for (const k in v) if (!known.has(k)) return false;
    for (let i = 0; i < keys.length; i++) if (!checks[i]!(v[keys[i]!])) return false;
    return problem(v as V) === null;
  };
}
