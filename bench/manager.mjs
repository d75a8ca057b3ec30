// Speed of the manager (issue 4). Run as root after `make`:  node bench/manager.mjs
//   - apply a config of 100,000 FDB entries over 1,000 VNIs (target <= 1 s)
//   - one `fdb add`: from the call to the entry being in the kernel map (<= 5 ms)
//   - one scrape with 4,096 VNIs (<= 50 ms)
//   - RSS of `xvtep run` holding 100,000 entries (<= 100 MB)
// It builds a throwaway netns (veth underlay + 1,000 bridge devices as endpoints (no dummy module here)) and a
// private bpffs, re-runs itself inside the netns, and removes both at the end.
// The measurements themselves live in lib/manager.mjs (shared with run.mjs's control-plane scenario).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureApply, measureFdbSet, measureRender, measureDaemon, nsLinkLines, mountBpffs } from './lib/manager.mjs';

const VNIS = 1000, FDB = 100_000, SCRAPE_VNIS = 4096;

async function inside(pinRoot, tmp) {
  const { detachAll } = await import('../dist/reconcile/index.js');
  const out = {};
  const daemon = async () => {
    const r = await measureDaemon(join(pinRoot, 'daemon'), tmp, { vnis: VNIS, fdb: FDB });
    out.daemonRss100k = r.daemon;
    console.log(JSON.stringify(out, null, 2));
  };
  if (process.env.XVTEP_BENCH_ONLY === 'rss') return daemon();
  // 1. 100k FDB entries over 1000 VNIs
  const pinDir = join(pinRoot, 'apply');
  const mem = (what) => { if (globalThis.gc && process.env.XVTEP_BENCH_ONLY) { globalThis.gc(); const m = process.memoryUsage(); console.error(`mem ${what}: rss ${Math.round(m.rss / 1048576)} MB heapUsed ${Math.round(m.heapUsed / 1048576)} MB`); } };
  const { result, dp } = await measureApply(pinDir, { vnis: VNIS, fdb: FDB, mem });
  if (process.env.XVTEP_BENCH_ONLY === 'apply') { console.log(JSON.stringify({ validateMs: result.parseAndValidateMs, applyMs: result.reconcileMs, noopMs: result.noChangeReloadMs })); return; }
  out.apply100k = result;
  // 2. one fdb add, call -> in the kernel map (read back through another fd)
  out.fdbAdd = await measureFdbSet(dp, pinDir);
  // 3. scrape with 4096 VNIs (stats rows filled on every CPU), rendered in-process
  out.scrape4096 = await measureRender(join(pinRoot, 'scrape'), SCRAPE_VNIS);
  dp.close();
  detachAll(pinDir);
  detachAll(join(pinRoot, 'scrape'));
  // 4. RSS of the daemon with 100k entries
  await daemon();
}

async function outside() {
  if (process.getuid() !== 0) throw new Error('bench/manager.mjs needs root');
  const ns = `xvbench${process.pid}`;
  const pinRoot = `/run/xvtep-bench-${process.pid}`;
  const tmp = `/tmp/xvtep-bench-${process.pid}`;
  const sh = (...a) => execFileSync(a[0], a.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
  let unmount = () => {};
  try {
    sh('ip', 'netns', 'add', ns);
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'links'), nsLinkLines(VNIS).join('\n') + '\n');
    sh('ip', '-n', ns, '-batch', join(tmp, 'links'));
    unmount = mountBpffs(pinRoot);
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, ...(process.env.XVTEP_BENCH_ONLY ? ['--expose-gc'] : []), ...(process.env.XVTEP_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/xvprof'] : []), fileURLToPath(import.meta.url), '--inside', pinRoot, tmp], { stdio: 'inherit' });
    process.exitCode = r.status ?? 2;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    unmount();
    rmSync(pinRoot, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--inside') await inside(process.argv[3], process.argv[4]);
else await outside();
