// Speed of the manager (issue 4). Run as root after `make`:  node bench/manager.mjs
//   - apply a config of 100,000 FDB entries over 1,000 VNIs (target <= 1 s)
//   - one `fdb add`: from the call to the entry being in the kernel map (<= 5 ms)
//   - one scrape with 4,096 VNIs (<= 50 ms)
//   - RSS of `xvtep run` holding 100,000 entries (<= 100 MB)
// It builds a throwaway netns (veth underlay + 1,000 bridge devices as endpoints (no dummy module here)) and a
// private bpffs, re-runs itself inside the netns, and removes both at the end.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const VNIS = 1000, FDB = 100_000, SCRAPE_VNIS = 4096;
const mac = (i) => `02:${[(i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255, 1].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

function bigConfig(pinDir, fdbCount, port) {
  const vnis = [];
  for (let v = 0; v < VNIS; v++) {
    const fdb = [];
    for (let i = 0; i < fdbCount / VNIS; i++) fdb.push({ mac: mac(v * 1000 + i), remote: `192.0.2.${2 + ((v + i) % 200)}` });
    vnis.push({ vni: 1000 + v, endpoints: [`ep${v}`], peers: ['192.0.2.2'], fdb });
  }
  return {
    underlay: { interface: 'ua', address: '192.0.2.1', mtu: 1500 },
    vnis,
    metrics: { enabled: port !== undefined, listen: `127.0.0.1:${port ?? 9469}` },
    state: { pinDir },
    capacity: { vnis: 4096, endpoints: 4096, fdb: 131072, peers: 16384 },
  };
}

async function inside(pinRoot, tmp) {
  const { parseConfig } = await import('../dist/config/index.js');
  const { openOrCreate, sizesOf, reconcileConfig, fdbSet, detachAll } = await import('../dist/reconcile/index.js');
  const { renderXvtepMetrics } = await import('../dist/metrics/collector.js');
  const { renderAll, processRegistry } = await import('../dist/metrics/server.js');
  const { Datapath } = await import('../dist/datapath/datapath.js');
  const { readState } = await import('../dist/reconcile/state.js');
  const out = {};

  if (process.env.XVTEP_BENCH_ONLY === 'rss') return daemonRss(pinRoot, tmp, out, detachAll);
  // 1. 100k FDB entries over 1000 VNIs
  const pinDir = join(pinRoot, 'apply');
  const empty = parseConfig(JSON.stringify(bigConfig(pinDir, 0)), 'empty.json');
  const full = bigConfig(pinDir, FDB);
  let t = process.hrtime.bigint();
  const text = JSON.stringify(full);
  const parsed = parseConfig(text, 'big.json');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors.slice(0, 3)));
  const validateMs = ms(t);
  t = process.hrtime.bigint();
  const { dp } = await openOrCreate(pinDir, sizesOf(parsed.config));
  const loadMs = ms(t);
  t = process.hrtime.bigint();
  reconcileConfig(dp, empty.config);
  const attachMs = ms(t);
  t = process.hrtime.bigint();
  const mem = (what) => { if (globalThis.gc && process.env.XVTEP_BENCH_ONLY) { globalThis.gc(); const m = process.memoryUsage(); console.error(`mem ${what}: rss ${Math.round(m.rss / 1048576)} MB heapUsed ${Math.round(m.heapUsed / 1048576)} MB`); } };
  mem('after parse (config held)');
  const r = reconcileConfig(dp, parsed.config);
  const applyMs = ms(t);
  mem('after apply');
  if (r.changes < FDB) throw new Error(`only ${r.changes} changes`);
  t = process.hrtime.bigint();
  const again = reconcileConfig(dp, parsed.config);
  const noopMs = ms(t);
  mem('after no-op reload');
  if (again.changes !== 0) throw new Error(`no-op reload changed ${again.changes}`);
  if (process.env.XVTEP_BENCH_ONLY === "apply") { console.log(JSON.stringify({ validateMs, applyMs, noopMs })); return; }
  out.apply100k = {
    target: '<= 1000 ms', fdbEntries: FDB, vnis: VNIS,
    parseAndValidateMs: +validateMs.toFixed(1),
    reconcileMs: +applyMs.toFixed(1), // read live maps + desired + diff + make-before-break apply
    noChangeReloadMs: +noopMs.toFixed(1),
    firstAttach1000EndpointsMs: +attachMs.toFixed(1), loadProgramsMs: +loadMs.toFixed(1),
  };

  // 2. one fdb add, call -> in the kernel map (read back through another fd)
  const other = Datapath.open(pinDir);
  const lat = [];
  for (let i = 0; i < 2000; i++) {
    const m = mac(900_000_000 + i);
    const t0 = process.hrtime.bigint();
    fdbSet(dp, 1000, m, { kind: 'remote', remote: '192.0.2.9' }, 'add');
    lat.push(ms(t0));
    if (!other.fdb.get(1000, m)) throw new Error('entry not visible');
  }
  out.fdbAdd = { target: '<= 5 ms', samples: lat.length, p50Ms: +median(lat).toFixed(4), p99Ms: +pct(lat, 0.99).toFixed(4), maxMs: +Math.max(...lat).toFixed(3) };
  other.close();

  // 3. scrape with 4096 VNIs (stats rows filled on every CPU)
  const sp = join(pinRoot, 'scrape');
  const { dp: sdp } = await openOrCreate(sp, { vnis: 4096 });
  const rows = [];
  for (let v = 1; v <= SCRAPE_VNIS; v++) {
    sdp.vnis.set(v, { learning: true, allowUnknownPeers: false, proxyArp: false, proxyNd: false, statsSlot: v });
    const s = sdp.readStats(v);
    s.rxPackets = v * 10; s.txPackets = v * 7; s.rxBytes = v * 1000; s.txBytes = v * 700; s.drop[1] = v % 3;
    rows.push([v, s]);
  }
  sdp.stats.updateBatch(rows);
  const reg = processRegistry();
  const src = { dp: () => sdp, pinDir: sp, maxVniSeries: () => 4096, version: 'bench' };
  const own = [], all = [];
  for (let i = 0; i < 30; i++) {
    let t0 = process.hrtime.bigint();
    const body = renderXvtepMetrics(sdp, { maxVniSeries: 4096, state: readState(sp), version: 'bench' });
    own.push(ms(t0));
    t0 = process.hrtime.bigint();
    await renderAll(src, reg);
    all.push(ms(t0));
    if (i === 0) out.scrape4096 = { bytes: body.length, lines: body.split('\n').length };
  }
  Object.assign(out.scrape4096, { target: '<= 50 ms', vnis: SCRAPE_VNIS, xvtepFamiliesMedianMs: +median(own).toFixed(1), wholeScrapeMedianMs: +median(all).toFixed(1), wholeScrapeP90Ms: +pct(all, 0.9).toFixed(1) });
  sdp.close();
  dp.close();
  detachAll(pinDir);
  detachAll(sp);

  await daemonRss(pinRoot, tmp, out, detachAll);
}

// 4. RSS of the daemon with 100k entries
async function daemonRss(pinRoot, tmp, out, detachAll) {
  const cfgPath = join(tmp, 'daemon.json');
  writeFileSync(cfgPath, JSON.stringify(bigConfig(join(pinRoot, 'daemon'), FDB, 19469)));
  const d = spawn(process.execPath, [...(process.env.XVTEP_DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean), join(root, 'bin', 'xvtep'), 'run', '-c', cfgPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  d.stderr.on('data', (b) => (log += b));
  const t0 = Date.now();
  while (!log.includes('ready')) {
    if (d.exitCode !== null || Date.now() - t0 > 120_000) throw new Error(`daemon: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const startupMs = Date.now() - t0;
  const rss = () => Object.fromEntries(readFileSync(`/proc/${d.pid}/status`, 'utf8').split('\n').filter((l) => /^Vm(RSS|HWM)/.test(l)).map((l) => [l.split(':')[0], Math.round(parseInt(l.split(':')[1]) / 1024)]));
  await new Promise((r) => setTimeout(r, 2000));
  const idle = rss();
  await fetch('http://127.0.0.1:19469/metrics').then((x) => x.text());
  d.kill('SIGHUP');
  await new Promise((r) => setTimeout(r, 4000));
  const afterReload = rss();
  d.kill('SIGTERM');
  await new Promise((r) => d.once('exit', r));
  if (process.env.XVTEP_TIMING) console.error(log);
  detachAll(join(pinRoot, 'daemon'));
  out.daemonRss100k = { target: '<= 100 MB', startupMs, rssIdleMB: idle.VmRSS, rssAfterScrapeAndReloadMB: afterReload.VmRSS, peakMB: afterReload.VmHWM };
  console.log(JSON.stringify(out, null, 2));
}

