// One pass over text that JSON.parse has already accepted, finding what
// JSON.parse hides: duplicate keys (it keeps the last silently) and where
// given paths start. Kept separate from the YAML parser, which can parse JSON
// too but needs gigabytes for files with a million FDB entries.
import type { PathSegment } from './errors.js';

export interface JsonSpot {
  keyOffset?: number;
  valueOffset?: number;
}

interface Want extends JsonSpot {
  readonly children: Map<string, Want>;
}

export interface JsonScan {
  readonly duplicates: ReadonlyArray<{ readonly key: string; readonly offset: number }>;
  /** Per requested path, the spots found along it, outermost first; empty where the path leaves the document. */
  readonly spots: ReadonlyArray<readonly JsonSpot[]>;
}

/** Null when the text nests too deeply to walk; callers then go without. */
export function scanJson(text: string, paths: ReadonlyArray<readonly PathSegment[]> = []): JsonScan | null {
  const root: Want = { children: new Map() };
  for (const path of paths) {
    let node = root;
    for (const seg of path) {
      const key = String(seg);
      let next = node.children.get(key);
      if (!next) node.children.set(key, (next = { children: new Map() }));
      node = next;
    }
  }
  const duplicates: { key: string; offset: number }[] = [];
  let i = 0;
  // Character codes, not one-character strings: the scan visits every byte of
  // files that run to megabytes.
  const at = (n: number) => text.charCodeAt(n);
  const SPACE = 32, LF = 10, CR = 13, TAB = 9, QUOTE = 34, BACKSLASH = 92, COMMA = 44;
  const OPEN_OBJ = 123, CLOSE_OBJ = 125, OPEN_ARR = 91, CLOSE_ARR = 93;

  const ws = () => {
    for (let c = at(i); c === SPACE || c === LF || c === CR || c === TAB; c = at(++i));
  };
  const string = (): string => {
    const start = i++;
    let escaped = false;
    for (let c = at(i); c !== QUOTE; c = at(i)) {
      if (c === BACKSLASH) {
        escaped = true;
        i += 2;
      } else i++;
    }
    i++;
    return escaped ? (JSON.parse(text.slice(start, i)) as string) : text.slice(start + 1, i - 1);
  };
  const value = (want: Want | undefined): void => {
    ws();
    if (want) want.valueOffset = i;
    const c = at(i);
    if (c === OPEN_OBJ) {
      i++;
      // Most objects have a handful of keys: a short list beats a Set per
      // object; past that, a Set keeps huge objects linear.
      const few: string[] = [];
      let many: Set<string> | undefined;
      for (ws(); at(i) !== CLOSE_OBJ; ws()) {
        const keyOffset = i;
        const key = string();
        if (many ? many.has(key) : few.includes(key)) duplicates.push({ key, offset: keyOffset });
        else if (many) many.add(key);
        else if (few.push(key) > 16) many = new Set(few);
        const child = want?.children.get(key);
        if (child) child.keyOffset = keyOffset;
        ws();
        i++; // ':'
        value(child);
        ws();
        if (at(i) === COMMA) i++;
      }
      i++;
    } else if (c === OPEN_ARR) {
      i++;
      for (let index = 0; (ws(), at(i) !== CLOSE_ARR); index++) {
        value(want?.children.get(String(index)));
        ws();
        if (at(i) === COMMA) i++;
      }
      i++;
    } else if (c === QUOTE) {
      string();
    } else {
      for (let d = c; i < text.length && d !== COMMA && d !== CLOSE_ARR && d !== CLOSE_OBJ && d !== SPACE && d !== LF && d !== CR && d !== TAB; d = at(++i));
    }
  };

  try {
    value(root);
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
  const spots = paths.map((path) => {
    const found: JsonSpot[] = [];
    let node: Want | undefined = root;
    for (const seg of path) {
      node = node.children.get(String(seg));
      if (!node || node.valueOffset === undefined) break;
      found.push({ keyOffset: node.keyOffset, valueOffset: node.valueOffset });
    }
    return found;
  });
  return { duplicates, spots };
}
