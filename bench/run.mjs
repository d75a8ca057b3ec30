#!/usr/bin/env node
// xvtep benchmarks: kernel VXLAN + bridge vs xvtep vs an XDP ceiling, in one
// namespace lab, alternating the VTEP host's mode between repeats.
//   node bench/run.mjs [--quick] [--only=pps,tccost,cost,tcp,latency,control,scaling] [--out=DIR]
//     [--pps-gen=auto|live|loop] [--loop-mode=pipeline|single] [--loop-cpus=V,H] [--loop-n=N] [--loop-secs=S] [--loop-cpu=C]
//     [--pace-us=N]  (the control trials' paced sender, where the kernel refuses live frames)
// (make bench / make bench-quick build everything first.) See bench/README.md.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { ObjectSpec, u32 } from '../dist/bpf/index.js';
import { T, BUILD, buildLab, kernelMode, kernelXdpPassMode, bareMode, ceilingMode, sinkOn, sleep, closeAll } from './lib/topo.mjs';
import { setupXvtep, variant } from './lib/xvtep.mjs';
import { DROP_REASONS, EVENTS } from '../dist/datapath/layout.js';
import { innerFrame, vxlanFrame, OFF } from './lib/packets.mjs';
import { iperfGbps } from './lib/iperf.mjs';
import { summary, rotate } from './lib/stats.mjs';
import { writeReport } from './lib/report.mjs';
import { generators, frameSources } from './lib/gen.mjs';
import { nsInProgram, nsInPrograms } from './lib/progstats.mjs';
import { icmpBlast } from './lib/senders.mjs';
import { measureManager } from './lib/manager.mjs';
import { loopGenerator, floorMode, napiPipeline, vethDrops } from './lib/loop.mjs';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  // the usage is this file's opening comment: print it before any lab is built
  const head = (await import('node:fs')).readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1);
  console.log(head.slice(0, head.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}
const quick = argv.includes('--quick');
const opt = (k) => argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1];
const only = opt('only')?.split(',');
const outDir = (opt('out') ?? new URL('./results', import.meta.url).pathname).replace(/\/+$/, '');
const want = (s) => !only || only.includes(s);
// pps generator: live frames where the kernel allows them, else the closed loop (lib/loop.mjs)
const ppsGen = opt('pps-gen') ?? 'auto';
if (!['auto', 'live', 'loop'].includes(ppsGen)) throw new Error(`--pps-gen=${ppsGen}: auto, live or loop`);

const C = quick
  ? { ppsN: 1_000_000, ppsReps: 2, loopN: 128, loopSecs: 0.5, costN: 10_000_000, costReps: 1, tcN: 100_000, tcpSecs: 2, tcpReps: 1, tcpStreams: [1], pingCount: 1000, pingReps: 1,
      fdbSizes: [10, 100_000], scaleFlows: 16384, scaleReps: 1, cpTrials: 3, fdbBulk: 100_000,
      mgr: { vnis: 100, fdb: 100_000, scrapeVnis: 4096, scrapes: 20, addTrials: 3, idleWaitMs: 1000 } }
  : { ppsN: 3_000_000, ppsReps: 5, loopN: 128, loopSecs: 1, costN: 10_000_000, costReps: 3, tcN: 300_000, tcpSecs: 4, tcpReps: 3, tcpStreams: [1, 4], pingCount: 5000, pingReps: 2,
      fdbSizes: [10, 1000, 100_000, 1_000_000], scaleFlows: 16384, scaleReps: 3, cpTrials: 5, fdbBulk: 100_000,
      mgr: { vnis: 1000, fdb: 100_000, scrapeVnis: 4096, scrapes: 30, addTrials: 5, idleWaitMs: 2000 } };
