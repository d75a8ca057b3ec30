// Entry points: text or a file or an already-parsed object → Config or issues.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { capacityOverflows } from './capacity.js';
import { detectFormat, mib, readDocument, type SourceFormat } from './document.js';
import { CONFIG_MAX_BYTES } from './limits.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { configErrorMap, issuesFromZod, placeIssues, type Locator } from './issues.js';
import { normalizeConfig } from './normalize.js';
import { configSchema } from './schema.js';
import { INSECURE_FLAG, kindOf, trustProblem } from './trust.js';
import type { Config } from './types.js';

export type ConfigResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly errors: readonly ConfigIssue[] };

export interface ParseOptions {
  /** Overrides detection from `source`'s extension and the text. */
  readonly format?: SourceFormat;
}

export interface ReadOptions {
  /** Skip the ownership and mode checks (--insecure-config-perms, for labs); the file must still be a regular file. */
  readonly insecurePerms?: boolean;
}

/** Validates data already in memory (parsed JSON/YAML, or generated); `locate` maps issues to text positions. */
export function validateConfig(data: unknown, locate?: Locator): ConfigResult {
  if (data === null || data === undefined) return { ok: false, errors: [{ path: '', message: 'the file is empty' }] };
  if (typeof data !== 'object' || Array.isArray(data)) {
    return { ok: false, errors: [{ path: '', message: 'the top level must be a mapping (underlay:, vnis:, ...)' }] };
  }
  const overflows = capacityOverflows(data as Record<string, unknown>);
  if (overflows.length > 0) return { ok: false, errors: placeIssues(overflows, locate) };
  const result = configSchema.safeParse(data, { errorMap: configErrorMap });
  if (!result.success) return { ok: false, errors: placeIssues(issuesFromZod(result.error, configSchema), locate) };
  return { ok: true, config: normalizeConfig(result.data) };
}

/** Parses and validates config text; `source` names it in messages and picks the format by extension. */
export function parseConfig(text: string, source: string, options: ParseOptions = {}): ConfigResult {
  const doc = readDocument(text, options.format ?? detectFormat(source, text));
  if (!doc.ok) return { ok: false, errors: doc.issues };
  return validateConfig(doc.data, doc.locate);
}

/** The config, or a ConfigError carrying the issues and the source name. */
export function unwrapConfig(result: ConfigResult, source: string): Config {
  if (result.ok) return result.config;
  throw new ConfigError(source, result.errors);
}

/**
 * Strict UTF-8: a lenient decode would turn a stray byte into U+FFFD inside a
 * name or address and the file would mean something its author never wrote.
 */
function decodeUtf8(buf: Buffer, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    const at = firstInvalidUtf8(buf);
    let line = 1, lineStart = 0;
    for (let i = buf.indexOf(10); i !== -1 && i < at; i = buf.indexOf(10, i + 1)) {
      line++;
      lineStart = i + 1;
    }
    throw new ConfigError(path, [{
      path: '', line, column: at - lineStart + 1,
      message: `not UTF-8 text (byte 0x${(buf[at] ?? 0).toString(16).padStart(2, '0')} at offset ${at}); a config file is YAML or JSON in UTF-8`,
    }]);
  }
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence. */
function firstInvalidUtf8(b: Buffer): number {
  for (let i = 0; i < b.length;) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0 || i + n >= b.length) return i;
    for (let k = 1; k <= n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i;
    // overlongs, surrogates and code points above U+10FFFF
    if ((c === 0xe0 && b[i + 1]! < 0xa0) || (c === 0xed && b[i + 1]! > 0x9f) || (c === 0xf0 && b[i + 1]! < 0x90) || (c === 0xf4 && b[i + 1]! > 0x8f)) return i;
    i += n + 1;
  }
  return b.length;
}

/**
 * The text of a config file; ConfigError (naming the file) when it cannot or
 * should not be read. Opened first and checked on the open file: a stat
 * before the read would let a swap in between pass. O_NONBLOCK so a FIFO
 * cannot stall the open, and at most CONFIG_MAX_BYTES + 1 bytes are read
 * whatever st_size says (/dev/zero says 0).
 */
export async function readConfigText(path: string, opts: ReadOptions = {}): Promise<string> {
  const cannot = (why: string) => new ConfigError(path, [{ path: '', message: `cannot read config: ${why}` }]);
  try {
    const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw cannot('is a directory, not a file (EISDIR)');
      if (!st.isFile()) throw cannot(`is ${kindOf(st)}, not a regular file`);
      if (!opts.insecurePerms) {
        const problem = trustProblem(path, st);
        if (problem) throw cannot(`untrusted: ${problem} (or ${INSECURE_FLAG} in a lab)`);
      }
      // st_size as a first guess only; the loop ends at EOF or past the limit
      const parts: Buffer[] = [];
      let n = 0;
      for (;;) {
        const chunk = Buffer.allocUnsafe(Math.min(Math.max(st.size + 1, 1 << 16), 1 << 24));
        const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
        if (bytesRead === 0) break;
        parts.push(chunk.subarray(0, bytesRead));
        n += bytesRead;
        if (n > CONFIG_MAX_BYTES) throw cannot(`more than the ${mib(CONFIG_MAX_BYTES)} a config file may have`);
      }
      return decodeUtf8(parts.length === 1 ? parts[0]! : Buffer.concat(parts, n), path);
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT' ? 'no such file'
      : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied'
      : err.code === 'EISDIR' ? 'is a directory, not a file'
      : err.message;
    throw cannot(`${why}${err.code ? ` (${err.code})` : ''}`);
  }
}

/** Reads, parses and validates a config file; throws ConfigError for unreadable or invalid files. */
export async function loadConfigFile(path: string, options: ParseOptions & ReadOptions = {}): Promise<Config> {
  return unwrapConfig(parseConfig(await readConfigText(path, options), path, options), path);
}
