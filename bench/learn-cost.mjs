// Per-packet cost of the learn limit (issue 15) inside xv_xdp_endpoint, by
// the kernel's run-time stats (kernel.bpf_stats_enabled), over real frames
// an AF_PACKET socket sends into the endpoint veth (test/reliability/
// macflood.py). bench/prog-cost.mjs is the usual tool, but its live frames
// (BPF_F_TEST_XDP_LIVE_FRAMES) are refused with EPERM by some kernels (this
// VM's 6.18.44-fc); these frames need nothing special.
//
// Cases, each a non-IP frame to a static remote MAC (XDP forwards non-IP
// itself, so every frame runs the XDP program to its end):
//   known   one source MAC, learned long ago: the steady state (lcache hit);
//   capped  a new random source MAC per frame, the VNI at its cap of 1:
//           FDB miss, then the cap check refuses (learn_limit);
//   learn   a new random source MAC per frame, no cap: every frame inserts
//           (the FDB is sized for all of them).
// --objects A.bpf.o,B.bpf.o loads one data path per object, interleaved
// round by round, to compare two builds under the same machine noise. Not a
// test: it prints numbers.
// Run: node bench/learn-cost.mjs [--frames N] [--rounds R] [--objects A,B] [--json]
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Datapath } from '../dist/datapath/index.js';
import { buildLab, T } from './lib/topo.mjs';
import { summary } from './lib/stats.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const FRAMES = Number(opt('--frames', 200_000));
const ROUNDS = Number(opt('--rounds', 3));
const OBJECTS = opt('--objects', join(root, 'build', 'bpf', 'xvtep.bpf.o')).split(',');
const SLOT = 1;
const SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

const env = buildLab();
const { lab, vtep, sink, ifx } = env;
const hex = (m) => m.replaceAll(':', '');
// non-IP (local experimental ethertype 0x88b5), 60 bytes: sink container -> remote MAC
const frame = (src) => Buffer.concat([Buffer.from(hex(T.remote.mac) + hex(src) + '88b5', 'hex'), Buffer.alloc(46, 0x5a)]);

function send(src, fixed) {
  const r = spawnSync('ip', ['netns', 'exec', sink, 'python3', join(root, 'test', 'reliability', 'macflood.py'), T.sink.if,
    frame(src).toString('hex'), String(FRAMES), '120', ...(fixed ? ['fixed'] : [])], { encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`macflood.py: ${r.stderr || r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

async function withObject(path, fn) {
  const dp = await Datapath.load({ objectPath: path, sizes: { fdb: 4 * FRAMES + 1024 } });
  const settings = { learning: true, allowUnknownPeers: false, proxyArp: false, proxyNd: false, statsSlot: SLOT, maxLearned: 0 };
  let links = [];
  try {
    lab.in(vtep, () => {
      dp.configure({
        underlayIfindex: ifx.u0, port: T.port, localAddress: T.uly.ip, underlayMtu: 1500, srcPortMin: 0, srcPortMax: 0,
        ttl: 64, tos: 0, tosInherit: false, df: 'unset', udp6ZeroChecksum: false, fdbRefreshMs: 1000,
        epChecksumComplete: false, nhCacheMs: 0, learnMaxTotal: 0,
      });
      dp.setVni(T.vni, settings);
      const info = { statsSlot: SLOT, flags: 0 };
      dp.peers.add(T.vni, T.gen.ip, info);
      dp.endpoints.set(ifx.e0, T.vni, info);
      dp.devs.set(ifx.e0, ifx.e0);
      dp.setUplink(ifx.u0);
      dp.fdb.set({ vni: T.vni, mac: T.remote.mac, dest: { kind: 'remote', remote: T.gen.ip }, static: true, updatedNs: 0 });
      dp.bumpGeneration();
      links = [dp.program('xv_tc_endpoint').attachTcx('e0', 'ingress'), dp.program('xv_xdp_endpoint').attachXdp('e0', { mode: 'driver' })];
    });
    return await fn(dp, settings);
  } finally {
    for (const l of links) l.close();
    dp.close();
  }
}

function measure(dp, run) {
  const prog = dp.program('xv_xdp_endpoint');
  const saved = readFileSync(SYSCTL, 'utf8').trim();
  writeFileSync(SYSCTL, '1');
  try {
    const a = prog.runStats();
    const sent = run();
    const b = prog.runStats();
    return { ns: (b.runTimeNs - a.runTimeNs) / (b.runCount - a.runCount), runs: b.runCount - a.runCount, pps: Math.round(sent.sent / sent.seconds) };
  } finally {
    writeFileSync(SYSCTL, saved);
  }
}

const results = new Map(); // `${object} ${case}` -> ns[]
const put = (o, c, v) => {
  const k = `${basename(o)} ${c}`;
  if (!results.has(k)) results.set(k, []);
  results.get(k).push(v);
};
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const obj of OBJECTS) {
      await withObject(obj, async (dp, settings) => {
        // known: the source learned by a first frame, then FRAMES of the same
        send(T.sink.mac, true);
        put(obj, 'known', measure(dp, () => send(T.sink.mac, true)));
        // capped: cap 1, already reached by the MAC above
        dp.setVni(T.vni, { ...settings, maxLearned: 1 });
        put(obj, 'capped', measure(dp, () => send('02:c0:00:00:00:00', false)));
        // learn: no cap, every frame a new MAC (another prefix than the capped run's)
        dp.setVni(T.vni, { ...settings, maxLearned: 0 });
        put(obj, 'learn', measure(dp, () => send('02:d0:00:00:00:00', false)));
      });
    }
  }
} finally {
  lab.destroy();
}

const rows = [...results].map(([k, v]) => ({ case: k, ...summary(v.map((x) => x.ns)), runs: v.map((x) => x.runs), pps: v.map((x) => x.pps) }));
if (args.includes('--json')) console.log(JSON.stringify(rows, null, 2));
else for (const r of rows) console.log(`${r.case.padEnd(32)} ns/pkt in xv_xdp_endpoint: ${JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'case')))}`);
