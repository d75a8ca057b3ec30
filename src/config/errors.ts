// How configuration problems are reported: one issue per problem, each naming
// where in the file it is, so a user can fix them all in one pass.
import { describeValue } from './describe.js';

export interface ConfigIssue {
  /** Where in the document, e.g. `vnis[1].fdb[3].mac`; '' for the document as a whole. */
  readonly path: string;
  readonly message: string;
  /** 1-based position in the source text, when the issue can be located there. */
  readonly line?: number;
  readonly column?: number;
}

export type PathSegment = string | number;

const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `['vnis', 1, 'fdb', 3, 'mac']` → `vnis[1].fdb[3].mac`; odd keys are quoted: `underlay["my key"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENT_RE.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${describeValue(seg)}]`;
  }
  return out;
}

/** `FILE:LINE:COL: path: message`, dropping the parts that are unknown. */
export function formatConfigIssue(issue: ConfigIssue, source: string): string {
  const where = issue.line !== undefined ? `${source}:${issue.line}:${issue.column ?? 1}` : source;
  return issue.path === '' ? `${where}: ${issue.message}` : `${where}: ${issue.path}: ${issue.message}`;
}

/** One line per issue. */
export function formatConfigIssues(issues: readonly ConfigIssue[], source: string): string {
  return issues.map((i) => formatConfigIssue(i, source)).join('\n');
}

/** A configuration that could not be read or is invalid; the CLI prints `message` and exits with `exitCode`. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly exitCode = 1;

  constructor(
    readonly source: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(formatConfigIssues(issues, source));
  }
}
