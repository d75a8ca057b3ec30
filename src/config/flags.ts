// The CLI quick form (one VNI, no file) builds the same raw document a file
// would hold and validates it with the same schema; issues are renamed to the
// flags the user typed.
import type { ConfigIssue } from './errors.js';
import { validateConfig, type ConfigResult } from './load.js';
import type { ConfigInput } from './schema.js';

export interface QuickFlags {
  /** --underlay IFACE */
  readonly underlay: string;
  /** --vni N (commander hands over strings) */
  readonly vni: number | string;
  /** --endpoint IFACE, repeatable */
  readonly endpoints: string | readonly string[];
  /** --peer ADDR, repeatable */
  readonly peers?: string | readonly string[];
  /** --port N */
  readonly port?: number | string;
  /** --address ADDR */
  readonly address?: string;
}

const list = (v: string | readonly string[] | undefined): string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : [...v]);

/** Decimal strings become numbers; anything else stays as typed so the schema reports it verbatim. */
const numeric = (v: number | string): number | string => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v);

export function quickFormDocument(flags: QuickFlags): ConfigInput {
  const underlay: Record<string, unknown> = { interface: flags.underlay };
  if (flags.address !== undefined) underlay.address = flags.address;
  if (flags.port !== undefined) underlay.port = numeric(flags.port);
  return {
    underlay,
    vnis: [{ vni: numeric(flags.vni), endpoints: list(flags.endpoints), peers: list(flags.peers) }],
  } as ConfigInput;
}

const FLAG_FOR: ReadonlyArray<[RegExp, string]> = [
  [/^underlay\.interface$/, '--underlay'],
  [/^underlay\.address$/, '--address'],
  [/^underlay\.port$/, '--port'],
  [/^vnis\[0\]\.vni$/, '--vni'],
  [/^vnis\[0\]\.endpoints(\[\d+\])?$/, '--endpoint'],
  [/^vnis\[0\]\.peers(\[\d+\])?$/, '--peer'],
];

function renamed(issue: ConfigIssue): ConfigIssue {
  const flag = FLAG_FOR.find(([re]) => re.test(issue.path))?.[1];
  const message = issue.message.replace(/\bvnis\[0\]\.(endpoints|peers)\[\d+\]/g, (_, k: string) => (k === 'peers' ? '--peer' : '--endpoint'));
  return { path: flag ?? issue.path, message };
}

/** Config from quick-form flags, validated exactly like a file. */
export function configFromFlags(flags: QuickFlags): ConfigResult {
  const result = validateConfig(quickFormDocument(flags));
  return result.ok ? result : { ok: false, errors: result.errors.map(renamed) };
}
