#!/usr/bin/env node
// Prints build/reliability-summary.json (written by test/reliability/*.test.ts)
// as tables. Exit status 1 if a section is missing or any must-be-zero
// column is not zero.
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'build/reliability-summary.json';
if (!existsSync(file)) {
  console.error(`reliability summary: ${file} does not exist (did the tests run?)`);
  process.exit(1);
}
const s = JSON.parse(readFileSync(file, 'utf8'));
let bad = false;

function table(headers, rows) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => `| ${r.map((c, i) => (typeof c === 'number' ? String(c).padStart(w[i]) : String(c).padEnd(w[i]))).join(' | ')} |`;
  console.log(line(headers));
  console.log(`|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log();
}

const fuzz = s.fuzz;
if (!fuzz) {
  console.error('reliability summary: no fuzz section');
  bad = true;
} else {
  console.log(`Mutation fuzzing through BPF_PROG_TEST_RUN — seed ${fuzz.seed} (XVTEP_FUZZ_SEED), ${fuzz.inputsPerProgram} inputs per program (XVTEP_FUZZ_INPUTS)\n`);
  table(
    ['program', 'inputs tried', 'refused by kernel', 'verdicts', 'invalid verdicts', 'invalid outputs', 'counter mismatches', 'oracle violations', 's'],
    fuzz.programs.map((p) => {
      if (p.invalidVerdicts || p.invalidOutputs || p.counterMismatches || p.oracleViolations || p.inputs < p.requested) bad = true;
      return [p.program, p.inputs, p.rejected, Object.entries(p.verdicts).sort().map(([k, v]) => `${k} ${v}`).join(', '),
        p.invalidVerdicts, p.invalidOutputs, p.counterMismatches, p.oracleViolations, p.seconds];
    }),
  );
  for (const p of fuzz.programs) {
    console.log(`${p.program} outputs validated: ${Object.entries(p.validated).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
    for (const e of p.examples) console.log(`  ${e.kind} #${e.index} (${e.seed}): ${e.msg}\n    in:  ${e.input}\n    out: ${e.output}`);
  }
  console.log();
}

if (s.corpus) {
  console.log(`Malformed corpus: ${s.corpus.cases} cases, ${s.corpus.failures.length} failed${s.corpus.failures.length ? `: ${s.corpus.failures.join('; ')}` : ''}\n`);
  if (s.corpus.failures.length) bad = true;
} else {
  console.error('reliability summary: no corpus section');
  bad = true;
}

if (s.attacker) {
  console.log('Attacker namespace on the underlay');
  let sent = 0, wrong = 0, right = 0, lost = 0;
  table(
    ['category', 'frames sent', 'delivered where not allowed', 'counted under', 'right reason'],
    s.attacker.map((r) => {
      sent += r.sent;
      wrong += r.deliveredWhereNotAllowed;
      if (r.countedRight) right += r.sent;
      // categories whose frames are allowed to reach c1 must all arrive there
      if (r.deliveredC1 && r.deliveredC1 < r.sent - r.refusedAtSend) lost += r.sent - r.deliveredC1;
      if (r.deliveredWhereNotAllowed || !r.countedRight) bad = true;
      return [r.category, r.sent, r.deliveredWhereNotAllowed, Object.entries(r.counted).map(([k, v]) => `${k} +${v}`).join(', ') || '-', r.countedRight ? 'yes' : 'NO'];
    }),
  );
  console.log(`attacker frames: ${sent} sent, ${wrong} delivered where not allowed, ${right} counted under the right reason, ${lost} allowed packets lost\n`);
  if (lost) bad = true;
} else {
  console.error('reliability summary: no attacker section');
  bad = true;
}

