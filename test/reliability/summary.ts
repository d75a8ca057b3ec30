// The reliability summary: each test file merges its section into
// build/reliability-summary.json (files run one after another, never in
// parallel: vitest.config.ts), and scripts/reliability-summary.mjs prints it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SUMMARY_FILE = fileURLToPath(new URL('../../build/reliability-summary.json', import.meta.url));

export function recordSummary(section: string, value: unknown): void {
  let all: Record<string, unknown> = {};
  try {
    if (existsSync(SUMMARY_FILE)) all = JSON.parse(readFileSync(SUMMARY_FILE, 'utf8')) as Record<string, unknown>;
  } catch {
    all = {};
  }
  all[section] = value;
  mkdirSync(dirname(SUMMARY_FILE), { recursive: true });
  writeFileSync(SUMMARY_FILE, `${JSON.stringify(all, null, 2)}\n`);
}

/** Fuzz profile from the environment: quick (CI, `make test`) unless overridden. */
export function fuzzProfile(): { seed: number; inputs: number; maxSeconds: number; profile: string } {
  const env = process.env;
  const inputs = Number(env.XVTEP_FUZZ_INPUTS ?? 50_000);
  if (!Number.isInteger(inputs) || inputs < 1) throw new Error(`XVTEP_FUZZ_INPUTS=${env.XVTEP_FUZZ_INPUTS}: not a positive integer`);
  const seed = env.XVTEP_FUZZ_SEED !== undefined ? Number(env.XVTEP_FUZZ_SEED) >>> 0 : 0x5eed0006;
  const maxSeconds = Number(env.XVTEP_FUZZ_MAX_SECONDS ?? 1200);
  return { seed, inputs, maxSeconds, profile: env.XVTEP_FUZZ_INPUTS === undefined ? 'quick' : inputs >= 1_000_000 ? 'full' : 'custom' };
}

/**
 * Size of the loss/continuity, hostile-command and soak runs: 'quick' in
 * `make test` (CI budget: the whole reliability suite within 5 minutes),
 * 'full' under `make reliability` (XVTEP_RELIABILITY=full: the issue's
 * counts, the 10-minute soak).
 */
export function reliabilityProfile(): 'quick' | 'full' {
  const v = process.env.XVTEP_RELIABILITY ?? 'quick';
  if (v !== 'quick' && v !== 'full') throw new Error(`XVTEP_RELIABILITY=${v}: expected quick or full`);
  return v;
}
