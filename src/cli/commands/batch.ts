// xvtep -batch FILE, as `ip -batch` / `bridge -batch`: one command per line
// in the CLI's own syntax. Every line is parsed and checked against a staged
// copy of the maps (the checks of the single commands, edits.ts), then the
// copy is applied by one converge: batch map writes, make-before-break, one
// generation bump. Without -force a bad line stops everything before any
// write; with -force bad lines are reported and skipped.
import { readFileSync } from 'node:fs';
import { cloneTables, converge, loadedCapacity, openPinned, readLive, stagedEdits, type Tables } from '../../reconcile/index.js';
import { EXIT_OK, EXIT_USAGE, UsageError, messageOf } from '../errors.js';
import { note, resolveTarget, type TargetOptions } from '../target.js';
import { EDIT_SPECS, runAlone, type EditSpec, type Opts, type ShowOp, type Stage } from './edits.js';

export interface BatchOptions extends TargetOptions {
  file: string;
  force: boolean;
  assumePeerNapi: boolean;
}

const GLOBAL_HELP = '-batch FILE|- [-force] [--pin-dir DIR | -c FILE] [-j] [--assume-peer-napi]';

export function parseBatchArgs(argv: readonly string[]): BatchOptions {
  const o: BatchOptions = { file: '', force: false, assumePeerNapi: false };
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (name: string) => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    if (a === '-batch' || a === '--batch' || a === '-b') {
      if (file !== undefined) throw new UsageError(`${a}: given twice`);
      file = value(a);
    } else if (a === '-force' || a === '--force') o.force = true;
    else if (a === '-j' || a === '--json' || a === '-json') o.json = true;
    else if (a === '--assume-peer-napi') o.assumePeerNapi = true;
    else if (a === '--pin-dir') o.pinDir = value(a);
    else if (a.startsWith('--pin-dir=')) o.pinDir = a.slice('--pin-dir='.length);
    else if (a === '-c' || a === '--config') o.config = value(a);
    else if (a.startsWith('--config=')) o.config = a.slice('--config='.length);
    else throw new UsageError(`unexpected "${a}" with -batch (usage: xvtep ${GLOBAL_HELP})`);
  }
  if (file === undefined) throw new UsageError(`-batch needs a file (- for standard input)`);
  o.file = file;
  return o;
}

const SPECS = new Map<string, Map<string, EditSpec>>();
for (const s of EDIT_SPECS) {
  if (!SPECS.has(s.group)) SPECS.set(s.group, new Map());
  SPECS.get(s.group)!.set(s.verb, s);
}

