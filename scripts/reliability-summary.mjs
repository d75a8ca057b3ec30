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

// Loss and continuity (test/reliability/continuity.test.ts): one row per
// scenario; every stream must lose, duplicate and reorder nothing, counters
// never go backwards, and the lab's programs, links and pins are the same
// afterwards.
const CONTINUITY_SCENARIOS = ['hot updates', 'reloads', 'SIGKILL restarts'];
let continuityTotal;
if (s.continuity) {
  const c = s.continuity;
  console.log(`Loss and continuity — profile ${c.profile} (XVTEP_RELIABILITY), ${c.pps} datagrams/s each way, seed ${c.seed}`);
  const dir = (d) => (d ? `${d.sent}/${d.received}/${d.lost}/${d.duplicated}` : 'no result');
  const cnt = (k) => (r) => `${r.census.before[k]}/${r.census.after ? r.census.after[k] : '?'}`;
  const t = { updates: 0, reloads: 0, restarts: 0, lost: 0 };
  table(
    ['scenario', 'updates (unrelated / same entry / CLI)', 'reloads', 'restarts', 'c→b sent/recv/lost/dup', 'b→c sent/recv/lost/dup',
      'out of order', 'counters back', 'progs', 'links', 'pins', 'leaks', 's'],
    c.scenarios.map((r) => {
      const dirs = [r.up, r.down];
      const lost = dirs.reduce((a, d) => a + (d ? d.lost : 0), 0); // sent - received: includes the missing ones
      const leaked = r.census.leaks.length;
      if (r.error || dirs.some((d) => !d || d.lost || d.missing || d.duplicated || d.outOfOrder) || !r.counters || r.counters.backwards.length || leaked || !r.census.after) bad = true;
      t.updates += r.updates.unrelated + r.updates.sameEntry + r.updates.viaCli;
      t.reloads += r.reloads;
      t.restarts += r.restarts;
      t.lost += lost;
      return [r.scenario, `${r.updates.unrelated} / ${r.updates.sameEntry} / ${r.updates.viaCli}`, r.reloads, r.restarts, dir(r.up), dir(r.down),
        dirs.map((d) => (d ? d.outOfOrder : '?')).join('/'), r.counters ? r.counters.backwards.length : '?', cnt('programs')(r), cnt('links')(r), cnt('pins')(r), leaked, r.seconds];
    }),
  );
  for (const r of c.scenarios) {
    if (r.error) console.log(`${r.scenario}: FAILED: ${r.error.split('\n')[0]}`);
    for (const x of r.census.leaks) console.log(`${r.scenario}: leak: ${x}`);
    for (const b of r.counters?.backwards ?? []) console.log(`${r.scenario}: counter went backwards: ${b}`);
  }
  const missing = CONTINUITY_SCENARIOS.filter((n) => !c.scenarios.some((r) => r.scenario === n));
  if (missing.length) {
    console.error(`reliability summary: continuity scenarios missing: ${missing.join(', ')}`);
    bad = true;
  }
  continuityTotal = `${t.updates} updates done, ${t.reloads} reloads, ${t.restarts} restarts, ${t.lost} packets lost`;
  console.log(`continuity: ${continuityTotal}\n`);
} else {
  console.error('reliability summary: no continuity section');
  bad = true;
}

