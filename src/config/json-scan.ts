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

  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  const string = (): string => {
    const start = i++;
    let escaped = false;
    while (text[i] !== '"') i += text[i] === '\\' ? ((escaped = true), 2) : 1;
    i++;
    const raw = text.slice(start, i);
    return escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  };
  const value = (want: Want | undefined): void => {
    ws();
    if (want) want.valueOffset = i;
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      for (ws(); text[i] !== '}'; ws()) {
        const keyOffset = i;
        const key = string();
        if (seen.has(key)) duplicates.push({ key, offset: keyOffset });
        seen.add(key);
        const child = want?.children.get(key);
        if (child) child.keyOffset = keyOffset;
        ws();
        i++; // ':'
        value(child);
        ws();
        if (text[i] === ',') i++;
      }
      i++;
    } else if (c === '[') {
      i++;
      for (let index = 0; (ws(), text[i] !== ']'); index++) {
        value(want?.children.get(String(index)));
        ws();
        if (text[i] === ',') i++;
      }
      i++;
    } else if (c === '"') {
      string();
    } else {
      while (i < text.length && !',]} \n\r\t'.includes(text[i] as string)) i++;
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
