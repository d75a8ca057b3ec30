// Speed of the manager (issue 4): each target measured as the issue words it.
// Run as root after `make` (`make bench-manager` builds first):
//   node bench/manager.mjs [--quick] [--only=fdb,apply,daemon]
//   - apply a config of 100,000 FDB entries over 1,000 VNIs: parse + validate + reconcile (<= 1 s)
//   - `xvtep fdb add`: from the command's exit to the first packet its entry forwards (<= 5 ms)
//   - GET /metrics from `xvtep run` holding those entries, with 4,096 VNIs (<= 50 ms)
//   - RSS of that daemon, idle and after the scrapes and one reload (<= 100 MB)
// These are `make bench`'s manager rows (lib/manager.mjs measureManager) in the
// same lab (lib/topo.mjs: generator, VTEP host, sink, plus a namespace of N
// bridges as endpoints), without the data path scenarios; the table and the
// verdicts are report.mjs's. Every namespace and the private bpffs are removed
// at the end, also on failure.
import { cpus, release } from 'node:os';
import { T, buildLab, sinkOn, closeAll } from './lib/topo.mjs';
import { generators, frameSources } from './lib/gen.mjs';
import { innerFrame } from './lib/packets.mjs';
import { measureManager } from './lib/manager.mjs';
import { controlSection, errorsSection, targetsSection } from './lib/report.mjs';

if (process.getuid() !== 0) throw new Error('bench/manager.mjs needs root');
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const only = argv.find((a) => a.startsWith('--only='))?.split('=')[1]?.split(',');
const sizes = quick
  ? { vnis: 100, fdb: 100_000, scrapeVnis: 4096, scrapes: 20, addTrials: 3, idleWaitMs: 1000 }
  : { vnis: 1000, fdb: 100_000, scrapeVnis: 4096, scrapes: 30, addTrials: 5, idleWaitMs: 2000 };
const t0 = Date.now();
const log = (...a) => console.error(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s]`, ...a);

const R = {
  date: new Date().toISOString(), quick, host: { kernel: release(), cpus: cpus().length, cpu: cpus()[0]?.model },
  config: { mgr: sizes }, control: {}, pps: {}, cost: {}, tcp: {}, latency: {}, scaling: [], errors: [],
};
async function guarded(name, fn) {
  const part = { 'control manager fdb add': 'fdb', 'control manager apply': 'apply', 'control manager daemon': 'daemon' }[name];
  if (only && part && !only.includes(part)) return;
  try {
    await fn();
  } catch (e) {
    R.errors.push({ scenario: name, error: String(e?.stack ?? e) });
    log(`${name} failed: ${e?.message ?? e}`);
  }
}

const env = buildLab();
const closers = [];
try {
  const sinkS = await sinkOn(env.lab, env.sink, 's0');
  const sinkG = await sinkOn(env.lab, env.gen, 'g0');
  closers.push(() => sinkS.close(), () => sinkG.close());
  const { genProgram, liveRun } = generators(env.lab, closers);
  // kernels that refuse live frames: a paced AF_PACKET sender (bench/README.md "Without live frames")
  const { frameSource } = frameSources({
    env, genProgram, liveRun, probeFrame: innerFrame({ dmac: T.remote.mac, smac: T.sink.mac, src: T.sink.ip, dst: T.remote.ip }),
    onRefused: (e) => log(`live frames refused (${String(e?.message ?? e).split('\n')[0]}): a paced AF_PACKET sender instead`),
  });
  R.control.manager = await measureManager({ env, frameSource, sinkG, sinkS, sizes, log, guarded });
} finally {
  closeAll(closers);
  env.lab.destroy();
}
R.seconds = (Date.now() - t0) / 1000;
console.log(JSON.stringify(R.control.manager, null, 1));
console.log([
  `# xvtep manager benchmark — ${R.date}${quick ? ' (quick)' : ''}`, '',
  `Kernel ${R.host.kernel}, ${R.host.cpus} CPUs (${R.host.cpu}). Run took ${R.seconds.toFixed(0)} s.`, '',
  ...controlSection(R), ...targetsSection(R), ...errorsSection(R),
].join('\n'));
process.exitCode = R.errors.length ? 1 : 0;
