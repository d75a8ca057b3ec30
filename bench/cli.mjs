// The CLI at iproute2's pace (issue 19), side by side in one run, each command
// timed as a whole process, alternated round by round, medians:
//   node -e 0 | xvtep fdb replace | bridge fdb replace ... self permanent (kernel vxlan)
//   bridge -batch (10,000 fdb add) | xvtep -batch (10,000 fdb add) | xvtep -batch (100,000 fdb add)
// Targets: fdb replace <= 1.3x node -e 0; 10k batch <= 2x bridge -batch; 100k <= 2 s.
// Run as root after `make` (`make bench-cli`): node bench/cli.mjs [--runs=N]
// xvtep runs from the root namespace (its maps are pinned on a bpffs, and
// `dst` edits need no interface); the kernel vxlan lives in a lab namespace
// and bridge reaches it with -n. Everything is removed at the end, also on failure.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pairedRatio, summary } from './lib/stats.mjs';

if (process.getuid() !== 0) throw new Error('bench/cli.mjs needs root');
const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.split('=')[1] ?? 10);
const root = join(fileURLToPath(import.meta.url), '..', '..');
const BIN = join(root, 'bin', 'xvtep');
const tag = `xvbc${process.pid % 100000}`;
const nsA = `${tag}-a`, nsB = `${tag}-b`;
const bpffs = `/run/xvtep-bench-cli-${process.pid}`, pinDir = `${bpffs}/a`;
const tmp = mkdtempSync(join(tmpdir(), 'xvtep-bench-cli-'));

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...opts });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || '').trim()}`);
  return r;
}
const inNs = (ns, ...args) => sh('ip', ['netns', 'exec', ns, ...args]);

/** CPU time (user + system) of this process's waited-for children, ms (clock ticks: 10 ms steps). */
function childrenCpuMs() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * 10; // cutime, cstime (fields 16, 17) at 100 Hz
}

const cpu = {};
/** Wall time of one whole process, ms; it must exit 0. Its CPU time goes to cpu[key]. */
function timed(cmd, args, key) {
  const c = childrenCpuMs();
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr.trim()}`);
  if (key) (cpu[key] ??= []).push(childrenCpuMs() - c);
  return ms;
}

