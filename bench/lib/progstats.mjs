// The kernel's run-time accounting of BPF programs (sysctl
// kernel.bpf_stats_enabled, read through Program.runStats()): time inside a
// program only, which the delivery of an XDP redirect is not part of. Stats
// cost every run of every program a clock read, so they are on only around
// the runs measured; the sysctl is put back as it was, also on exit.
import { readFileSync, writeFileSync } from 'node:fs';

const SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';
let saved; // the value to put back while ours is in force
process.on('exit', () => {
  if (saved !== undefined) writeFileSync(SYSCTL, saved);
});

/** ns per run inside `prog` over what `run()` (which runs it) does. */
export async function nsInProgram(prog, run) {
  saved = readFileSync(SYSCTL, 'utf8').trim();
  writeFileSync(SYSCTL, '1');
  try {
    const a = prog.runStats();
    await run();
    const b = prog.runStats();
    return (b.runTimeNs - a.runTimeNs) / (b.runCount - a.runCount);
  } finally {
    writeFileSync(SYSCTL, saved);
    saved = undefined;
  }
}

/** ns per run inside each of `progs` (one stats window for all) over what `run()` does. */
export async function nsInPrograms(progs, run) {
  saved = readFileSync(SYSCTL, 'utf8').trim();
  writeFileSync(SYSCTL, '1');
  try {
    const a = progs.map((p) => p.runStats());
    await run();
    return progs.map((p, i) => {
      const b = p.runStats();
      return (b.runTimeNs - a[i].runTimeNs) / (b.runCount - a[i].runCount);
    });
  } finally {
    writeFileSync(SYSCTL, saved);
    saved = undefined;
  }
}
