// Issue 6, soak: the daemon under two sequence-numbered UDP streams (c -> b
// and b -> c over VNI 42) while a seeded random driver edits the live maps
// (FDB, peers, neighbors: through src/reconcile's edit functions and through
// the CLI) and reloads the config (file replaced by rename, SIGHUP). The
// streams' own entries (VNI 42's endpoint, its peer 192.0.2.2, b's and c's
// MACs) are never touched, so they must lose nothing. The daemon's RSS and
// open fds are sampled after warm-up, every few seconds and at the end; per-VNI
// counters must never go backwards; the daemon log must hold no error.
// Full profile: 600 s; quick (CI): 45 s.
import { readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Datapath } from '../../src/datapath/datapath.js';
import { fdbDel, fdbSet, neighDel, neighSet, peerAdd, peerDel } from '../../src/reconcile/edits.js';
import type { StatsValue } from '../../src/datapath/index.js';
import { describeKernel } from '../helpers/kernel.js';
import { VtepLab, waitFor } from '../helpers/vtep-lab.js';
import { startStream } from '../helpers/stream.js';
import { Rng } from './fuzzlib.js';
import { recordSummary, reliabilityProfile } from './summary.js';

const profile = reliabilityProfile();
const DURATION_S = profile === 'full' ? 600 : 45;
const WARMUP_S = profile === 'full' ? 20 : 5;
const PPS = 400; // per stream
const SAMPLE_MS = profile === 'full' ? 10_000 : 3_000;
/** Honest bounds on the busy 2-core machine: RSS may grow by this much (V8 settles its heap in steps), fds not at all. */
const RSS_SLACK_KB = 20 * 1024;
const seed = process.env.XVTEP_SOAK_SEED !== undefined ? Number(process.env.XVTEP_SOAK_SEED) >>> 0 : 0x50a6;
const LOG_BAD = /error|fail|exception|warning|denied|E2BIG|EINVAL|EEXIST|ENOENT|^\s+at\s/im;

interface Sample { t: number; rssKb: number; fds: number }

