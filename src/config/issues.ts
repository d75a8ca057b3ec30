// Turns zod's issues into ConfigIssues: human messages for zod's built-in
// codes, and one issue per unknown key (at the key's own path, with a
// suggestion) instead of zod's one-per-object list.
import { z } from 'zod';
import { describeExpected, describeValue } from './describe.js';
import { formatPath, type ConfigIssue, type PathSegment } from './errors.js';
import { ZodLongList } from './long-list.js';

export const configErrorMap: z.ZodErrorMap = (issue, ctx) => {
  switch (issue.code) {
    case z.ZodIssueCode.invalid_type:
      if (issue.received === 'undefined') return { message: 'required key is missing' };
      return { message: `expected ${describeExpected(issue.expected)}, got ${describeValue(ctx.data)}` };
    case z.ZodIssueCode.too_small:
      if (issue.type === 'array') return { message: `needs at least ${issue.minimum} item(s)` };
      return { message: ctx.defaultError };
    default:
      return { message: ctx.defaultError };
  }
};

/** The keys an object schema accepts at `path`, seen through wrappers; null when it is not an object. */
function keysAt(schema: z.ZodTypeAny, path: readonly PathSegment[]): string[] | null {
  let s: z.ZodTypeAny | undefined = unwrap(schema);
  for (const seg of path) {
    if (s instanceof z.ZodObject) s = (s.shape as Record<string, z.ZodTypeAny>)[String(seg)];
    else if (s instanceof z.ZodArray || s instanceof ZodLongList) s = s.element as z.ZodTypeAny;
    else return null;
    if (!s) return null;
    s = unwrap(s);
  }
  return s instanceof z.ZodObject ? Object.keys(s.shape as object) : null;
}

function unwrap(schema: z.ZodTypeAny): z.ZodTypeAny {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodEffects) s = s.innerType();
    else if (s instanceof z.ZodDefault) s = s.removeDefault();
    else if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else return s;
  }
}

/** Optimal string alignment distance: edits, with a swap of neighbours ("prot" → "port") counting once. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    const up = d[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, ((d[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = best;
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

function unknownKeyMessage(key: string, allowed: readonly string[] | null): string {
  if (!allowed || allowed.length === 0) return 'unknown key';
  const lower = key.toLowerCase();
  const close = allowed
    .map((k) => ({ k, d: k.toLowerCase() === lower ? 0 : editDistance(lower, k.toLowerCase()) }))
    .filter(({ d }) => d <= Math.max(1, Math.floor(key.length / 3)))
    .sort((x, y) => x.d - y.d)[0];
  return close ? `unknown key; did you mean ${close.k}?` : `unknown key; expected one of: ${allowed.join(', ')}`;
}

/** An issue before it is placed in a document: the path still as segments. */
export interface PendingIssue {
  readonly segments: readonly PathSegment[];
  readonly message: string;
  /** Point at the key rather than its value (unknown keys). */
  readonly atKey?: boolean;
}

export function issuesFromZod(error: z.ZodError, schema: z.ZodTypeAny): PendingIssue[] {
  const out: PendingIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === z.ZodIssueCode.unrecognized_keys) {
      const allowed = keysAt(schema, issue.path);
      for (const key of issue.keys) {
        out.push({ segments: [...issue.path, key], message: unknownKeyMessage(key, allowed), atKey: true });
      }
    } else {
      out.push({ segments: issue.path, message: issue.message });
    }
  }
  return out;
}

export interface Position {
  readonly line: number;
  readonly column: number;
}

export interface LocateRequest {
  readonly segments: readonly PathSegment[];
  /** Point at the key rather than its value. */
  readonly atKey: boolean;
}

/** Maps document paths to source positions, in one batch (a scan per issue would be quadratic). */
export type Locator = (requests: readonly LocateRequest[]) => ReadonlyArray<Position | undefined>;

/** Issues with their positions, in file order (zod's order follows the schema, not the file); unplaced ones last. */
export function placeIssues(pending: readonly PendingIssue[], locate?: Locator): ConfigIssue[] {
  const positions = locate?.(pending.map((p) => ({ segments: p.segments, atKey: p.atKey ?? false }))) ?? [];
  const placed: ConfigIssue[] = pending.map((p, n) => {
    const pos = positions[n];
    const path = formatPath(p.segments);
    return pos ? { path, message: p.message, line: pos.line, column: pos.column } : { path, message: p.message };
  });
  const rank = (i: ConfigIssue) => (i.line === undefined ? Infinity : i.line * 1e6 + (i.column ?? 0));
  return placed.sort((a, b) => rank(a) - rank(b));
}
