// Manager-level measurements (issue 4's targets), shared by bench/manager.mjs
// (`make bench-manager`) and the control-plane scenario of bench/run.mjs:
// measureManager() runs them all. The functions marked "in the netns" must
// run in the namespace that holds the interfaces (ifindex resolution, sysfs,
// the daemon's 127.0.0.1 listener): runInNetns() re-runs this file there,
//   ip netns exec NS node bench/lib/manager.mjs '{"what":"apply"|"daemon", ...}'
// which prints one JSON result on stdout.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const XVTEP = join(root, 'bin', 'xvtep');
export const mac = (i) => `02:${[(i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255, 1].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
export const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const sleep = (t) => new Promise((r) => setTimeout(r, t));

/** `fdb` static entries over `vnis` VNIs, each VNI with endpoint ep<i> (see nsLinkLines) and underlay ua. */
export function bigConfig(pinDir, { vnis = 1000, fdb = 100_000, port } = {}) {
  const out = [];
  for (let v = 0; v < vnis; v++) {
    const entries = [];
    for (let i = 0; i < fdb / vnis; i++) entries.push({ mac: mac(v * 1000 + i), remote: `192.0.2.${2 + ((v + i) % 200)}` });
    out.push({ vni: 1000 + v, endpoints: [`ep${v}`], peers: ['192.0.2.2'], fdb: entries });
  }
  return {
    underlay: { interface: 'ua', address: '192.0.2.1', mtu: 1500 },
    vnis: out,
    metrics: { enabled: port !== undefined, listen: `127.0.0.1:${port ?? 9469}` },
    state: { pinDir },
    capacity: { vnis: 4096, endpoints: 4096, fdb: 131072, peers: 16384 },
  };
}

/** `ip -batch` lines for the manager namespace: veth ua/ub (192.0.2.1) + n bridges ep0.. as endpoints (no dummy module here). */
export function nsLinkLines(n) {
  const l = ['link set lo up', 'link add ua type veth peer name ub', 'addr add 192.0.2.1/24 dev ua'];
  for (let v = 0; v < n; v++) l.push(`link add ep${v} type bridge`, `link set ep${v} up`);
  l.push('link set ua up', 'link set ub up');
  return l;
}

/** A private bpffs at dir (ip netns exec remounts /sys); returns the undo. */
export function mountBpffs(dir) {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'bpf', 'bpf', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount bpffs ${dir}: ${r.stderr.trim()}`);
  return () => {
    spawnSync('umount', [dir]);
    spawnSync('rmdir', [dir]);
  };
}

/**
 * In the netns. Applies bigConfig through the manager (parseConfig + reconcileConfig):
 * first attach with no FDB (endpoints, programs), then the full file (timed), then a no-op reload.
 * Returns { result, dp } (dp still open, pins left in place).
 */
export async function measureApply(pinDir, { vnis, fdb, noop = true, mem = () => {} }) {
  const { parseConfig } = await import('../../dist/config/parser.js');
  const { openOrCreate, sizesOf, reconcileConfig } = await import('../../dist/reconcile/index.js');
  const empty = parseConfig(JSON.stringify(bigConfig(pinDir, { vnis, fdb: 0 })), 'empty.json');
  const full = bigConfig(pinDir, { vnis, fdb });
  let t = process.hrtime.bigint();
  const parsed = parseConfig(JSON.stringify(full), 'big.json');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors.slice(0, 3)));
  const validateMs = ms(t);
  t = process.hrtime.bigint();
  const { dp } = await openOrCreate(pinDir, sizesOf(parsed.config));
  const loadMs = ms(t);
  t = process.hrtime.bigint();
  reconcileConfig(dp, empty.config);
  const attachMs = ms(t);
  mem('after parse (config held)');
  t = process.hrtime.bigint();
  const r = reconcileConfig(dp, parsed.config);
  const applyMs = ms(t);
  mem('after apply');
  if (r.changes < fdb) throw new Error(`only ${r.changes} changes`);
  let noopMs = null;
  if (noop) {
    t = process.hrtime.bigint();
    const again = reconcileConfig(dp, parsed.config);
    noopMs = ms(t);
    mem('after no-op reload');
    if (again.changes !== 0) throw new Error(`no-op reload changed ${again.changes}`);
  }
  const result = {
    target: '<= 1000 ms', fdbEntries: fdb, vnis,
    parseAndValidateMs: +validateMs.toFixed(1),
    reconcileMs: +applyMs.toFixed(1), // read live maps + desired + diff + make-before-break apply
    totalMs: +(validateMs + applyMs).toFixed(1),
    noChangeReloadMs: noopMs === null ? null : +noopMs.toFixed(1),
    [`firstAttach${vnis}EndpointsMs`]: +attachMs.toFixed(1), loadProgramsMs: +loadMs.toFixed(1),
  };
  return { result, dp };
}