// ---- hostile configs and commands, soak (test/reliability/hostile-config.test.ts, soak.test.ts) ----
if (s.hostile) {
  const h = s.hostile;
  console.log(`Hostile configs and commands (${h.profile} profile, seed ${h.seed}, XVTEP_HOSTILE_SEED): ${h.generated} generated ` +
    `(${h.generatedFiles} files, ${h.generatedCommands} command lines), ${h.run} run`);
  let changed = 0, failed = 0;
  table(
    ['kind', 'category', 'run', 'exit 1', 'exit 2', 'maps changed', 'failed'],
    Object.entries(h.byCategory).sort(([a], [b]) => a.localeCompare(b)).map(([k, c]) => {
      changed += c.mapsChanged;
      failed += c.failed;
      return [c.kind, k.slice(k.indexOf(': ') + 2), c.run, c.exit1, c.exit2, c.mapsChanged, c.failed];
    }),
  );
  const mf = h.mapFull ?? {};
  console.log(`running daemon: ${h.daemon.run} broken files reloaded, ${h.daemon.refusedAndReported} refused and reported in status, ${h.daemon.mapsChanged} changed the maps`);
  for (const p of h.daemon.problems ?? []) console.log(`  FAILED daemon reload ${p}`);
  console.log(`map filled during apply: ${mf.fillBefore ?? '?'}/${mf.capacity ?? '?'} FDB entries, +${mf.staticAdds ?? '?'} static: ` +
    `rolled back ${mf.rolledBack ? 'yes' : 'NO'}, reported ${mf.reported ? 'yes' : 'NO'}, traffic after ${mf.trafficAfter ? 'yes' : 'NO'}, live edit into the full map exit ${mf.liveEditRefused ?? '?'}`);
  for (const f of h.failures ?? []) console.log(`  FAILED ${f}`);
  console.log(`hostile cases: ${changed} changed the maps (must be 0), ${failed} failed (must be 0)\n`);
  if (changed || failed || h.daemon.run === 0 || h.daemon.refusedAndReported !== h.daemon.run || h.daemon.mapsChanged || !mf.rolledBack || !mf.reported || !mf.trafficAfter || mf.liveEditRefused !== 2) bad = true;
} else {
  console.error('reliability summary: no hostile section');
  bad = true;
}

if (s.soak) {
  const k = s.soak;
  const mb = (kb) => (kb / 1024).toFixed(1);
  console.log(`Soak (${k.profile} profile, seed ${k.seed}): ${k.seconds} s after ${k.warmupSeconds} s warm-up, ${k.updates} live updates (${k.cliEdits} by CLI), ${k.reloads} reloads`);
  table(['daemon', 'start', 'end', 'max', 'allowed'], [
    ['RSS (MB)', mb(k.rssKb.start), mb(k.rssKb.end), mb(k.rssKb.max), `end <= start + ${mb(k.rssKb.slack)}`],
    ['open fds', k.fds.start, k.fds.end, k.fds.max, 'end = start'],
  ]);
  table(['stream', 'sent', 'received', 'lost', 'duplicates'], k.streams.map((x) => [x.dir, x.sent, x.received, x.lost, x.duplicates]));
  const lost = k.streams.reduce((a, x) => a + x.lost + x.duplicates, 0);
  const fdGrowth = k.fds.end - k.fds.start;
  console.log(`soak must-be-zero: ${lost} lost or duplicated, ${k.logErrors} errors in the daemon log, ${fdGrowth} fds grown, ` +
    `${k.countersBackwards} counters went backwards (${k.counterSamples} samples); RSS grew ${mb(k.rssKb.end - k.rssKb.start)} MB\n`);
  if (lost || k.logErrors || fdGrowth || k.countersBackwards || k.rssKb.end > k.rssKb.start + k.rssKb.slack) bad = true;
} else {
  console.error('reliability summary: no soak section');
  bad = true;
}

if (fuzz) {
  const tot = (k) => fuzz.programs.reduce((a, p) => a + p[k], 0);
  console.log(`TOTAL: ${tot('inputs')} inputs tried, ${tot('invalidVerdicts')} invalid verdicts, ${tot('invalidOutputs')} invalid outputs, ` +
    `${tot('counterMismatches')} counter mismatches, ${tot('oracleViolations')} oracle violations`);
}
console.log(bad ? 'RELIABILITY: FAILED' : 'RELIABILITY: OK');
process.exit(bad ? 1 : 0);