/** Least-squares slope of y over x (per second of x in ms): growth over the run, not just start against end. */
function slope(samples: readonly Sample[], y: (s: Sample) => number): number {
  const n = samples.length;
  const mx = samples.reduce((a, s) => a + s.t, 0) / n, my = samples.reduce((a, s) => a + y(s), 0) / n;
  let num = 0, den = 0;
  for (const s of samples) {
    num += (s.t - mx) * (y(s) - my);
    den += (s.t - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 1000;
}

const mac = (prefix: number, i: number) => `02:${prefix.toString(16).padStart(2, '0')}:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

describeKernel('soak: traffic with random live updates and reloads', () => {
  let L: VtepLab;
  let cfgPath: string;
  const port = 20000 + ((process.pid + 13) % 20000);

  beforeAll(() => {
    L = new VtepLab('sok', { ipv6: false });
    L.endpoint('epa2', 'ca2');
    L.endpoint('epa3', 'ca3');
    L.endpoint('epa4', 'ca4');
    cfgPath = join(L.tmp, 'xvtep.json');
  });
  afterAll(() => L?.destroy());

  it(`${DURATION_S} s: no loss, RSS and fds flat, counters monotonic, a clean log`, async () => {
    const rng = new Rng(seed);
    const rnd = () => rng.u32() / 2 ** 32;
    const pick = <T>(xs: readonly T[]): T => rng.pick(xs);
    const int = (lo: number, hi: number) => lo + rng.int(hi - lo + 1);

    // A valid config, different each time; VNI 42 stays as the streams need it.
    const config = () => {
      const v44peers = [3, 4, 5, 6, 7, 8, 9].filter(() => rnd() < 0.4).map((x) => `192.0.2.${x}`);
      const vnis: unknown[] = [
        { vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'], fdb: Array.from({ length: int(0, 300) }, (_, i) => ({ mac: mac(0x42, i), remote: '192.0.2.2' })) },
        {
          vni: 44, endpoints: ['epa2'], peers: v44peers.length ? v44peers : ['192.0.2.3'], ageingSeconds: int(10, 300),
          fdb: Array.from({ length: int(0, 2000) }, (_, i) => ({ mac: mac(0x44, i), remote: pick(['192.0.2.3', '192.0.2.4', '192.0.2.5']) })),
          neighbors: Array.from({ length: int(0, 50) }, (_, i) => ({ ip: `203.0.113.${i + 1}`, mac: mac(0x4e, i) })),
        },
      ];
      if (rnd() < 0.5) vnis.push({ vni: 45, endpoints: ['epa3'], peers: ['192.0.2.4'], learning: rnd() < 0.5 });
      return L.config({ vnis, metrics: { enabled: true, listen: `127.0.0.1:${port}`, maxVniSeries: pick([4096, 2, 0]) } });
    };
    const save = (doc: unknown) => {
      writeFileSync(`${cfgPath}.tmp`, JSON.stringify(doc));
      renameSync(`${cfgPath}.tmp`, cfgPath);
    };
    save(config());
    const d = await L.daemon(cfgPath);
    const pid = L.json<{ daemon: { pid: number } }>('status').daemon.pid;
    expect(pid).toBe(d.proc.pid);
    const status = () => L.json<{ config: { reloads: number; generation: number; lastReload: { ok: boolean; error?: string } } }>('status').config;
    const dp = Datapath.open(L.pinDir);

    // Reloads wait for their result; one that fails fails the soak.
    const reloadWith = async (trigger: () => void) => {
      const before = status().reloads;
      trigger();
      await waitFor(() => status().reloads > before, 60_000, () => `reload did not happen: ${JSON.stringify(status())}`);
      const s = status();
      if (!s.lastReload.ok) throw new Error(`reload failed: ${s.lastReload.error}`);
    };
    const inA = <T>(fn: () => T): T => L.lab.in(L.a, fn);
    let updates = 0, reloads = 0, cliEdits = 0;
    const ops: Array<[number, string, () => Promise<void> | void]> = [
      [30, 'fdb', () => {
        const vni = pick([42, 44]);
        const m = mac(vni === 42 ? 0x52 : 0x54, int(0, 63));
        const here = dp.fdb.get(vni, m);
        if (here?.static && rnd() < 0.5) fdbDel(dp, vni, m);
        else fdbSet(dp, vni, m, { kind: 'remote', remote: pick(['192.0.2.3', '192.0.2.4', '192.0.2.6']) }, here ? 'replace' : 'add');
        updates++;
      }],
      [12, 'peer', () => {
        const addr = `192.0.2.${int(10, 20)}`;
        inA(() => (dp.peers.has(44, addr) ? peerDel : peerAdd)(dp, L.pinDir, 44, addr));
        updates++;
      }],
      [12, 'neigh', () => {
        const vni = pick([42, 44]);
        const ip = `198.51.100.${int(100, 130)}`;
        if (dp.neighbors.get(vni, ip) && rnd() < 0.5) neighDel(dp, vni, ip);
        else neighSet(dp, vni, ip, mac(0x4f, int(0, 255)), 'replace');
        updates++;
      }],
      [14, 'cli', () => {
        const kind = int(0, 3);
        if (kind === 0) {
          const m = mac(0x5c, int(0, 15));
          if (dp.fdb.get(44, m)) L.ok('fdb', 'del', m, 'vni', '44');
          else L.ok('fdb', 'add', m, 'vni', '44', 'dst', '192.0.2.7');
        } else if (kind === 1) {
          if (dp.vnis.get(46)) L.ok('vni', 'del', '46');
          else L.ok('vni', 'add', '46', 'endpoint', 'epa4', 'learning', pick(['on', 'off']));
        } else if (kind === 2) {
          const a = `192.0.2.${int(21, 25)}`;
          L.ok('peer', dp.peers.has(44, a) ? 'del' : 'add', a, 'vni', '44');
        } else {
          const ip = `203.0.113.${int(200, 210)}`;
          if (dp.neighbors.get(44, ip)) L.ok('neigh', 'del', ip, 'vni', '44');
          else L.ok('neigh', 'add', ip, 'lladdr', mac(0x4d, int(0, 255)), 'vni', '44');
        }
        updates++;
        cliEdits++;
      }],
      [8, 'reload (file)', async () => {
        await reloadWith(() => save(config()));
        reloads++;
      }],
      [5, 'reload (SIGHUP)', async () => {
        await reloadWith(() => process.kill(pid, 'SIGHUP'));
        reloads++;
      }],
    ];
    const total = ops.reduce((a, [w]) => a + w, 0);
    const step = async () => {
      let r = rnd() * total;
      const op = ops.find(([w]) => (r -= w) < 0) ?? ops[0]!;
      try {
        await op[2]();
      } catch (e) {
        throw new Error(`soak driver, ${op[1]}: ${(e as Error).message}`, { cause: e });
      }
      await new Promise((res) => setTimeout(res, int(50, 250)));
    };

    const proc = (): Sample => {
      const st = readFileSync(`/proc/${pid}/status`, 'utf8');
      // the daemon holds one fd per pinned hook (PinKeeper), and the random configs and
      // `vni add/del` attach and detach endpoints: those fds follow the pins, not a leak
      const hooks = readdirSync(join(L.pinDir, 'links')).length;
      return { t: Date.now(), rssKb: Number(/^VmRSS:\s+(\d+) kB/m.exec(st)![1]), fds: readdirSync(`/proc/${pid}/fd`).length - hooks };
    };
    const slots = () => [0, dp.vnis.get(42)!.statsSlot, dp.vnis.get(44)!.statsSlot];
    const flat = (s: StatsValue) => [s.rxPackets, s.rxBytes, s.txPackets, s.txBytes, ...s.drop, ...s.event].map(Number);
    const counters: number[][][] = [];
    const samples: Sample[] = [];
    const sampleCounters = () => counters.push(slots().map((slot) => flat(dp.readStats(slot))));

    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
    expect(L.lab.ping(L.b, '198.51.100.1', 2)).toBe(true);
    const count = PPS * (DURATION_S + WARMUP_S + 30);
    const up = await startStream(L.c, L.b, '198.51.100.2', 5001, count, PPS);
    const down = await startStream(L.b, L.c, '198.51.100.1', 5002, count, PPS);
    const counterTimer = setInterval(sampleCounters, 1000);
    let sampleTimer: NodeJS.Timeout | undefined;
    let start: Sample | undefined;
    const t0 = Date.now();
    try {
      // warm-up: the driver runs, so the first worker, JIT and buffers are in the start figure
      while (Date.now() - t0 < WARMUP_S * 1000) await step();
      await new Promise((res) => setTimeout(res, 1000));
      start = proc();
      samples.push(start);
      sampleTimer = setInterval(() => samples.push(proc()), SAMPLE_MS);
      const deadline = Date.now() + DURATION_S * 1000;
      while (Date.now() < deadline) await step();
      expect(up.running() && down.running()).toBe(true); // everything above happened under traffic
    } finally {
      clearInterval(counterTimer);
      clearInterval(sampleTimer);
      up.stop();
      down.stop();
    }
    const [u, dn] = await Promise.all([up.done, down.done]);
    sampleCounters();
    // quiet: no reload or edit in flight, the last worker gone
    await new Promise((res) => setTimeout(res, 2000));
    const end = proc();
    samples.push(end);
    dp.close();
    const log = d.log();
    const badLines = log.split('\n').filter((l) => LOG_BAD.test(l));

    // every counter of every sampled row, sample to sample
    let backwards = 0;
    for (let i = 1; i < counters.length; i++) {
      for (let r = 0; r < counters[i]!.length; r++) {
        counters[i]![r]!.forEach((v, k) => {
          if (v < counters[i - 1]![r]![k]!) backwards++;
        });
      }
    }
    const maxRss = Math.max(...samples.map((s) => s.rssKb));
    const rssSlope = slope(samples, (s) => s.rssKb), fdSlope = slope(samples, (s) => s.fds);
    recordSummary('soak', {
      profile, seed, seconds: DURATION_S, warmupSeconds: WARMUP_S, updates, cliEdits, reloads,
      rssKb: { start: start!.rssKb, end: end.rssKb, max: maxRss, slack: RSS_SLACK_KB }, fds: { start: start!.fds, end: end.fds, max: Math.max(...samples.map((s) => s.fds)) },
      samples: samples.map((s) => [Math.round((s.t - start!.t) / 1000), s.rssKb, s.fds]),
      streams: [{ dir: 'c->b', sent: u.sent, received: u.received, lost: u.sent - u.received, duplicates: u.duplicates }, { dir: 'b->c', sent: dn.sent, received: dn.received, lost: dn.sent - dn.received, duplicates: dn.duplicates }],
      rssSlopeKbPerS: +rssSlope.toFixed(2), fdSlopePerS: +fdSlope.toFixed(4),
      counterSamples: counters.length, countersBackwards: backwards, logErrors: badLines.length, logLines: log.split('\n').length,
    });
    console.log(`soak ${DURATION_S} s: ${updates} updates (${cliEdits} by CLI), ${reloads} reloads; RSS ${start!.rssKb} -> ${end.rssKb} kB (max ${maxRss}); ` +
      `fds ${start!.fds} -> ${end.fds} (besides one per pinned hook); streams lost ${u.missing}/${u.last + 1} and ${dn.missing}/${dn.last + 1}`);

    expect(badLines).toEqual([]);
    expect(u).toMatchObject({ missing: 0, duplicates: 0 });
    expect(dn).toMatchObject({ missing: 0, duplicates: 0 });
    // at the sockets: an outage at the end (which "missing" cannot see) fails too
    expect(u.sent - u.received).toBe(0);
    expect(dn.sent - dn.received).toBe(0);
    // growth over the whole run: at most the slack over its length, and no fd leak rate
    expect(rssSlope * DURATION_S).toBeLessThanOrEqual(RSS_SLACK_KB);
    expect(fdSlope * DURATION_S).toBeLessThan(1);
    expect(Math.min(u.received, dn.received)).toBeGreaterThan(PPS * DURATION_S * 0.8);
    expect(backwards).toBe(0);
    expect(counters.length).toBeGreaterThan(DURATION_S / 2); // 1 s timer, delayed by synchronous CLI calls
    expect(end.fds).toBe(start!.fds);
    expect(end.rssKb).toBeLessThanOrEqual(start!.rssKb + RSS_SLACK_KB);
    expect(reloads).toBeGreaterThanOrEqual(profile === 'full' ? 50 : 4);
    expect(updates).toBeGreaterThanOrEqual(profile === 'full' ? 500 : 30);
  }, (DURATION_S + WARMUP_S + 180) * 1000);
});