/** Adds VNIs (with filled stats rows on free slots) to a pinned data path until it holds `total`. */
export function injectVnis(dp, total, firstVni = 200_000) {
  const live = dp.vnis.list();
  const used = new Set([...live.values()].map((s) => s.statsSlot));
  const cap = dp.vnis.map.info.maxEntries;
  const rows = [];
  let slot = 1, vni = firstVni, added = 0;
  while (live.size + added < total) {
    while (used.has(slot)) slot++;
    if (slot > cap) throw new Error(`no stats slot left for ${total} VNIs`);
    dp.vnis.set(vni, { learning: true, allowUnknownPeers: false, proxyArp: false, proxyNd: false, statsSlot: slot });
    const s = dp.readStats(slot);
    s.rxPackets = vni * 10; s.txPackets = vni * 7; s.rxBytes = vni * 1000; s.txBytes = vni * 700; s.drop[1] = vni % 3;
    rows.push([slot, s]);
    used.add(slot);
    vni++;
    added++;
  }
  if (rows.length) dp.stats.updateBatch(rows);
  return added;
}

/**
 * In the netns. `xvtep run` on bigConfig (pinDir may already hold it: the daemon adopts),
 * RSS idle; then optionally VNIs injected up to scrapeVnis and `scrapes` timed GET /metrics;
 * SIGHUP (the reload also removes the injected VNIs), RSS after the reload.
 */