// Issue #6 continuity: endpoint delete/re-create and underlay next hop changes
// (test/reliability/endpoint-recreate.test.ts, underlay-change.test.ts).
{
  const e = s.endpointRecreate;
  if (e) {
    console.log('Endpoint interface deleted and re-created under xvtep run');
    const ok = e.detectMs < e.bounds.detectMs && e.reattachMs < e.bounds.reattachMs && e.resumeAfterRecreateMs < e.bounds.reattachMs && e.otherEndpointLost === 0;
    if (!ok) bad = true;
    table(
      ['gone detected (ms)', 're-attached after re-create (ms)', 'traffic back after re-create (ms)', 'other endpoint lost', 'bounds (ms)', 'ok'],
      [[e.detectMs, e.reattachMs, e.resumeAfterRecreateMs, e.otherEndpointLost, `${e.bounds.detectMs} / ${e.bounds.reattachMs}`, ok ? 'yes' : 'NO']],
    );
  } else {
    console.error('reliability summary: no endpointRecreate section');
    bad = true;
  }
  const u = s.underlayChange;
  if (u) {
    console.log(`Underlay next hop changes mid-stream (${u.pps} datagrams/s each way; forwarding must resume within ${u.boundMs} ms)`);
    const streams = u.scenarios.filter((r) => r.nextHopManagedMs === undefined);
    const quiet = u.scenarios.filter((r) => r.nextHopManagedMs !== undefined);
    table(
      ['scenario', 'direction', 'lost', 'lost (ms)', 'longest gap (ms)', 'received', 'ok'],
      streams.map((r) => {
        const ok = r.lostMs < u.boundMs && r.maxGapMs < u.boundMs && r.received > 3 * u.pps;
        if (!ok) bad = true;
        return [r.scenario, r.direction, r.lost, r.lostMs, r.maxGapMs, r.received, ok ? 'yes' : 'NO'];
      }),
    );
    for (const r of quiet) {
      const ok = r.nextHopManagedMs < 3 * u.boundMs;
      if (!ok) bad = true;
      console.log(`${r.scenario}: new next hop made a managed neighbour ${r.nextHopManagedMs} ms after the route change${ok ? '' : ' (over the bound)'}`);
    }
    // 3 stream scenarios x 2 directions + the quiet one; fewer means a test stopped early
    if (streams.length < 6 || quiet.length < 1) {
      console.error(`reliability summary: underlayChange has ${streams.length} stream rows and ${quiet.length} quiet rows, expected 6 and 1`);
      bad = true;
    }
    console.log();
  } else {
    console.error('reliability summary: no underlayChange section');
    bad = true;
  }
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

// The faults whose tests assert their own bounds (the learn flood, the
// underlay and the daemon's faults, issue #15): printed as their tests
// recorded them; a section is missing only when its test did not run.
const FAULTS = { 'learn-flood': 'learn flood (1,000,000 random source MACs)', 'underlay-watch': 'underlay under xvtep run',
  'apply-kill': 'apply child SIGKILLed mid-apply', 'state-full': 'state directory full during reloads', 'bpffs-gone': 'bpffs unmounted under xvtep run' };
for (const [key, title] of Object.entries(FAULTS)) {
  const rows = s[key];
  if (!Array.isArray(rows) || rows.length === 0) {
    console.error(`reliability summary: no ${key} section`);
    bad = true;
    continue;
  }
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  console.log(`Fault: ${title}`);
  table(cols, rows.map((r) => cols.map((c) => (r[c] === undefined || r[c] === null ? '-' : typeof r[c] === 'object' ? JSON.stringify(r[c]) : r[c]))));
}

const totals = [];
if (fuzz) {
  const tot = (k) => fuzz.programs.reduce((a, p) => a + p[k], 0);
  totals.push(`${tot('inputs')} inputs tried, ${tot('invalidVerdicts')} invalid verdicts, ${tot('invalidOutputs')} invalid outputs, ` +
    `${tot('counterMismatches')} counter mismatches, ${tot('oracleViolations')} oracle violations`);
}
if (continuityTotal) totals.push(continuityTotal);
if (s.hostile) totals.push(`${s.hostile.run} hostile configs/commands run`);
if (s.soak) totals.push(`soak ${s.soak.seconds} s with ${s.soak.updates} updates and ${s.soak.reloads} reloads`);
if (totals.length) console.log(`TOTAL: ${totals.join('; ')}`);
console.log(bad ? 'RELIABILITY: FAILED' : 'RELIABILITY: OK');
process.exit(bad ? 1 : 0);
