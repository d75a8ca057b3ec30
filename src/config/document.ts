// Source text → plain data, plus a locator mapping document paths back to
// line:column. YAML goes through the `yaml` package (duplicate keys are
// errors); JSON through JSON.parse plus a light scan for what it hides.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { ConfigIssue } from './errors.js';
import type { LocateRequest, Locator, Position } from './issues.js';
import { scanJson, type JsonSpot } from './json-scan.js';
import { describeValue } from './describe.js';
import { YAML_MAX_BYTES } from './limits.js';

/**
 * Parser messages quote the text they stumbled on; from a binary or huge
 * file that can be kilobytes of anything. One short line is enough.
 */
function clip(message: string): string {
  // eslint-disable-next-line no-control-regex
  const line = (message.split('\n')[0] ?? message).replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

export const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MiB`;

export type SourceFormat = 'yaml' | 'json';

export type DocumentResult =
  | { readonly ok: true; readonly data: unknown; readonly locate?: Locator }
  | { readonly ok: false; readonly issues: ConfigIssue[] };

/** By extension; unknown extensions go by the first significant character. */
export function detectFormat(fileName: string, text: string): SourceFormat {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return 'yaml';
  return /^\s*[{[]/.test(text) ? 'json' : 'yaml';
}

const MAX_ALIASES = 100; // a config has no use for alias bombs

export function readDocument(input: string, format: SourceFormat): DocumentResult {
  const text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  if (text.trim() === '') return fail({ path: '', message: 'the file is empty' });
  if (format === 'yaml' && text.length > YAML_MAX_BYTES) {
    return fail({ path: '', message: `${mib(text.length)} of YAML is more than the ${mib(YAML_MAX_BYTES)} the YAML parser is given; write a config this large as JSON (a .json file)` });
  }
  return format === 'json' ? readJson(text) : readYaml(text);
}

function fail(...issues: ConfigIssue[]): DocumentResult {
  return { ok: false, issues };
}

/** 1-based line and column of offsets into one text. */
function positionsIn(text: string): (offset: number) => Position {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (starts[lo] ?? 0) + 1 };
  };
}

/**
 * Given the spots found along a path (outermost first), the offset to show:
 * the value (or the key, for unknown keys) when the whole path was found,
 * else the key of the deepest part that exists, which is where a missing key
 * belongs. Nothing for a path absent from the top: line 1 would not help.
 */
function chooseOffset(spots: readonly JsonSpot[], request: LocateRequest): number | undefined {
  const last = spots.at(-1);
  if (!last) return undefined;
  if (spots.length === request.segments.length) {
    return request.atKey ? (last.keyOffset ?? last.valueOffset) : (last.valueOffset ?? last.keyOffset);
  }
  return last.keyOffset ?? last.valueOffset;
}

function readYaml(text: string): DocumentResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter: lines });
  // Warnings (unresolved tags, odd directives) mean the data is not what the
  // author wrote; a config file has no reason to produce any.
  // After the first syntax error the parser is guessing: what follows it is
  // noise (a binary file gives dozens). Duplicate keys are each real.
  const all = [...doc.errors, ...doc.warnings];
  const syntax = all.filter((e) => e.code !== 'DUPLICATE_KEY');
  const problems = syntax.length > 0 ? syntax.slice(0, 1) : all;
  if (problems.length > 0) {
    return fail(
      ...problems.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        const message =
          e.code === 'DUPLICATE_KEY'
            ? `duplicate key ${describeValue(keyAt(text, e.pos[0]))}`
            : `invalid YAML: ${clip(e.message)}`;
        return { path: '', message, line, column: col };
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    return fail({ path: '', message: `invalid YAML: ${clip((e as Error).message)}` });
  }
  if (data === null || data === undefined) return fail({ path: '', message: 'the file is empty' });
  return { ok: true, data, locate: yamlLocator(doc, text) };
}

/** The scalar key starting at `offset` (the YAML parser reports only where it starts). */
function keyAt(text: string, offset: number): string {
  const m = /^(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)'|([^:,{}[\]\s#]+(?:[ \t]+[^:,{}[\]\s#]+)*))/.exec(text.slice(offset, offset + 1024));
  if (!m) return text.slice(offset, offset + 1);
  if (m[1] !== undefined) {
    try {
      return JSON.parse(`"${m[1]}"`) as string;
    } catch {
      return m[1]; // a YAML-only escape such as \x41: show it as written
    }
  }
  if (m[2] !== undefined) return m[2].replaceAll("''", "'");
  return m[3] ?? '';
}

function yamlLocator(doc: Document, text: string): Locator {
  const start = (node: unknown) => (node as { range?: readonly number[] } | null | undefined)?.range?.[0];
  const spotsAlong = (request: LocateRequest): JsonSpot[] => {
    const spots: JsonSpot[] = [];
    let node: unknown = doc.contents;
    for (const seg of request.segments) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        spots.push({ keyOffset: start(pair.key), valueOffset: start(pair.value) });
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
        node = node.items[seg];
        spots.push({ valueOffset: start(node) });
      } else break;
    }
    return spots;
  };
  return (requests) => {
    const at = positionsIn(text);
    return requests.map((r) => {
      const offset = chooseOffset(spotsAlong(r), r);
      return offset === undefined ? undefined : at(offset);
    });
  };
}

function readJson(text: string): DocumentResult {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return fail(jsonSyntaxIssue(text, (e as Error).message));
  }
  const scan = scanJson(text);
  if (scan && scan.duplicates.length > 0) {
    const at = positionsIn(text);
    return fail(
      ...scan.duplicates.map((d) => ({ path: '', message: `duplicate key ${describeValue(d.key)}`, ...at(d.offset) })),
    );
  }
  if (data === null) return fail({ path: '', message: 'the file is empty' });
  const locate: Locator = (requests) => {
    const found = scanJson(text, requests.map((r) => r.segments));
    if (!found) return [];
    const at = positionsIn(text);
    return requests.map((r, n) => {
      const offset = chooseOffset(found.spots[n] ?? [], r);
      return offset === undefined ? undefined : at(offset);
    });
  };
  return { ok: true, data, locate };
}

function jsonSyntaxIssue(text: string, raw: string): ConfigIssue {
  // V8 messages either end in "at position N" or quote the text after a comma.
  const firstLine = raw.split('\n')[0] ?? raw;
  const position = /at position (\d+)/.exec(firstLine);
  const detail = firstLine.replace(/ in JSON at position \d+.*$/, '').replace(/, (".*|\.\.\..*)$/, '');
  let offset = position ? Number(position[1]) : undefined;
  if (offset === undefined) {
    // No position from V8: the YAML parser's JSON schema usually points at the same spot.
    const doc = parseDocument(text, { prettyErrors: false, schema: 'json' });
    offset = doc.errors[0]?.pos[0] ?? text.length;
  }
  return { path: '', message: `invalid JSON: ${clip(detail)}`, ...positionsIn(text)(offset) };
}