export async function measureDaemon(pinDir, tmp, { vnis, fdb, port = 19469, scrapeVnis = 0, scrapes = 1, idleWaitMs = 2000, detach = true }) {
  const { openPinned, detachAll } = await import('../../dist/reconcile/index.js');
  mkdirSync(tmp, { recursive: true });
  const cfgPath = join(tmp, 'daemon.json');
  writeFileSync(cfgPath, JSON.stringify(bigConfig(pinDir, { vnis, fdb, port })));
  const d = spawn(process.execPath, [...(process.env.XVTEP_DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean), XVTEP, 'run', '-c', cfgPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  d.stderr.on('data', (b) => (log += b));
  const waitFor = async (re, what, limit = 120_000) => {
    const t0 = Date.now();
    while (!re.test(log)) {
      if (d.exitCode !== null || Date.now() - t0 > limit) throw new Error(`daemon (${what}): ${log}`);
      await sleep(20);
    }
  };
  try {
    const t0 = Date.now();
    await waitFor(/xvtep: ready/, 'ready');
    const startupMs = Date.now() - t0;
    const rss = () => Object.fromEntries(readFileSync(`/proc/${d.pid}/status`, 'utf8').split('\n').filter((l) => /^Vm(RSS|HWM)/.test(l)).map((l) => [l.split(':')[0], Math.round(parseInt(l.split(':')[1]) / 1024)]));
    await sleep(idleWaitMs);
    const idle = rss();
    const url = `http://127.0.0.1:${port}/metrics`;
    let scrape = null;
    if (scrapeVnis) {
      const dp = openPinned(pinDir);
      try {
        injectVnis(dp, scrapeVnis);
        const total = dp.vnis.list().size;
        if (total !== scrapeVnis) throw new Error(`${total} VNIs, not ${scrapeVnis}`);
      } finally {
        dp.close();
      }
    }
    const times = [];
    let bytes = 0, vniSeries = 0;
    for (let i = 0; i <= scrapes; i++) { // the first one warms up and is not counted
      const a = process.hrtime.bigint();
      const res = await fetch(url);
      const body = await res.text();
      if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`);
      if (i > 0) times.push(ms(a));
      else {
        bytes = body.length;
        vniSeries = new Set(body.match(/^xvtep_vni_receive_packets_total\{vni="[^"]+"/gm) ?? []).size;
      }
    }
    if (scrapeVnis) scrape = { target: '<= 50 ms', vnis: scrapeVnis, vniSeries, bytes, scrapes: times.length, medianMs: +median(times).toFixed(1), p90Ms: +pct(times, 0.9).toFixed(1), maxMs: +Math.max(...times).toFixed(1) };
    const afterScrapes = rss();
    const hups = (log.match(/reload \(SIGHUP\)/g) ?? []).length;
    const h0 = Date.now();
    d.kill('SIGHUP');
    const t1 = Date.now();
    while ((log.match(/reload \(SIGHUP\)/g) ?? []).length === hups) {
      if (d.exitCode !== null || Date.now() - t1 > 60_000) throw new Error(`daemon (reload): ${log}`);
      await sleep(20);
    }
    const reloadMs = Date.now() - h0;
    await sleep(1000);
    const afterReload = rss();
    return {
      daemon: { target: '<= 100 MB', fdbEntries: fdb, vnis, startupMs, reloadMs, reloadLine: log.match(/reload \(SIGHUP\)[^\n]*/)?.[0], rssIdleMB: idle.VmRSS, rssAfterScrapesMB: afterScrapes.VmRSS, rssAfterScrapeAndReloadMB: afterReload.VmRSS, peakMB: afterReload.VmHWM },
      scrape,
    };
  } finally {
    if (d.exitCode === null) {
      d.kill('SIGTERM');
      await new Promise((r) => d.once('exit', r));
    }
    if (process.env.XVTEP_TIMING) console.error(log);
    if (detach) detachAll(pinDir);
  }
}

const summaryMedian = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return v.length ? (v.length & 1 ? v[v.length >> 1] : (v[(v.length >> 1) - 1] + v[v.length >> 1]) / 2) : null;
};

/**
 * The manager-level targets of issue 4, as `make bench` (section 6b) and
 * `make bench-manager` both measure them:
 *  (a) in the topo lab's VTEP namespace, `xvtep attach` of its VNI without
 *      peers (no flood list), then `xvtep fdb add MAC ...` as a CLI process
 *      while the generator sends to MAC: when the first packet reaches the
 *      sink, relative to the command's exit (negative: forwarding before the
 *      command returned) and to its start; the same command failing at once
 *      (unknown VNI) gives the CLI's start-up floor;
 *  (b) in a namespace of its own (veth + N bridges as endpoints): parseConfig +
 *      reconcileConfig of N FDB entries over M VNIs;
 *  (c) `xvtep run` adopting those pins: RSS idle, VNIs added up to 4,096,
 *      timed GET /metrics, SIGHUP, RSS after.
 * env: buildLab()'s; frameSource(frame, n): bench/run.mjs's (live frames, or
 * a paced AF_PACKET sender where the kernel refuses them); sinkG/sinkS:
 * sinkOn() of g0/s0.
 */
export async function measureManager({ env, frameSource, sinkG, sinkS, sizes, log, guarded }) {
  const { T } = await import('./topo.mjs');
  const { innerFrame } = await import('./packets.mjs');
  const { openPinned, detachAll } = await import('../../dist/reconcile/index.js');
  const { lab } = env;
  const bpfRoot = `/run/xvtb${process.pid}-bpf`;
  const unmount = mountBpffs(bpfRoot);
  process.once('exit', unmount); // also on SIGINT/SIGTERM (lab.mjs exits)
  const stateDir = `/tmp/xvtb${process.pid}-state`;
  const env0 = { XVTEP_STATE_DIR: stateDir };
  const M = { sizes };
  try {
    // (a) `xvtep fdb add` in the VTEP ns -> first packet forwarded by the entry
    await guarded('control manager fdb add', async () => {
      sinkG.attach();
      sinkS.attach();
      const pinDir = `${bpfRoot}/lab`;
      const cfg = `${stateDir}/lab.json`;
      mkdirSync(stateDir, { recursive: true });
      // no peers: no flood list, so the unknown MAC reaches nothing until its entry exists
      writeFileSync(cfg, JSON.stringify({
        underlay: { interface: T.uly.if, address: T.uly.ip, mtu: 1500 },
        vnis: [{ vni: T.vni, endpoints: [T.ep.if], peers: [], fdb: [{ mac: T.sink.mac, endpoint: T.ep.if }, { mac: T.remote.mac, remote: T.gen.ip }] }],
        metrics: { enabled: false }, state: { pinDir },
      }));
      const xv = (...a) => ['netns', 'exec', env.vtep, process.execPath, XVTEP, ...a];
      const att = spawnSync('ip', xv('attach', '-c', cfg), { encoding: 'utf8', env: { ...process.env, ...env0 }, timeout: 60_000 });
      if (att.status !== 0) throw new Error(`xvtep attach: ${att.stderr.trim()}`);
      const X = '02:b2:00:00:00:02';
      const frame = innerFrame({ dmac: X, smac: '02:b0:00:00:02:00', src: T.sink.ip, dst: T.remote.ip });
      const mdp = openPinned(pinDir);
      const trials = [];
      try {
        // Node + CLI start-up floor: the same command that fails at once (unknown VNI)
        const floor = [];
        for (let i = 0; i < 3; i++) {
          const a = process.hrtime.bigint();
          spawnSync('ip', xv('fdb', 'add', X, 'vni', '99', 'dst', T.gen.ip, '--pin-dir', pinDir), { env: { ...process.env, ...env0 } });
          floor.push(Number(process.hrtime.bigint() - a) / 1e6);
        }
        M.cliFailFastMs = floor;
        for (let r = 0; r < sizes.addTrials; r++) {
          mdp.fdb.delete(T.vni, X);
          // live frames: 3M back to back; else a frame every ~50 µs for ≤ 2 s (the CLI takes ~0.3 s)
          const src = await frameSource(frame, 3_000_000);
          let genDone = false;
          src.done.then(() => (genDone = true), () => (genDone = true));
          await src.ready;
          await sleep(150);
          const base = sinkG.packets();
          await sleep(50);
          const leaked = sinkG.packets() - base;
          const a = process.hrtime.bigint();
          const child = spawn('ip', xv('fdb', 'add', X, 'vni', String(T.vni), 'dst', T.gen.ip, '--pin-dir', pinDir), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env0 } });
          let exitAt = 0n, code = null, err = '', atExit = 0;
          child.stderr.on('data', (b) => (err += b));
          // The sink's count as the exit is seen: a 1 ms poll can be late by more than that on a busy machine.
          const exited = new Promise((res) => child.once('exit', (c) => { exitAt = process.hrtime.bigint(); atExit = sinkG.packets(); code = c; res(); }));
          let c = 0n;
          const until = Date.now() + 5000;
          while (Date.now() < until && !genDone) {
            if (sinkG.packets() > base + leaked) {
              c = process.hrtime.bigint();
              break;
            }
            await sleep(1); // yields: the CLI child and the generator thread need the 2 CPUs (~1 ms resolution)
          }
          await exited;
          src.stop();
          const sent = await src.done;
          if (code !== 0) throw new Error(`xvtep fdb add: exit ${code}: ${err.trim()}`);
          if (atExit > base + leaked && (!c || c > exitAt)) c = exitAt; // forwarding by the time the exit was seen
          // both from the command's start: firstPacketMs - cliExitMs < 0 means forwarding before it returned
          trials.push({ firstPacketMs: c ? Number(c - a) / 1e6 : null, cliExitMs: Number(exitAt - a) / 1e6, leakedBefore: leaked, generatorEndedFirst: !c && genDone,
            ...(src.kind === 'paced' ? { source: 'paced', intervalUs: sent.intervalUs, meanGapUs: sent.meanGapUs, maxGapUs: sent.maxGapUs } : { source: 'live' }) });
        }
      } finally {
        mdp.close();
        M.addToFirstPacket = trials;
        spawnSync('ip', xv('detach', '--pin-dir', pinDir), { env: { ...process.env, ...env0 }, timeout: 30_000 });
      }
      log(`control manager: xvtep fdb add: exit -> first packet ${summaryMedian(trials.map((x) => (x.firstPacketMs === null ? NaN : x.firstPacketMs - x.cliExitMs)))?.toFixed(1)} ms, ` +
        `start -> first packet ${summaryMedian(trials.map((x) => x.firstPacketMs))?.toFixed(1)} ms (CLI fail-fast floor ${summaryMedian(M.cliFailFastMs)?.toFixed(1)} ms)`);
    });
    // (b) apply, (c) daemon RSS + scrape: a namespace of their own (ua + N bridges as endpoints)
    const mns = lab.host('mgr');
    lab.batch(mns, nsLinkLines(sizes.vnis).slice(1));
    const pinDir = `${bpfRoot}/mgr`;
    await guarded('control manager apply', async () => {
      M.apply = runInNetns(mns, { what: 'apply', pinDir, vnis: sizes.vnis, fdb: sizes.fdb }, { env: env0 });
      log(`control manager: apply ${sizes.fdb} FDB / ${sizes.vnis} VNIs: parse+validate ${M.apply.parseAndValidateMs} ms + reconcile ${M.apply.reconcileMs} ms`);
    });
    await guarded('control manager daemon', async () => {
      // adopts what apply left pinned (no re-attach of the endpoints)
      const r = runInNetns(mns, { what: 'daemon', pinDir, tmp: stateDir, vnis: sizes.vnis, fdb: sizes.fdb, scrapeVnis: sizes.scrapeVnis, scrapes: sizes.scrapes, idleWaitMs: sizes.idleWaitMs }, { env: env0 });
      M.daemon = r.daemon;
      M.scrape = r.scrape;
      log(`control manager: scrape ${r.scrape?.vnis} VNIs median ${r.scrape?.medianMs} ms, daemon RSS idle ${r.daemon.rssIdleMB} MB, after reload ${r.daemon.rssAfterScrapeAndReloadMB} MB`);
    });
    try { detachAll(pinDir); } catch { /* nothing attached */ }
  } finally {
    unmount();
    rmSync(stateDir, { recursive: true, force: true });
  }
  return M;
}

/** Runs this file under `ip netns exec ns`; returns its JSON result. */
export function runInNetns(ns, job, { env = {}, timeoutMs = 300_000 } = {}) {
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, fileURLToPath(import.meta.url), JSON.stringify(job)], {
    encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...env }, maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`manager ${job.what} in ${ns} failed (${r.status ?? r.signal}): ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const job = JSON.parse(process.argv[2]);
  let out;
  if (job.what === 'apply') {
    const { result, dp } = await measureApply(job.pinDir, job);
    dp.close(); // pins stay: the daemon adopts them
    out = result;
  } else if (job.what === 'daemon') {
    out = await measureDaemon(job.pinDir, job.tmp, job);
  } else throw new Error(`unknown job ${job.what}`);
  console.log(JSON.stringify(out));
}