if (opt('loop-n')) C.loopN = Number(opt('loop-n'));
if (opt('loop-secs')) C.loopSecs = Number(opt('loop-secs'));
C.loopCpu = Number(opt('loop-cpu') ?? 0);
// without live frames: frames per plain test-run cost figure (one syscall each), and the
// paced sender's interval (the control trials' frame source; it bounds their resolution)
C.costPlainN = quick ? 20_000 : 50_000;
C.paceUs = Number(opt('pace-us') ?? 50);
if (!(C.paceUs >= 20 && C.paceUs <= 1000)) throw new Error(`--pace-us=${opt('pace-us')}: 20..1000`);
// the loop's mode: 'pipeline' (threaded NAPI, the VTEP host on CPU V, the loop's hop on CPU H: the VTEP
// stage's CPU time is measured apart from the hop's) or 'single' (everything in softirq on one CPU)
C.loopMode = opt('loop-mode') ?? 'pipeline';
if (!['pipeline', 'single'].includes(C.loopMode)) throw new Error(`--loop-mode=${C.loopMode}: pipeline or single`);
[C.loopVtepCpu, C.loopHopCpu] = (opt('loop-cpus') ?? '0,1').split(',').map(Number);
if (C.loopMode === 'pipeline' && !(C.loopVtepCpu >= 0 && C.loopHopCpu >= 0 && C.loopVtepCpu !== C.loopHopCpu && Math.max(C.loopVtepCpu, C.loopHopCpu) < cpus().length)) {
  throw new Error(`--loop-cpus=${opt('loop-cpus') ?? '0,1'}: two different CPUs of the ${cpus().length} here (the pipeline needs 2; --loop-mode=single otherwise)`);
}
const FDB_MAX = 1_100_000;
const t0 = Date.now();
const log = (...a) => console.error(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s]`, ...a);

const R = {
  date: new Date().toISOString(), quick, host: { kernel: release(), cpus: cpus().length, cpu: cpus()[0]?.model },
  config: C, xvtepVia: null, configs: {}, notes: [], xvtepCounters: {}, pps: {}, tcCost: {}, cost: {}, costInProgram: {}, tcp: {}, latency: {}, control: {}, scaling: [], errors: [],
};

// ---------------------------------------------------------------- frames
const decapInner = (smac = T.remote.mac) => innerFrame({ dmac: T.sink.mac, smac, src: T.remote.ip, dst: T.sink.ip });
const decapFrameOf = (inner) => vxlanFrame({ dmac: T.uly.mac, smac: T.gen.mac, src: T.gen.ip, dst: T.uly.ip, vni: T.vni }, inner);
const DECAP = decapFrameOf(decapInner());
const DECAP_SCALE = decapFrameOf(decapInner('02:b1:00:00:00:00'));
const ENCAP = innerFrame({ dmac: T.remote.mac, smac: '02:b0:00:00:02:00', src: T.sink.ip, dst: T.remote.ip });

const env = buildLab();
const { lab } = env;
log(`lab up: ${lab.namespaces.join(' ')}`);
const closers = [];
let current;
async function use(mode) {
  if (current === mode) return;
  current?.down();
  current = undefined;
  mode.up();
  current = mode;
  await sleep(30);
}

// ---------------------------------------------------------------- generators
const { genProgram, liveRun, plainRun } = generators(lab, closers);

// One live frame, once per run: kernels that refuse BPF_F_TEST_XDP_LIVE_FRAMES
// (EPERM, even to root) get the fallbacks: the closed loop for pps, one plain
// test run per frame for the per-packet cost (no delivery), a paced AF_PACKET
// sender as the frame source of the control-plane trials.
const { liveFrames, frameSource } = frameSources({
  env, genProgram, liveRun, probeFrame: ENCAP, paceUs: C.paceUs,
  onRefused: (e) => R.notes.push(`live frames refused (${String(e?.message ?? e).split('\n')[0]}): the scenarios that need them use their fallbacks (bench/README.md "Without live frames")`),
});

const sinkS = await sinkOn(lab, env.sink, 's0');
const sinkG = await sinkOn(lab, env.gen, 'g0');
closers.push(() => sinkS.close(), () => sinkG.close());

const DIRS = {
  decap: { ns: env.gen, ifindex: env.ifx.g0, sink: sinkS, frame: DECAP, byteOff: OFF.innerSrcMacLast, portOff: OFF.outerSport },
  encap: { ns: env.sink, ifindex: env.ifx.s0, sink: sinkG, frame: ENCAP, byteOff: OFF.srcMacLast, portOff: 0 },
};

async function ppsTrial(dir, flows, n, frame) {
  const d = DIRS[dir];
  const prog = await genProgram(flows, d.byteOff, flows > 1 ? d.portOff : 0);
  const before = d.sink.packets();
  const xs0 = current?.xvtep ? xvCounters() : undefined;
  const { wall } = await liveRun(prog, frame ?? d.frame, d.ns, d.ifindex, n);
  await sleep(20);
  const got = d.sink.packets() - before;
  const t = { offered: n / wall / 1e6, delivered: got / wall / 1e6, loss: 1 - got / n };
  if (xs0) {
    // xvtep's own view of the run: non-zero counter deltas (drops, events)
    const xs1 = xvCounters(), diff = {};
    for (const k of Object.keys(xs1)) if (xs1[k] !== xs0[k]) diff[k] = xs1[k] - xs0[k];
    (R.xvtepCounters[`${dir}-${flows}`] ??= []).push(diff);
  }
  return t;
}

// ---------------------------------------------------------------- modes
const kernel = kernelMode(env);
const bare = bareMode(env);
const ceiling = await ceilingMode(env);
closers.push(() => ceiling.close());
let xv;
try {
  xv = await setupXvtep(env, { fdbMax: FDB_MAX });
  R.xvtepVia = xv.via;
  closers.push(() => xv.close());
} catch (e) {
  R.errors.push({ scenario: 'xvtep setup', error: String(e?.message ?? e) });
  log(`xvtep setup failed, xvtep columns pending: ${e?.message ?? e}`);
}
// The modes rows are named by: each one configuration of the VTEP host.
const named = (m) => ((R.configs[m.name] = m.configuration ?? m.name), m);
named(Object.assign(kernel, { configuration: 'kernel: vxlan0 + br0 (ip link / bridge fdb), e0 in the bridge' }));
named(Object.assign(bare, { configuration: 'bare underlay: plain IP routing, no overlay' }));
const xvAuto = xv && named(Object.assign(variant(xv, 'xvtep', { endpointXdp: 'auto' }), { xvtep: true }));
const xvOn = xv && named(Object.assign(variant(xv, 'xvtep-xdp', { endpointXdp: 'on' }), { xvtep: true }));
const ceilXdp = named(variant(ceiling, 'ceiling', { decap: 'xdp', encap: 'xdp' }, 'XDP ceiling: ceil_decap (XDP) on u0, ceil_encap (XDP, pushes 50 bytes) on e0'));
const ceilTc = named(variant(ceiling, 'ceiling-tc', { decap: 'xdp', encap: 'tc' }, 'TC ceiling: ceil_tc_encap (tcx, pushes 50 bytes, redirects) on e0, ceil_decap on u0'));
const ceilTcp = variant(ceiling, 'ceiling', { decap: 'gro', encap: 'tc' });
// beside the TCP decap rows: what the veth's skb-to-XDP copy alone leaves of the kernel's rate
const kernelPass = named(Object.assign(await kernelXdpPassMode(env, kernel), {
  configuration: 'kernel: vxlan0 + br0 as above, plus an XDP_PASS program on u0 (the veth then copies each arriving skb into an XDP buffer, as under any XDP program)',
}));
closers.push(() => kernelPass.close());
R.configs['ceiling (TCP)'] = 'TCP ceiling: ceil_decap_gro + ceil_tc_gro on u0, ceil_tc_encap (tcx) on e0';
R.notes.push(...ceiling.notes);

async function ppsLive() {
  sinkS.attach();
  sinkG.attach();
  for (const dir of ['decap', 'encap']) {
    // endpointXdp changes nothing on decap (the underlay's XDP does it)
    const modes = (dir === 'decap' ? [kernel, xvAuto, ceilXdp] : [kernel, xvAuto, xvOn, ceilXdp, ceilTc]).filter(Boolean);
    for (const flows of [1, 64]) {
      const id = `${dir}-${flows}`;
      await guarded(`pps ${id}`, async () => {
        const res = Object.fromEntries(modes.map((m) => [m.name, { delivered: [], offered: [], loss: [] }]));
        for (const m of modes) {
          await use(m);
          await ppsTrial(dir, flows, C.ppsN >> 2); // warm-up
        }
        for (let r = 0; r < C.ppsReps; r++) {
          for (const m of rotate(modes, r)) {
            await use(m);
            const t = await ppsTrial(dir, flows, C.ppsN);
            for (const k of ['delivered', 'offered', 'loss']) res[m.name][k].push(t[k]);
          }
        }
        R.pps[id] = res;
        log(`pps ${id}: ` + modes.map((m) => `${m.name} ${summary(res[m.name].delivered).median?.toFixed(3)} Mpps`).join(', '));
      });
    }
  }
}

// The closed-loop generator (lib/loop.mjs): N frames injected once circulate
// through the VTEP host and one XDP hop back; Mpps = frames counted / window.
async function ppsLoop() {
  sinkS.detach();
  sinkG.detach(); // the loop's programs sit where the sinks were (g0 for encap, s0 for decap)
  const pipeline = C.loopMode === 'pipeline' ? napiPipeline(env, { vtepCpu: C.loopVtepCpu, hopCpu: C.loopHopCpu }) : undefined;
  if (pipeline) log(`pps loop: threaded NAPI, ${pipeline.threads.map((t) => `${t.comm} (${t.ifc}) on CPU ${t.cpu}`).join(', ')}`);
  try {
    await ppsLoopDirs(pipeline);
  } finally {
    pipeline?.close(); // the other scenarios run with NAPI in softirq, as built
  }
}

async function ppsLoopDirs(pipeline) {
  for (const dir of ['decap', 'encap']) {
    const loop = await loopGenerator(env, dir);
    closers.push(() => loop.close());
    // the floor: the VTEP host only redirects, frames go round as they are (the loop's own cost)
    const floor = named(await floorMode(env, dir));
    closers.push(() => floor.close());
    const modes = (dir === 'decap' ? [kernel, xvAuto, ceilXdp, floor] : [kernel, xvAuto, xvOn, ceilXdp, ceilTc, floor]).filter(Boolean);
    const frame = dir === 'decap' ? DECAP : ENCAP;
    const floorFrame = dir === 'decap' ? decapInner() : DECAP;
    const byteOff = DIRS[dir].byteOff, portOff = DIRS[dir].portOff;
    loop.attach();
    try {
      for (const flows of [1, 64]) {
        const id = `${dir}-${flows}`;
        await guarded(`pps ${id}`, async () => {
          const res = Object.fromEntries(modes.map((m) => [m.name, pipeline
            ? { delivered: [], perVtepCpuSecond: [], vtepShare: [], hopShare: [], cpuBusyVtep: [], cpuBusyHop: [], bottleneck: [], netRx: [], ksoftirqdSeconds: [], wakeupsPerFrame: [], where: [], inFlightEnd: [], cpus: [] }
            : { delivered: [], perSoftirqSecond: [], softirqShare: [], inFlightEnd: [], cpus: [] }]));
          const trial = async (m, seconds) => {
            const xs0 = m.xvtep ? xvCounters() : undefined;
            const t = m === floor
              ? await loop.run({ frame: floorFrame, n: C.loopN, flows, byteOff: dir === 'decap' ? OFF.srcMacLast : OFF.innerSrcMacLast, portOff: 0, seconds, cpu: C.loopCpu, floor: true, pipeline })
              : await loop.run({ frame, n: C.loopN, flows, byteOff, portOff, seconds, cpu: C.loopCpu, pipeline });
            if (!t.diedOut) throw new Error(`pps ${id} ${m.name}: the loop still moved after its stop (forwarded ${t.forwarded})`);
            if (xs0) {
              const xs1 = xvCounters(), diff = {};
              for (const k of Object.keys(xs1)) if (xs1[k] !== xs0[k]) diff[k] = xs1[k] - xs0[k];
              (R.xvtepCounters[`${id} ${m.name}`] ??= []).push(diff);
            }
            return t;
          };
          for (const m of modes) {
            await use(m);
            await trial(m, 0.2); // warm-up
          }
          for (let r = 0; r < C.ppsReps; r++) {
            for (const m of rotate(modes, r)) {
              await use(m);
              const t = await trial(m, C.loopSecs);
              const v = res[m.name];
              v.inFlightEnd.push(t.inFlightEnd);
              v.cpus.push(t.cpus);
              // a loop that lost all its frames measured nothing: no rate, an error
              const dead = t.inFlightEnd === 0;
              if (dead) R.errors.push({ scenario: `pps ${id} ${m.name} repeat ${r}`, error: `the loop died out (0 of ${C.loopN} frames left at the end; ${t.forwarded} forwarded in the window; veth drop/error counters since the lab was built: ${vethDrops(env)})` });
              v.delivered.push(dead ? null : t.mpps);
              if (pipeline) {
                // the hop's program counts on the hop's CPU only, else the split did not hold: no rate
                const split = t.cpus.length === 1 && t.cpus[0] === C.loopHopCpu;
                if (!split) R.errors.push({ scenario: `pps ${id} ${m.name} repeat ${r}`, error: `pipeline: the hop counted on CPUs ${t.cpus.join(',')}, not only on ${C.loopHopCpu}` });
                v.perVtepCpuSecond.push(dead || !split ? null : t.mppsPerVtepCpuSecond);
                v.vtepShare.push(t.vtepShare);
                v.hopShare.push(t.hopShare);
                v.cpuBusyVtep.push(t.cpuBusy.vtep);
                v.cpuBusyHop.push(t.cpuBusy.hop);
                v.bottleneck.push(t.bottleneck);
                v.netRx.push(t.netRx);
                v.ksoftirqdSeconds.push(t.ksoftirqdSeconds);
                v.wakeupsPerFrame.push(t.wakeupsPerFrame);
                v.where.push(t.where);
              } else {
                v.softirqShare.push(t.softirqShare);
                v.perSoftirqSecond.push(dead || t.cpus.length !== 1 ? null : t.mppsPerCpuSecond);
              }
            }
          }
          R.pps[id] = res;
          log(`pps ${id} (loop ${C.loopMode}, ${C.loopN} in flight): ` + modes.map((m) => `${m.name} ${summary(res[m.name].delivered).median?.toFixed(3)} Mpps` +
            (pipeline ? `, ${summary(res[m.name].perVtepCpuSecond).median?.toFixed(3)} per VTEP-CPU-s` : '') + ` (end ${summary(res[m.name].inFlightEnd).median})`).join(', '));
        });
      }
    } finally {
      loop.detach();
    }
  }
}

function xvCounters() {
  const out = {};
  for (const [slot, v] of xv.readAllStats()) {
    if (slot > 1) continue;
    out[`s${slot}.rx`] = v.rxPackets;
    out[`s${slot}.tx`] = v.txPackets;
    v.drop.forEach((x, i) => x && (out[`s${slot}.drop.${DROP_REASONS[i] ?? i}`] = x));
    v.event.forEach((x, i) => x && (out[`s${slot}.event.${EVENTS[i] ?? i}`] = x));
  }
  return out;
}

const XDP_DROP = 1, XDP_REDIRECT = 4;
/** A plain test run's result, if every run returned `want` (else the row would time another path). */
function verdictIs(r, want, prog) {
  if (r.verdicts.length !== 1 || r.verdicts[0] !== want) throw new Error(`${prog.label ?? 'program'}: plain test run returned XDP action(s) ${r.verdicts.join(', ')}, expected ${want}`);
  return r;
}

async function guarded(name, fn) {
  try {
    await fn();
  } catch (e) {
    R.errors.push({ scenario: name, error: String(e?.stack ?? e) });
    log(`${name} failed: ${e?.message ?? e}`);
  }
}

try {
  // ------------------------------------------------------------ 1+2: pps
  if (want('pps')) {
    let gen = ppsGen;
    // kernels that refuse BPF_F_TEST_XDP_LIVE_FRAMES (EPERM) get the closed loop
    if (gen === 'auto') gen = (await liveFrames()) ? 'live' : 'loop';
    R.ppsGen = gen === 'live' ? { kind: 'live', frames: C.ppsN }
      : { kind: 'loop', mode: C.loopMode, inFlight: C.loopN, seconds: C.loopSecs, cpu: C.loopCpu, ...(C.loopMode === 'pipeline' ? { vtepCpu: C.loopVtepCpu, hopCpu: C.loopHopCpu } : {}) };
    if (gen === 'live') await ppsLive();
    else await guarded('pps loop', ppsLoop);
  }

  // ------------------------------------------------------------ 5: per-packet cost
  if (want('cost')) {
    await guarded('cost', async () => {
      sinkS.attach();
      sinkG.attach();
      if (xv) await use(xvOn);
      else await use(ceilXdp);
      const floorSpec = ObjectSpec.open(`${BUILD}bench/floor.bpf.o`, 'floor');
      floorSpec.setConstant('floor_ifindex', u32, env.ifx.e0);
      const floor = await floorSpec.load();
      closers.push(() => floor.close());
      const floorUSpec = ObjectSpec.open(`${BUILD}bench/floor.bpf.o`, 'floor-u0');
      floorUSpec.setConstant('floor_ifindex', u32, env.ifx.u0);
      const floorU = await floorUSpec.load();
      closers.push(() => floorU.close());
      const runs = [
        ['floor: empty XDP (XDP_DROP)', floor.program('xdp_drop'), DECAP, env.ifx.u0],
        ['redirect only (-> endpoint veth)', floor.program('xdp_redirect'), DECAP, env.ifx.u0],
        ['ceiling decap', ceiling.coll.program('ceil_decap'), DECAP, env.ifx.u0],
        ...(xv ? [['xvtep decap (xv_xdp_underlay)', xv.program('xv_xdp_underlay'), DECAP, env.ifx.u0]] : []),
        ['redirect only (-> underlay veth)', floorU.program('xdp_redirect'), ENCAP, env.ifx.e0],
        ['ceiling encap', ceiling.coll.program('ceil_encap'), ENCAP, env.ifx.e0],
        ...(xv ? [['xvtep encap (xv_xdp_endpoint)', xv.program('xv_xdp_endpoint'), ENCAP, env.ifx.e0]] : []),
      ];
      // live frames: every run's verdict carried out (the redirect delivered
      // to the XDP sink); else one plain test run per frame: the program and
      // the run's clock reads only, the verdict returned, nothing delivered
      const live = await liveFrames();
      R.costMethod = live ? 'live' : 'plain';
      // plain runs: each row must time what it names (the floor drops, every other program redirects)
      const run = live ? (p, fr, ifx, n) => liveRun(p, fr, env.vtep, ifx, n) : async (p, fr, ifx, n) => verdictIs(plainRun(p, fr, env.vtep, ifx, n), p === floor.program('xdp_drop') ? XDP_DROP : XDP_REDIRECT, p);
      const N = live ? C.costN : C.costPlainN;
      for (const [name, prog, frame, ifindex] of runs) {
        await run(prog, frame, ifindex, live ? 1_000_000 : 10_000); // warm-up
        R.cost[name] = [];
      }
      for (let r = 0; r < C.costReps; r++) {
        for (const [name, prog, frame, ifindex] of rotate(runs, r)) {
          R.cost[name].push((await run(prog, frame, ifindex, N)).duration);
        }
      }
      // The same programs' own time, as the kernel's run-time stats count it
      // (inside the program only: the redirect's delivery is not in it; the
      // clock read is, the same for every program).
      for (let r = 0; r < C.costReps; r++) {
        for (const [name, prog, frame, ifindex] of rotate(runs, r)) {
          (R.costInProgram[name] ??= []).push(await nsInProgram(prog, () => run(prog, frame, ifindex, N >> 2)));
        }
      }
      log('cost: ' + Object.entries(R.cost).map(([k, v]) => `${k} ${summary(v).median} ns (in the program ${summary(R.costInProgram[k]).median?.toFixed(1)})`).join(', '));
    });
  }

  // ------------------------------------------------------------ 2b: TC encap, in the program
  // xvtep's tcx encap (the default on a veth) against the TC ceiling, as the
  // kernel's run-time stats count the time inside each program, under the
  // same small-frame load: UDP from the container (s0) to the remote VTEP's
  // MAC, counted by the XDP sink on g0. The sender is a user-space loop (the
  // live-frames generator needs BPF_F_TEST_XDP_LIVE_FRAMES, which some
  // kernels refuse): its rate is the sender's, the ns are the programs'.
  if (want('tccost')) {
    await guarded('tccost', async () => {
      sinkG.attach();
      // learning: false beside them: how much of the tcx path's time is learning the sender's MAC
      const xvNoLearn = xv && named(Object.assign(variant(xv, 'xvtep-nolearn', { endpointXdp: 'auto', learning: false }), { xvtep: true }));
      // endpointXdp: on and the XDP encap ceiling (ceil_encap on e0) time ICMP echoes: a UDP socket's
      // frames leave the container with a partial checksum, which XDP cannot see, so xv_xdp_endpoint
      // hands every one of them to tcx; the echoes' checksums are complete and XDP encapsulates them
      // (checked below from the counters). The XDP ceiling's pps cannot be measured on this kernel.
      const icmp = { send: (flows) => icmpBlast(env.sink, T.remote.ip, flows, C.tcN) };
      const udp = { send: (flows) => udpBlast(T.remote.ip, flows, C.tcN) };
      R.configs['tccost:xvtep-xdp'] = `${R.configs['xvtep-xdp']}; ICMP echoes from the container (complete checksums: encapsulated by XDP)`;
      R.configs['tccost:ceiling'] = `${R.configs.ceiling}; ICMP echoes from the container`;
      // what a veth user with endpointXdp: on gets for UDP: the XDP attempt, then tcx (both programs' ns)
      R.configs['tccost:xvtep-xdp-deferred'] = `${R.configs['xvtep-xdp']}; UDP from the container (partial checksums: handed to tcx), ns in xv_xdp_endpoint + xv_tc_endpoint`;
      const xvOnDeferred = xv && Object.assign(variant(xv, 'xvtep-xdp-deferred', { endpointXdp: 'on' }), { xvtep: true });
      const modes = [[xvAuto, () => [xv.program('xv_tc_endpoint')], udp], [ceilTc, () => [ceiling.coll.program('ceil_tc_encap')], udp],
        [xvOn, () => [xv.program('xv_xdp_endpoint')], icmp, 'xdp'], [ceilXdp, () => [ceiling.coll.program('ceil_encap')], icmp],
        [xvOnDeferred, () => [xv.program('xv_xdp_endpoint'), xv.program('xv_tc_endpoint')], udp, 'deferred'],
        [xvNoLearn, () => [xv.program('xv_tc_endpoint')], udp]].filter(([m]) => m);
      const XDP_TO_TC = EVENTS.indexOf('xdp_to_tc');
      for (const flows of [1, 64]) {
        const id = `encap-${flows}`;
        const res = Object.fromEntries(modes.map(([m]) => [m.name, { ns: [], pps: [] }]));
        for (let r = 0; r < C.costReps + 1; r++) {
          for (const [m, progs, sender, check] of rotate(modes, r)) {
            await use(m);
            const before = sinkG.packets();
            const st0 = check && xv.stats();
            let wall = 0, sent = 0;
            const ns = (await nsInPrograms(progs(), async () => {
              const t = process.hrtime.bigint();
              sent = sender.send(flows);
              wall = Number(process.hrtime.bigint() - t) / 1e9;
            })).reduce((a, b) => a + b, 0);
            if (check) {
              // the row must time what it says: frames XDP encapsulated, or frames it handed to tcx
              const st1 = xv.stats();
              const toTc = Number(st1.event[XDP_TO_TC] - st0.event[XDP_TO_TC]), tx = Number(st1.txPackets - st0.txPackets);
              const ok = check === 'xdp' ? tx >= 0.99 * sent && toTc <= 0.01 * sent : toTc >= 0.99 * sent;
              if (!ok) throw new Error(`tccost ${m.name} ${id}: ${sent} frames sent, ${tx} encapsulated, ${toTc} handed by XDP to tcx: not the path this row is for`);
            }
            if (r === 0) continue; // warm-up
            res[m.name].ns.push(ns);
            res[m.name].pps.push((sinkG.packets() - before) / wall / 1e6);
            (res[m.name].sent ??= []).push(sent);
          }
        }
        R.tcCost[id] = res;
        log(`tccost ${id}: ` + modes.map(([m]) => `${m.name} ${summary(res[m.name].ns).median?.toFixed(1)} ns in the program`).join(', '));
      }
    });
  }

  // ------------------------------------------------------------ 3: TCP
  if (want('tcp')) {
    sinkS.detach();
    sinkG.detach();
    const modes = [kernel, xvAuto, ceilTcp, bare].filter(Boolean);
    for (const m of [...modes, xvOn].filter(Boolean)) {
      await use(m);
      const ok = lab.tryExec(env.gen, 'ping', '-c', '2', '-i', '0.2', '-W', '1', '-q', m === bare ? T.sink.bareIp : T.sink.ip).ok;
      if (!ok) R.errors.push({ scenario: `tcp ${m.name}`, error: 'no connectivity gen -> sink (ping)' });
    }
    for (const streams of C.tcpStreams) {
      for (const dir of ['decap', 'encap']) {
        const id = `${dir}-${streams}`;
        await guarded(`tcp ${id}`, async () => {
          // bulk TCP from the container with endpoint XDP on: what it costs (TSO off on the peer)
          const modes = [kernel, ...(dir === 'decap' ? [kernelPass] : []), xvAuto, ...(dir === 'encap' ? [xvOn] : []), ceilTcp, bare].filter(Boolean);
          const res = Object.fromEntries(modes.map((m) => [m.name, []]));
          for (let r = 0; r < C.tcpReps; r++) {
            for (const m of rotate(modes, r)) {
              await use(m);
              try {
                res[m.name].push(await iperfGbps(env, { addr: m === bare ? T.sink.bareIp : T.sink.ip, secs: C.tcpSecs, streams, reverse: dir === 'encap' }));
              } catch (e) {
                res[m.name].push(null);
                R.errors.push({ scenario: `tcp ${id} ${m.name} repeat ${r}`, error: String(e?.message ?? e) });
              }
            }
          }
          R.tcp[id] = res;
          log(`tcp ${id}: ` + modes.map((m) => `${m.name} ${summary(res[m.name]).median?.toFixed(2)} Gbit/s`).join(', '));
        });
      }
    }
  }

  // ------------------------------------------------------------ 4: latency
  if (want('latency')) {
    await guarded('latency', async () => {
      sinkS.detach();
      sinkG.detach();
      const modes = [kernel, xvAuto, bare].filter(Boolean);
      for (const m of modes) R.latency[m.name] = [];
      for (let r = 0; r < C.pingReps; r++) {
        for (const m of rotate(modes, r)) {
          await use(m);
          try {
            R.latency[m.name].push(await pingpong(m === bare ? T.sink.bareIp : T.sink.ip, C.pingCount));
          } catch (e) {
            R.errors.push({ scenario: `latency ${m.name} repeat ${r}`, error: String(e?.message ?? e) });
          }
        }
      }
      log('latency: ' + modes.map((m) => `${m.name} p50 ${summary(R.latency[m.name].map((x) => x.p50)).median?.toFixed(1)} us`).join(', '));
    });
  }

  // ------------------------------------------------------------ 6: control plane
  if (want('control') && xv) {
    await guarded('control', async () => {
      sinkS.attach();
      sinkG.attach();
      await use(xvOn);
      // bulk apply
      const macs = Array.from({ length: C.fdbBulk }, (_, i) => macOf(0xc0, i));
      const secs = [];
      for (let r = 0; r < Math.max(1, C.cpTrials - 2); r++) {
        secs.push(xv.fdbAddMany(macs));
        xv.fdbDeleteMany(macs);
      }
      R.control.fdbApply = { entries: C.fdbBulk, seconds: secs };
      // one entry added -> first packet forwarded by it (encap, unknown unicast not flooded)
      const X = '02:b2:00:00:00:01';
      const frame = innerFrame({ dmac: X, smac: '02:b0:00:00:02:00', src: T.sink.ip, dst: T.remote.ip });
      const floodSaved = xv.dp.flood.get(T.vni);
      xv.dp.flood.delete(T.vni);
      const lat = [];
      try {
        for (let r = 0; r < C.cpTrials; r++) {
          xv.fdbDelete(X);
          // live frames: 2M frames back to back; else a frame every C.paceUs for ≤ 2 s
          const src = await frameSource(frame, 2_000_000);
          let srcDone = false;
          src.done.then(() => (srcDone = true), () => (srcDone = true));
          await src.ready;
          await sleep(150);
          const base = sinkG.packets();
          await sleep(50);
          const leaked = sinkG.packets() - base;
          const a = process.hrtime.bigint();
          xv.fdbAdd(X);
          const b = process.hrtime.bigint();
          let c = 0n;
          const until = Date.now() + 2000;
          while (Date.now() < until) {
            if (sinkG.packets() > base + leaked) {
              c = process.hrtime.bigint();
              break;
            }
            if (srcDone) break;
            if (src.kind === 'paced') await new Promise(setImmediate); // lets the sender's exit be seen
          }
          src.stop();
          const sent = await src.done;
          lat.push({ addUs: Number(b - a) / 1e3, firstPacketUs: c ? Number(c - a) / 1e3 : null, leakedBefore: leaked,
            ...(src.kind === 'paced' ? { source: 'paced', intervalUs: sent.intervalUs, meanGapUs: sent.meanGapUs, maxGapUs: sent.maxGapUs } : { source: 'live' }) });
        }
      } finally {
        xv.fdbDelete(X);
        if (floodSaved) xv.dp.flood.set(floodSaved);
      }
      R.control.addToFirstPacket = lat;
      // scrape: stats of 4,096 VNIs
      xv.addVnis(4095);
      const scrape = [];
      for (let r = 0; r < 5; r++) {
        const a = process.hrtime.bigint();
        const m = xv.readAllStats();
        scrape.push(Number(process.hrtime.bigint() - a) / 1e6);
        if (r === 0) R.control.scrapeRows = m.size;
      }
      R.control.scrapeMs = scrape;
      R.control.vnis = xv.vniCount();
      log(`control: 100k FDB ${summary(secs).median?.toFixed(3)} s, add->first packet ${summary(lat.map((x) => x.firstPacketUs)).median?.toFixed(0)} us, stats read ${summary(scrape).median?.toFixed(2)} ms`);
    });
  }

  // ------------------------------------------------------------ 6b: control plane through the manager
  if (want('control') && xv) {
    await guarded('control manager', async () => {
      // xvtep's own mode off: the manager attaches its own programs on u0/e0.
      current?.down();
      current = undefined;
      R.control.manager = await measureManager({ env, frameSource, sinkG, sinkS, sizes: C.mgr, log, guarded });
    });
  }

  // ------------------------------------------------------------ 7: FDB scaling
  if (want('scaling') && xv) {
    await guarded('scaling', async () => {
      sinkS.attach();
      sinkG.attach();
      await use(xvOn);
      // without live frames: the cost columns from one plain test run per frame
      // (no delivery), and the many-flow pps from the closed loop (decap, one
      // CPU), whose hop gives every pass the next of C.scaleFlows inner flows
      // (loop_push flow_span): ≤ 200 frames in flight could carry no more
      const live = await liveFrames();
      R.scalingMethod = live ? 'live' : 'plain';
      const cost = live ? (p, fr, ifx, n) => liveRun(p, fr, env.vtep, ifx, n) : async (p, fr, ifx, n) => verdictIs(plainRun(p, fr, env.vtep, ifx, n), XDP_REDIRECT, p);
      const N = live ? C.costN : C.costPlainN;
      let loop;
      if (!live) {
        sinkS.detach(); // loop_push sits on s0
        loop = await loopGenerator(env, 'decap');
        closers.push(() => loop.close());
        loop.attach();
        R.scalingLoop = { inFlight: C.loopN, seconds: C.loopSecs, cpu: C.loopCpu, flows: C.scaleFlows };
      }
      const loopPps = async (seconds) => {
        const t = await loop.run({ frame: DECAP_SCALE, n: C.loopN, flowSpan: C.scaleFlows, seconds, cpu: C.loopCpu });
        if (!t.diedOut) throw new Error(`scaling: the loop still moved after its stop (forwarded ${t.forwarded})`);
        return t;
      };
      try {
        let filled = 0;
        for (const size of C.fdbSizes) {
          const add = Math.max(0, size - 2 - filled); // 2 = the lab's own static entries
          for (let i = 0; i < add; i += 100_000) {
            xv.fdbAddMany(Array.from({ length: Math.min(100_000, add - i) }, (_, j) => macOf(0xc3, filled + i + j)));
          }
          filled += add;
          const row = { size, entries: xv.fdbCount(), costDecapNs: [], costEncapNs: [], ppsDecapManyFlows: [], ...(live ? {} : { ppsDecapManyFlowsPerCpuSecond: [], loopInFlightEnd: [] }) };
          if (live) await ppsTrial('decap', C.scaleFlows, C.ppsN >> 2, DECAP_SCALE); // warm-up (learns the flows' MACs)
          else {
            await cost(xv.program('xv_xdp_underlay'), DECAP, env.ifx.u0, 10_000); // warm-up
            await cost(xv.program('xv_xdp_endpoint'), ENCAP, env.ifx.e0, 10_000);
            await loopPps(0.3); // warm-up (learns the flows' MACs)
          }
          for (let r = 0; r < C.scaleReps; r++) {
            row.costDecapNs.push((await cost(xv.program('xv_xdp_underlay'), DECAP, env.ifx.u0, N)).duration);
            row.costEncapNs.push((await cost(xv.program('xv_xdp_endpoint'), ENCAP, env.ifx.e0, N)).duration);
            if (live) row.ppsDecapManyFlows.push((await ppsTrial('decap', C.scaleFlows, C.ppsN, DECAP_SCALE)).delivered);
            else {
              const t = await loopPps(C.loopSecs);
              row.ppsDecapManyFlows.push(t.mpps);
              row.ppsDecapManyFlowsPerCpuSecond.push(t.mppsPerCpuSecond);
              row.loopInFlightEnd.push(t.inFlightEnd);
            }
          }
          row.entriesAfter = xv.fdbCount();
          R.scaling.push(row);
          log(`scaling ${size}: decap ${summary(row.costDecapNs).median?.toFixed(1)} ns, encap ${summary(row.costEncapNs).median?.toFixed(1)} ns${live ? ' (whole run)' : ' (plain test run, no delivery)'}, ` +
            `${summary(row.ppsDecapManyFlows).median?.toFixed(3)} Mpps (${C.scaleFlows} flows${live ? '' : `, closed loop; ${summary(row.ppsDecapManyFlowsPerCpuSecond).median?.toFixed(3)} per softirq-second`}), ${row.entriesAfter} entries`);
        }
      } finally {
        loop?.detach();
      }
    });
  }
} finally {
  try {
    current?.down();
  } catch {
    // cleanup: the rest must still run
  }
  closeAll(closers);
  lab.destroy();
}

if (xv) R.notes.push(...xv.notes.map((n) => `xvtep attach said: ${n.replace(/\n/g, '; ')}`));
R.seconds = (Date.now() - t0) / 1000;
mkdirSync(outDir, { recursive: true });
const stamp = R.date.replace(/[:]/g, '-').replace(/\..*/, '');
const { md } = writeReport(R, `${outDir}/${stamp}`);
writeFileSync(`${outDir}/${stamp}.json`, JSON.stringify(R, null, 1));
console.log(md);
log(`wrote ${outDir}/${stamp}.{json,md,svg}`);

// ---------------------------------------------------------------- helpers
function macOf(tag, i) {
  const b = [0x02, tag, (i >>> 24) & 255, (i >>> 16) & 255, (i >>> 8) & 255, i & 255];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** n small UDP datagrams from the sink namespace to addr, over `flows` source ports (a bounded Python loop). */
function udpBlast(addr, flows, n) {
  const py = 'import socket,sys\nn,f,a=int(sys.argv[1]),int(sys.argv[2]),sys.argv[3]\n' +
    'ss=[socket.socket(socket.AF_INET,socket.SOCK_DGRAM) for _ in range(f)]\n' +
    '[s.bind(("0.0.0.0",40000+i)) for i,s in enumerate(ss)]\n[s.setblocking(False) for s in ss]\nd=b"x"*18\nk=0\n' +
    'for i in range(n):\n  try: ss[i%f].sendto(d,(a,9)); k+=1\n  except OSError: pass\nprint(k)\n';
  const r = spawnSync('ip', ['netns', 'exec', env.sink, 'timeout', '60', 'python3', '-c', py, String(n), String(flows), addr], { encoding: 'utf8', timeout: 65_000 });
  if (r.status !== 0) throw new Error(`udp sender exited ${r.status ?? r.signal}: ${r.stderr}`);
  return Number(r.stdout.trim());
}


async function pingpong(addr, count) {
  const port = '7007';
  const script = new URL('./lib/pingpong.mjs', import.meta.url).pathname;
  const server = spawn('ip', ['netns', 'exec', env.sink, 'timeout', '40', process.execPath, script, 'server', port, '3000'], { stdio: 'ignore' });
  try {
    await sleep(400);
    const r = spawnSync('ip', ['netns', 'exec', env.gen, 'timeout', '40', process.execPath, script, 'client', addr, port, String(count)], { encoding: 'utf8', timeout: 45_000 });
    return JSON.parse(r.stdout);
  } finally {
    server.kill('SIGTERM');
  }
}