/** Words of a line: blanks separate, `#` starts a comment, quotes keep blanks ('…' or "…"). */
export function splitLine(line: string): string[] {
  // the common line: words one blank apart, nothing quoted
  if (!/[^\x21-\x7e ]|["'#]| {2}|^ | $/.test(line)) return line === '' ? [] : line.split(' ');
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(#)|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    if (m[3]) break;
    out.push(m[1] ?? m[2] ?? m[4]!);
  }
  return out;
}

interface Parsed { op: ReturnType<EditSpec['parse']>; json: boolean; assumePeerNapi: boolean }

/** One line's command, parsed (syntax, addresses, interfaces) but not yet checked against the maps. */
export function parseLine(words: readonly string[], g: BatchOptions): Parsed {
  const [group, verb, ...rest] = words as [string, string | undefined, ...string[]];
  const verbs = SPECS.get(group);
  if (!verbs) throw new UsageError(`unknown command '${group}' (a batch line is one of: ${[...SPECS.keys()].join(', ')})`);
  if (verb === undefined) throw new UsageError(`${group}: missing command (one of: ${[...verbs.keys()].join(', ')})`);
  const spec = verbs.get(verb);
  if (!spec) throw new UsageError(`${group}: unknown command '${verb}' (one of: ${[...verbs.keys()].join(', ')})`);
  const what = `${group} ${verb}`;
  const o: Opts = {};
  const pos: string[] = [];
  for (const w of rest) {
    if (!w.startsWith('-')) pos.push(w);
    else if (spec.json && (w === '-j' || w === '--json')) o.json = true;
    else if (spec.assumePeerNapi && w === '--assume-peer-napi') o.assumePeerNapi = true;
    else if (/^(-c|--config|--pin-dir)(=|$)/.test(w)) throw new UsageError(`${what}: ${w.replace(/=.*/, '')} applies to the whole batch: give it on the command line`);
    else throw new UsageError(`${what}: unknown option '${w}'`);
  }
  const declared = spec.args.split(' ').filter(Boolean);
  const required = declared.filter((a) => a.startsWith('<'));
  if (pos.length < required.length) throw new UsageError(`${what}: missing required argument '${required[pos.length]!.slice(1, -1)}'`);
  if (!declared.some((a) => a.endsWith('...]')) && pos.length > declared.length) {
    throw new UsageError(`${what}: too many arguments (expected ${declared.length}, got ${pos.length})`);
  }
  return { op: spec.parse(pos, o), json: !!(g.json || o.json), assumePeerNapi: !!o.assumePeerNapi };
}

type Step = { kind: 'apply'; t: Tables } | { kind: 'show'; op: ShowOp; json: boolean };

function readBatch(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new UsageError(`-batch ${file}: ${(e as NodeJS.ErrnoException).code ?? messageOf(e)}`);
  }
}

export async function runBatch(argv: readonly string[]): Promise<number> {
  const g = parseBatchArgs(argv);
  const text = readBatch(g.file);
  const label = g.file === '-' ? 'stdin' : g.file;
  const { pinDir } = await resolveTarget(g);
  const dp = openPinned(pinDir);
  try {
    const live = readLive(dp);
    const t = cloneTables(live);
    const stage: Stage = { t, state: stagedEdits(t), maxSlots: dp.stats.info.maxEntries, fdbCapacity: dp.fdb.map.info.maxEntries, notes: [] };
    const steps: Step[] = [];
    const errors: string[] = [];
    let dirty = false, commands = 0, assumePeerNapi = g.assumePeerNapi;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const words = splitLine(lines[i]!);
      if (words.length === 0) continue;
      commands++;
      try {
        const p = parseLine(words, g);
        assumePeerNapi ||= p.assumePeerNapi;
        if (p.op.kind === 'show') {
          // A show prints the maps as the lines before it left them: those are applied first.
          if (dirty) steps.push({ kind: 'apply', t: cloneTables(t) });
          dirty = false;
          steps.push({ kind: 'show', op: p.op, json: p.json });
        } else {
          p.op.stage(stage);
          dirty = true;
        }
      } catch (e) {
        errors.push(`${label}:${i + 1}: ${messageOf(e)}`);
      }
    }
    if (dirty) steps.push({ kind: 'apply', t });
    for (const e of errors) process.stderr.write(`xvtep: ${e}\n`);
    if (errors.length && !g.force) {
      note(`${errors.length} of ${commands} command(s) failed; nothing applied (-force applies the others)`);
      return EXIT_USAGE;
    }
    // A full map would refuse the apply half-way (and roll it back): say so before writing.
    const cap = loadedCapacity(dp);
    const need: Array<[keyof typeof cap, number]> = [['vnis', t.vnis.size], ['endpoints', t.endpoints.size], ['peers', t.peers.size], ['fdb', t.fdb.size], ['neighbors', t.neighbors.size]];
    for (const [k, n] of need) {
      if (n > cap[k]) throw new UsageError(`${label}: the batch leaves ${n} ${k} entries but the loaded map holds ${cap[k]}; nothing applied (detach and attach with a larger capacity.${k})`);
    }
    let before = live;
    const notes: string[] = [];
    for (const s of steps) {
      if (s.kind === 'show') {
        s.op.show(dp, s.json);
        continue;
      }
      converge(dp, pinDir, s.t, before, { notes, assumePeerNapi });
      before = s.t;
    }
    for (const n of [...stage.notes, ...notes]) note(n);
    if (errors.length) {
      note(`${errors.length} of ${commands} command(s) failed; the others were applied`);
      return EXIT_USAGE;
    }
    return EXIT_OK;
  } finally {
    dp.close();
  }
}

/**
 * A single edit or show whose words are plain (the batch line syntax plus
 * --pin-dir/-c), run without building the commander program: its start is
 * most of what such a command costs beyond Node's own. Returns undefined for
 * anything else, or any mistake in the words: commander then parses the
 * same argv and reports it exactly as it always has.
 */
export async function runPlain(argv: readonly string[]): Promise<number | undefined> {
  const words: string[] = [];
  const o: Opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--pin-dir' || a === '-c' || a === '--config') {
      const v = argv[++i];
      if (v === undefined || v.startsWith('-')) return undefined;
      if (a === '--pin-dir') o.pinDir = v;
      else o.config = v;
    } else if (a.startsWith('--pin-dir=')) o.pinDir = a.slice('--pin-dir='.length);
    else if (a.startsWith('--config=')) o.config = a.slice('--config='.length);
    else if (a === '-j' || a === '--json' || a === '--assume-peer-napi' || !a.startsWith('-')) words.push(a);
    else return undefined;
  }
  let p: Parsed;
  try {
    p = parseLine(words, { file: '', force: false, assumePeerNapi: false });
  } catch {
    return undefined;
  }
  await runAlone(p.op, { ...o, json: p.json, assumePeerNapi: p.assumePeerNapi });
  return EXIT_OK;
}