async function outside() {
  if (process.getuid() !== 0) throw new Error('bench/manager.mjs needs root');
  const ns = `xvbench${process.pid}`;
  const pinRoot = `/run/xvtep-bench-${process.pid}`;
  const tmp = `/tmp/xvtep-bench-${process.pid}`;
  const sh = (...a) => execFileSync(a[0], a.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    sh('ip', 'netns', 'add', ns);
    sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    sh('ip', '-n', ns, 'link', 'add', 'ua', 'type', 'veth', 'peer', 'name', 'ub');
    sh('ip', '-n', ns, 'addr', 'add', '192.0.2.1/24', 'dev', 'ua');
    mkdirSync(tmp, { recursive: true });
    const batch = [];
    for (let v = 0; v < VNIS; v++) batch.push(`link add ep${v} type bridge`, `link set ep${v} up`);
    batch.push('link set ua up', 'link set ub up');
    writeFileSync(join(tmp, 'links'), batch.join('\n') + '\n');
    sh('ip', '-n', ns, '-batch', join(tmp, 'links'));
    mkdirSync(pinRoot, { recursive: true });
    sh('mount', '-t', 'bpf', 'bpf', pinRoot);
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, ...(process.env.XVTEP_BENCH_ONLY ? ['--expose-gc'] : []), ...(process.env.XVTEP_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/xvprof'] : []), fileURLToPath(import.meta.url), '--inside', pinRoot, tmp], { stdio: 'inherit' });
    process.exitCode = r.status ?? 2;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('umount', [pinRoot]);
    rmSync(pinRoot, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--inside') await inside(process.argv[3], process.argv[4]);
else await outside();