const mac = (i) => `02:${[(i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255, 0x42].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
const lines = (n, fn) => Array.from({ length: n }, (_, i) => fn(i)).join('\n') + '\n';

function setup() {
  sh('ip', ['netns', 'add', nsA]);
  sh('ip', ['netns', 'add', nsB]);
  sh('ip', ['link', 'add', 'ua', 'netns', nsA, 'type', 'veth', 'peer', 'name', 'ub', 'netns', nsB]);
  sh('ip', ['link', 'add', 'epa', 'netns', nsA, 'type', 'veth', 'peer', 'name', 'epb', 'netns', nsB]);
  inNs(nsA, 'ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'ua');
  inNs(nsB, 'ip', 'addr', 'add', '192.0.2.2/24', 'dev', 'ub');
  for (const [ns, i] of [[nsA, 'ua'], [nsA, 'epa'], [nsB, 'ub'], [nsB, 'epb']]) inNs(ns, 'ip', 'link', 'set', i, 'up');
  inNs(nsB, 'ip', 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'local', '192.0.2.2', 'dev', 'ub', 'nolearning');
  inNs(nsB, 'ip', 'link', 'set', 'vx0', 'up');
  mkdirSync(bpffs, { recursive: true, mode: 0o700 });
  sh('mount', ['-t', 'bpf', 'bpf', bpffs]);
  const cfg = join(tmp, 'xvtep.yaml');
  writeFileSync(cfg, `underlay: { interface: ua, address: 192.0.2.1 }\nvnis: [ { vni: 42, endpoints: [epa], peers: [192.0.2.2] } ]\n` +
    `capacity: { fdb: 262144 }\nmetrics: { enabled: false }\nstate: { pinDir: ${pinDir} }\n`);
  inNs(nsA, process.execPath, BIN, 'attach', '-c', cfg);
}

function teardown() {
  sh(process.execPath, [BIN, 'detach', '--pin-dir', pinDir], { allowFail: true });
  sh('umount', [bpffs], { allowFail: true });
  rmSync(bpffs, { recursive: true, force: true });
  for (const ns of [nsA, nsB]) sh('ip', ['netns', 'del', ns], { allowFail: true });
  rmSync(tmp, { recursive: true, force: true });
}

const results = {};
const add = (k, ms) => (results[k] ??= []).push(ms);
try {
  setup();
  const file = (name, text) => {
    const p = join(tmp, name);
    writeFileSync(p, text);
    return p;
  };
  const br10kAdd = file('br10k.add', lines(10_000, (i) => `fdb add ${mac(i)} dev vx0 dst 192.0.2.1 self permanent`));
  const br10kDel = file('br10k.del', lines(10_000, (i) => `fdb del ${mac(i)} dev vx0 self`));
  const xv10kAdd = file('xv10k.add', lines(10_000, (i) => `fdb add ${mac(i)} vni 42 dst 192.0.2.2`));
  const xv10kDel = file('xv10k.del', lines(10_000, (i) => `fdb del ${mac(i)} vni 42`));
  const xv100kAdd = file('xv100k.add', lines(100_000, (i) => `fdb add ${mac(i)} vni 42 dst 192.0.2.2`));
  const xv100kDel = file('xv100k.del', lines(100_000, (i) => `fdb del ${mac(i)} vni 42`));
  const xv = (...a) => [BIN, ...a, '--pin-dir', pinDir];

  const single = [
    ['node -e 0', (k) => timed(process.execPath, ['-e', '0'], k)],
    ['xvtep fdb replace', (k) => timed(process.execPath, xv('fdb', 'replace', '02:00:00:00:00:01', 'vni', '42', 'dst', '192.0.2.2'), k)],
    ['bridge fdb replace', (k) => timed('bridge', ['-n', nsB, 'fdb', 'replace', '02:00:00:00:00:01', 'dev', 'vx0', 'dst', '192.0.2.1', 'self', 'permanent'], k)],
  ];
  const batch = [
    ['bridge -batch 10k', (k) => {
      const ms = timed('bridge', ['-n', nsB, '-batch', br10kAdd], k);
      timed('bridge', ['-n', nsB, '-batch', br10kDel]);
      return ms;
    }],
    ['xvtep -batch 10k', (k) => {
      const ms = timed(process.execPath, xv('-batch', xv10kAdd), k);
      timed(process.execPath, xv('-batch', xv10kDel));
      return ms;
    }],
    ['xvtep -batch 100k', (k) => {
      const ms = timed(process.execPath, xv('-batch', xv100kAdd), k);
      timed(process.execPath, xv('-batch', xv100kDel));
      return ms;
    }],
  ];
  // warm-up: page cache, code cache, the first map writes
  for (const [, fn] of [...single, ...batch]) fn();
  for (let r = 0; r < runs; r++) {
    // alternate the order each round so no command always follows another
    for (const [k, fn] of r % 2 ? [...single].reverse() : single) add(k, fn(k));
    for (const [k, fn] of r % 2 ? [...batch].reverse() : batch) add(k, fn(k));
  }
} finally {
  teardown();
}

const cpuMed = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, summary(v).median]));
const med = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, summary(v)]));
const m = (k) => med[k].median;
const verdict = (ok) => (ok ? 'met' : 'NOT met');
const out = {
  date: new Date().toISOString(), runs, host: { kernel: release(), cpus: cpus().length, cpu: cpus()[0]?.model, loadavg: loadavg().map((x) => +x.toFixed(2)) },
  median_ms: Object.fromEntries(Object.entries(med).map(([k, s]) => [k, { median: +s.median.toFixed(1), min: +s.min.toFixed(1), max: +s.max.toFixed(1), n: s.n, cpu_median: cpuMed[k] }])),
  targets: {
    'fdb replace / node -e 0 <= 1.3': { ratio: +(m('xvtep fdb replace') / m('node -e 0')).toFixed(2), verdict: verdict(m('xvtep fdb replace') <= 1.3 * m('node -e 0')) },
    'xvtep -batch 10k / bridge -batch 10k <= 2': { ratio: +(m('xvtep -batch 10k') / m('bridge -batch 10k')).toFixed(2), verdict: verdict(m('xvtep -batch 10k') <= 2 * m('bridge -batch 10k')) },
    'xvtep -batch 100k <= 2000 ms': { ms: +m('xvtep -batch 100k').toFixed(0), verdict: verdict(m('xvtep -batch 100k') <= 2000) },
  },
  // the same ratios round by round (the two commands ran next to each other):
  // steadier than a ratio of medians when other work comes and goes
  paired_ratio_median: {
    'xvtep fdb replace / node -e 0': +pairedRatio(results['xvtep fdb replace'], results['node -e 0']).median.toFixed(2),
    'xvtep -batch 10k / bridge -batch 10k': +pairedRatio(results['xvtep -batch 10k'], results['bridge -batch 10k']).median.toFixed(2),
  },
};
const md = [
  `# bench/cli.mjs ${out.date} (${runs} runs; load average ${out.host.loadavg.join(' ')} on ${out.host.cpus} CPUs)`, '',
  '| command | median ms (wall) | min | max | median CPU ms (user+sys, 10 ms steps) |', '|---|---:|---:|---:|---:|',
  ...Object.entries(out.median_ms).map(([k, s]) => `| ${k} | ${s.median} | ${s.min} | ${s.max} | ${s.cpu_median} |`), '',
  ...Object.entries(out.targets).map(([k, v]) => `- ${k}: ${JSON.stringify(v)}`),
  ...Object.entries(out.paired_ratio_median).map(([k, v]) => `- paired ratio, median of rounds: ${k} = ${v}`), '',
].join('\n');
console.log(JSON.stringify(out, null, 2));
console.log(`\n${md}`);
// next to make bench's results, named so they never collide with them
const stamp = out.date.slice(0, 16).replace(/:/g, '-');
const base = join(root, 'bench', 'results', `cli-${stamp}`);
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(`${base}.json`, JSON.stringify(out, null, 2) + '\n');
writeFileSync(`${base}.md`, md);
console.error(`wrote ${base}.json and .md`);
