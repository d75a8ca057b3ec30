// Entry points: text or a file or an already-parsed object → Config or issues.
import { readFile } from 'node:fs/promises';
import { capacityOverflows } from './capacity.js';
import { detectFormat, readDocument, type SourceFormat } from './document.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { configErrorMap, issuesFromZod, placeIssues, type Locator } from './issues.js';
import { normalizeConfig } from './normalize.js';
import { configSchema } from './schema.js';
import type { Config } from './types.js';

export type ConfigResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly errors: readonly ConfigIssue[] };

export interface ParseOptions {
  /** Overrides detection from `source`'s extension and the text. */
  readonly format?: SourceFormat;
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

/** Reads, parses and validates a config file; throws ConfigError for unreadable or invalid files. */
export async function loadConfigFile(path: string, options: ParseOptions = {}): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT' ? 'no such file'
      : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied'
      : err.code === 'EISDIR' ? 'is a directory, not a file'
      : err.message;
    throw new ConfigError(path, [{ path: '', message: `cannot read config: ${why}${err.code ? ` (${err.code})` : ''}` }]);
  }
  return unwrapConfig(parseConfig(text, path, options), path);
}
