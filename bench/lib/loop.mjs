// The closed-loop pps generator (test/fixtures/loop.bpf.c), for kernels that
// refuse BPF_F_TEST_XDP_LIVE_FRAMES. N frames are injected once (AF_PACKET,
// one CPU) and then circulate: for encap, s0 -> e0 -> [VTEP host encaps] -> u0
// -> g0, where loop_strip counts, strips the outer header and redirects the
// inner frame into s0 again; for decap, g0 -> u0 -> [VTEP host decaps] -> e0
// -> s0, where loop_push counts, pushes the outer header back and redirects
// into g0. The rate is the count over a timed window: what the VTEP host's
// path plus one cheap XDP hop costs, on the CPU the frames circulate on.
//
// Bounds (the lab's rules): the program forwards nothing after a deadline
// (set before injecting, a few seconds out) or past a per-CPU budget; the
// harness ends each run by moving the deadline to 0, then waits for the
// stopped counter to settle: what it counted after the stop is how many
// frames were still circulating (≤ N), and nothing can circulate after it.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { ObjectSpec, u32, u64, sumPerCpu } from '../../dist/bpf/index.js';
import { BUILD } from './topo.mjs';
import { sh } from './lab.mjs';

const FWD = 0, STOPPED = 1, PASSED = 2;
const CTL_SIZE = 80; // struct loop_ctl
export const OUTER_LEN = 50;
/** A veth's XDP ring holds 256 frames: the loop keeps fewer than that in flight. */
export const MAX_IN_FLIGHT = 200;

/** Seconds this CPU has spent in softirq (NAPI polls, in or out of ksoftirqd): /proc/stat, USER_HZ ticks. */
export function softirqSeconds(cpu) {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) throw new Error(`/proc/stat has no cpu${cpu}`);
  return Number(line.trim().split(/\s+/)[7]) / 100;
}

/** A CPU's busy and total time so far: /proc/stat, USER_HZ ticks (busy: all but idle and iowait). */
export function cpuTicks(cpu) {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) throw new Error(`/proc/stat has no cpu${cpu}`);
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - v[3] - v[4], total };
}

/** NET_RX softirqs raised so far, per CPU (/proc/softirqs). */
export function netRxSoftirqs() {
  const line = readFileSync('/proc/softirqs', 'utf8').split('\n').find((l) => l.trim().startsWith('NET_RX:'));
  return line.trim().split(/\s+/).slice(1).map(Number);
}

/** Live kernel threads whose name (comm) starts with prefix: [{ pid, comm }]. */
function kthreads(prefix) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
      if (comm.startsWith(prefix)) out.push({ pid: Number(d), comm });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** A task's CPU time so far, ns (/proc/<pid>/schedstat: exact, unlike the ticks of /proc/<pid>/stat). */
function taskNs(pid) {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
}

/** Times a task went to sleep so far (voluntary context switches): for a NAPI kthread, one wake-up each. */
function taskSleeps(pid) {
  return Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^voluntary_ctxt_switches:\s*(\d+)/m)?.[1] ?? NaN);
}

/** The CPU a task last ran on (/proc/<pid>/stat field 39) and the CPUs it may run on. */
function taskCpu(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const last = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[36]);
  const allowed = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Cpus_allowed_list:\s*(\S+)/m)?.[1];
  return { last, allowed };
}

/**
 * The lab veths' drop and error counters that are not zero (ethtool -S), for
 * the message of a loop that died out: dropped frames show up here, frames
 * stranded in a ring whose NAPI nobody woke do not.
 */
export function vethDrops(env) {
  const out = [];
  for (const [ns, ifc] of [[env.gen, 'g0'], [env.vtep, 'u0'], [env.vtep, 'e0'], [env.sink, 's0']]) {
    const r = env.lab.tryExec(ns, 'ethtool', '-S', ifc);
    for (const l of r.out.split('\n')) {
      const m = l.trim().match(/^(\S*(?:drop|err|full)\S*):\s*(\d+)$/);
      if (m && m[2] !== '0') out.push(`${ifc}.${m[1]}=${m[2]}`);
    }
  }
  return out.join(' ') || 'none';
}

/**
 * The two-CPU pipeline: every lab veth's NAPI threaded (its own kthread,
 * napi/<dev>-<napi id>); the VTEP host's (u0, e0) pinned to vtepCpu, the far
 * side's (g0, s0: the loop's hop and where frames are injected) to hopCpu.
 * The VTEP path and the loop's return hop then run in different threads on
 * different CPUs, and the VTEP stage's cost is its kthreads' CPU time: the
 * hop is no longer in it. Everything the VTEP host does for a frame runs in
 * those kthreads (XDP, GRO, bridge, vxlan, the xmit that schedules the next
 * NAPI; softirqs raised there, e.g. vxlan's gro_cells, run at their
 * local_bh_enable, in their time too), unless the kernel defers a softirq
 * to ksoftirqd: sample() reports that CPU's ksoftirqd time as well.
 */
export function napiPipeline(env, { vtepCpu = 0, hopCpu = 1, hopDeferUs = 20 } = {}) {
  const { lab } = env;
  if (vtepCpu === hopCpu) throw new Error(`loop pipeline: the VTEP CPU and the hop's CPU must differ (both ${vtepCpu})`);
  const plan = [[env.vtep, 'u0', vtepCpu, 'vtep'], [env.vtep, 'e0', vtepCpu, 'vtep'], [env.gen, 'g0', hopCpu, 'hop'], [env.sink, 's0', hopCpu, 'hop']];
  const threaded = (ns, ifc, v) => lab.exec(ns, 'sh', '-c', `echo ${v} > /sys/class/net/${ifc}/threaded`);
  const undo = (t) => lab.tryExec(t.ns, 'sh', '-c', `echo 0 > /sys/class/net/${t.ifc}/threaded; echo 0 > /sys/class/net/${t.ifc}/napi_defer_hard_irqs; echo 0 > /sys/class/net/${t.ifc}/gro_flush_timeout`);
  const threads = [];
  try {
    for (const [ns, ifc, cpu, stage] of plan) {
      // the kthread is named after the NAPI id, which survives a re-created NAPI (GRO or XDP toggled):
      // the one that appears now is this device's
      const before = new Set(kthreads(`napi/${ifc}-`).map((t) => t.comm));
      threaded(ns, ifc, 1);
      const mine = kthreads(`napi/${ifc}-`).filter((t) => !before.has(t.comm));
      if (mine.length !== 1) throw new Error(`loop pipeline: ${ifc}: ${mine.length} new napi/${ifc}-* kthreads after enabling threaded NAPI (one expected: no NAPI, i.e. neither GRO nor XDP on it?)`);
      threads.push({ ns, ifc, cpu, stage, comm: mine[0].comm });
      // The hop's NAPI, once done, leaves its veth's notifications masked and is polled again by a
      // timer (hopDeferUs later) rather than woken by the next frame: without this the VTEP stage
      // (the kernel's above all: its veth_xmit schedules the peer's NAPI per skb) paid a cross-CPU
      // wake-up of the faster, idle hop every few frames, 29 % of the kernel VTEP's kthread time
      // under perf (__napi_schedule from veth_xmit), a cost the single-CPU loop does not have.
      if (stage === 'hop' && hopDeferUs > 0) {
        lab.exec(ns, 'sh', '-c', `echo 1000 > /sys/class/net/${ifc}/napi_defer_hard_irqs && echo ${hopDeferUs * 1000} > /sys/class/net/${ifc}/gro_flush_timeout`);
      }
    }
  } catch (e) {
    for (const t of threads) undo(t);
    throw e;
  }
  const pidOf = (t) => {
    const m = kthreads(t.comm).filter((x) => x.comm === t.comm);
    if (m.length !== 1) throw new Error(`loop pipeline: ${m.length} kthreads named ${t.comm} (${t.ifc}'s NAPI)`);
    return m[0].pid;
  };
  const ksoftirqd = (cpu) => kthreads(`ksoftirqd/${cpu}`).find((x) => x.comm === `ksoftirqd/${cpu}`)?.pid;
  return {
    vtepCpu, hopCpu, hopDeferUs, threads,
    /** (Re-)pins every NAPI kthread (a re-created NAPI gets a new one): call before each measurement. */
    pin() {
      for (const t of threads) {
        t.pid = pidOf(t);
        sh('taskset', ['-pc', String(t.cpu), String(t.pid)]);
      }
    },
    /** CPU time (ns) of each stage's kthreads and of the two ksoftirqds, the CPUs' ticks, NET_RX counts. */
    sample() {
      const ns = { vtep: 0, hop: 0 }, sleeps = { vtep: 0, hop: 0 };
      const where = {};
      for (const t of threads) {
        ns[t.stage] += taskNs(t.pid);
        sleeps[t.stage] += taskSleeps(t.pid);
        where[t.ifc] = taskCpu(t.pid);
      }
      const kv = ksoftirqd(vtepCpu), kh = ksoftirqd(hopCpu);
      return {
        t: process.hrtime.bigint(), ns, sleeps, where, netRx: netRxSoftirqs(),
        ksoftirqdNs: { vtep: kv ? taskNs(kv) : 0, hop: kh ? taskNs(kh) : 0 },
        ticks: { vtep: cpuTicks(vtepCpu), hop: cpuTicks(hopCpu) },
      };
    },
    close() {
      for (const t of threads) undo(t);
    },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => process.hrtime.bigint();

// Injects n copies of one frame through an AF_PACKET socket on ifc, spread
// over f flows (flow number in the byte at bo, 49152 + flow in the be16 at
// po; 0 = leave alone), pinned to one CPU so the loop starts on one CPU.
const INJECT_PY = `import socket,sys,binascii
ifc,n,f,bo,po=sys.argv[1],int(sys.argv[2]),int(sys.argv[3]),int(sys.argv[4]),int(sys.argv[5])
b=bytearray(binascii.unhexlify(sys.argv[6]))
s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,0)
s.bind((ifc,0))
k=0
for i in range(n):
  fl=i%f
  if bo: b[bo]=fl
  if po: b[po:po+2]=(49152+fl).to_bytes(2,'big')
  k+=1 if s.send(b)==len(b) else 0
print(k)
`;

/** struct loop_ctl */
function ctlBuffer({ deadlineNs, budget = 0n, flowSport = false, outer, outerLen = OUTER_LEN, flowSpan = 0 }) {
  const b = Buffer.alloc(CTL_SIZE);
  b.writeBigUInt64LE(deadlineNs, 0);
  b.writeBigUInt64LE(budget, 8);
  b.writeUInt32LE(flowSport ? 1 : 0, 16);
  b.writeUInt32LE(outerLen, 20);
  if (outer) outer.copy(b, 24, 0, OUTER_LEN);
  b.writeUInt32LE(flowSpan, 76);
  return b;
}

/** The most inner flows loop_push cycles through (flowSpan: the inner source MAC's last two bytes). */
export const MAX_FLOW_SPAN = 65536;

/**
 * dir 'encap': loop_strip on g0, redirecting into s0 (devmap written from the
 * sink ns), frames injected on s0. dir 'decap': loop_push on s0, redirecting
 * into g0 (devmap written from the gen ns), frames injected on g0; `frame`
 * (the VXLAN frame injected) gives the outer header pushed back.
 */
export async function loopGenerator(env, dir) {
  const { lab } = env;
  const side = dir === 'encap'
    ? { progNs: env.gen, progIf: 'g0', prog: 'loop_strip', outNs: env.sink, outIfx: env.ifx.s0, injNs: env.sink, injIf: 's0' }
    : { progNs: env.sink, progIf: 's0', prog: 'loop_push', outNs: env.gen, outIfx: env.ifx.g0, injNs: env.gen, injIf: 'g0' };
  const coll = await ObjectSpec.open(`${BUILD}fixtures/loop.bpf.o`, `loop-${dir}`).load();
  const ctl = coll.map('loop_ctl');
  const stats = coll.perCpuMap('loop_stats', u32, u64);
  const out = coll.map('loop_out', u32, u32);
  // resolved now, in the namespace of the writing thread: the target's
  lab.in(side.outNs, () => out.set(0, side.outIfx));
  let link;

  const writeCtl = (c) => ctl.set(Buffer.alloc(4), ctlBuffer(c));
  const perCpu = (k) => stats.get(k).map(Number);
  const total = (k) => Number(sumPerCpu(stats.get(k)));
  writeCtl({ deadlineNs: 0n });

  // Until neither counter has moved for stableMs: then nothing circulates
  // (a frame takes microseconds per round).
  async function settleAll(maxMs = 3000, stableMs = 60) {
    const read = () => [total(FWD), total(STOPPED)];
    let last = read(), since = Date.now();
    const until = Date.now() + maxMs;
    while (Date.now() < until) {
      await sleep(10);
      const v = read();
      if (v[0] !== last[0] || v[1] !== last[1]) [last, since] = [v, Date.now()];
      else if (Date.now() - since >= stableMs) return { inFlightEnd: v[1], diedOut: true, passed: total(PASSED) };
    }
    return { inFlightEnd: last[1], diedOut: false, passed: total(PASSED) };
  }

  return {
    dir,
    attach() {
      if (!link) link = lab.in(side.progNs, () => coll.program(side.prog).attachXdp(side.progIf, { mode: 'driver' }));
    },
    detach() {
      link?.close();
      link = undefined;
    },
    /** Counters so far (all CPUs). */
    stats: () => ({ forwarded: total(FWD), stopped: total(STOPPED), passed: total(PASSED) }),
    /**
     * Zeroes the counters, arms the bounds and injects n frames. frame: what
     * is injected (for decap the VXLAN frame, whose first 50 bytes are the
     * header pushed back); flows > 1 spreads the frames over flows
     * (byteOff/portOff as bench/bpf/gen.bpf.c). The program forwards until
     * deadlineMs from now, and at most budget frames per CPU. floor: the
     * loop's floor (see floorMode): nothing stripped or pushed, frame is
     * what circulates as it is (encap: a VXLAN frame; decap: an inner one).
     * flowSpan (decap only): each pass carries the next of flowSpan inner
     * flows (source MAC's last two bytes, outer source port), so the VTEP
     * host sees more flows than the ≤ 200 frames in flight could carry.
     */
    start({ frame, n, flows = 1, byteOff = 0, portOff = 0, cpu = 0, deadlineMs, budget, floor = false, flowSpan = 0 }) {
      if (!(n >= 1 && n <= MAX_IN_FLIGHT)) throw new Error(`loop: ${n} frames in flight, 1..${MAX_IN_FLIGHT} allowed (a veth ring holds 256)`);
      if (!(Number.isInteger(flowSpan) && flowSpan >= 0 && flowSpan <= MAX_FLOW_SPAN)) throw new Error(`loop: flowSpan ${flowSpan}, 0..${MAX_FLOW_SPAN} allowed`);
      if (flowSpan && (dir !== 'decap' || floor || flows > 1)) throw new Error('loop: flowSpan is for the decap loop, one injected flow, not the floor');
      if (!(deadlineMs > 0 && deadlineMs <= 60_000)) throw new Error(`loop: deadline ${deadlineMs} ms, 1..60000 allowed`);
      writeCtl({ deadlineNs: 0n });
      for (const k of [FWD, STOPPED, PASSED]) stats.set(k, 0n);
      writeCtl({
        deadlineNs: now() + BigInt(Math.round(deadlineMs * 1e6)),
        // default: per CPU, more than a CPU forwards before the deadline
        budget: BigInt(budget ?? Math.ceil((deadlineMs / 1000) * 50e6)),
        flowSport: dir === 'decap' && flows > 1 && !floor,
        outer: dir === 'decap' && !floor ? frame : undefined,
        outerLen: floor ? 0 : OUTER_LEN,
        flowSpan,
      });
      const r = spawnSync('ip', ['netns', 'exec', side.injNs, 'taskset', '-c', String(cpu), 'timeout', '20', 'python3', '-c', INJECT_PY,
        side.injIf, String(n), String(flows), String(flows > 1 ? byteOff : 0), String(flows > 1 ? portOff : 0), frame.toString('hex')], { encoding: 'utf8', timeout: 25_000 });
      if (r.status !== 0) {
        writeCtl({ deadlineNs: 0n });
        throw new Error(`loop: injector exited ${r.status ?? r.signal}: ${(r.stderr || '').trim()}`);
      }
      return Number(r.stdout.trim());
    },
    /**
     * Stops the loop (deadline 0: every frame that comes round again is
     * dropped and counted) and waits for the counters to settle. inFlightEnd:
     * frames still circulating at the stop; diedOut: nothing moves any more.
     */
    async stop() {
      writeCtl({ deadlineNs: 0n });
      return settleAll();
    },
    /** Waits (≤ maxMs) for the counters to stop moving, the loop stopped by its deadline or budget. */
    settle: (maxMs = 3000) => settleAll(maxMs),
    /**
     * One measurement: start(), let the frames circulate warmupMs, count for
     * seconds, stop(). Mpps = forwarded in the window / its wall time.
     */
    async run({ frame, n, flows = 1, byteOff = 0, portOff = 0, seconds = 1, warmupMs = 200, cpu = 0, floor = false, pipeline, flowSpan = 0 }) {
      let res;
      try {
        pipeline?.pin();
        // the deadline counts from before the injector starts (Python, slow to start on a loaded machine)
        const sent = this.start({ frame, n, flows, byteOff, portOff, cpu, floor, flowSpan, deadlineMs: Math.min(20_000, warmupMs + seconds * 1000 + 8000) });
        await sleep(warmupMs);
        const q0 = pipeline?.sample();
        const c0 = total(FWD), p0 = perCpu(FWD), s0 = softirqSeconds(cpu), t0 = now();
        await sleep(seconds * 1000);
        const c1 = total(FWD), p1 = perCpu(FWD), s1 = softirqSeconds(cpu), t1 = now();
        const q1 = pipeline?.sample();
        if (total(STOPPED)) throw new Error('loop: the deadline or the budget ended the loop inside the measuring window');
        const window = Number(t1 - t0) / 1e9;
        const cpus = p1.map((v, i) => [i, v - p0[i]]).filter(([, v]) => v > 0).map(([i]) => i);
        res = {
          sent, injected: n, window, forwarded: c1 - c0, mpps: (c1 - c0) / window / 1e6, cpus,
          // the same count over the softirq time of the CPU it ran on: less sensitive to the
          // other tasks on that CPU (it also holds whatever else ran in softirq there)
          softirqShare: (s1 - s0) / window,
          mppsPerCpuSecond: cpus.length === 1 && cpus[0] === cpu && s1 > s0 ? (c1 - c0) / (s1 - s0) / 1e6 : null,
        };
        if (pipeline) res = { ...res, mppsPerCpuSecond: null, ...pipelineFigures(pipeline, q0, q1, c1 - c0) };
      } finally {
        writeCtl({ deadlineNs: 0n });
      }
      return { ...res, ...(await settleAll()) };
    },
    close() {
      try {
        writeCtl({ deadlineNs: 0n });
      } finally {
        this.detach();
        coll.close();
      }
    },
  };
}

/**
 * What a pipeline run measured between two samples, for count frames:
 * vtepCpuSeconds (the VTEP host's NAPI kthreads) and mppsPerVtepCpuSecond,
 * the main figure; the stages' and the CPUs' busy fractions of the window
 * (cpuBusy: everything on that CPU, other tasks too); where each kthread
 * last ran and may run; NET_RX softirqs raised per CPU (threaded NAPI raises
 * none: a count near the frame count would mean polls in softirq after all);
 * the ksoftirqds' CPU time (softirq work deferred out of the kthreads).
 */
function pipelineFigures(pl, q0, q1, count) {
  const wall = Number(q1.t - q0.t) / 1e9;
  const sec = (k) => (q1.ns[k] - q0.ns[k]) / 1e9;
  const busy = (k) => (q1.ticks[k].busy - q0.ticks[k].busy) / Math.max(1, q1.ticks[k].total - q0.ticks[k].total);
  const vtepCpuSeconds = sec('vtep'), hopCpuSeconds = sec('hop');
  const vtepShare = vtepCpuSeconds / wall, hopShare = hopCpuSeconds / wall;
  return {
    vtepCpuSeconds, hopCpuSeconds,
    mppsPerVtepCpuSecond: vtepCpuSeconds > 0 ? count / vtepCpuSeconds / 1e6 : null,
    mppsPerHopCpuSecond: hopCpuSeconds > 0 ? count / hopCpuSeconds / 1e6 : null,
    vtepShare, hopShare,
    cpuBusy: { vtep: busy('vtep'), hop: busy('hop') },
    // the stage whose kthreads got more of the window sets the wall rate
    bottleneck: hopShare > vtepShare ? 'hop' : 'vtep',
    // each sleep of a stage's kthread is a wake-up the other stage paid for (try_to_wake_up, an IPI):
    // per frame, how much of that the pipeline adds to the stages' CPU time
    wakeupsPerFrame: { vtep: (q1.sleeps.vtep - q0.sleeps.vtep) / Math.max(1, count), hop: (q1.sleeps.hop - q0.sleeps.hop) / Math.max(1, count) },
    where: q1.where,
    netRx: q1.netRx.map((v, i) => v - q0.netRx[i]),
    ksoftirqdSeconds: { vtep: (q1.ksoftirqdNs.vtep - q0.ksoftirqdNs.vtep) / 1e9, hop: (q1.ksoftirqdNs.hop - q0.ksoftirqdNs.hop) / 1e9 },
  };
}

/**
 * The loop's floor as a VTEP-host mode: the loop's own program, a second
 * instance, on the VTEP host (encap: loop_strip on e0 -> u0; decap: loop_push
 * on u0 -> e0), nothing stripped or pushed on either side; run with
 * loop.run({ floor: true }). A round then is two identical hops (NAPI on a
 * veth, the same program, a DEVMAP redirect into the other veth): half a
 * floor round is the loop's hop. Its own deadline (set by up(), 120 s) bounds
 * it too; the loop's far side stops the frames first.
 */
export async function floorMode(env, dir) {
  const { lab, vtep, ifx } = env;
  const coll = await ObjectSpec.open(`${BUILD}fixtures/loop.bpf.o`, `loop-floor-${dir}`).load();
  const ctl = coll.map('loop_ctl');
  lab.in(vtep, () => coll.map('loop_out', u32, u32).set(0, dir === 'encap' ? ifx.u0 : ifx.e0));
  const arm = (ms) => ctl.set(Buffer.alloc(4), ctlBuffer({ deadlineNs: ms ? now() + BigInt(ms) * 1_000_000n : 0n, budget: BigInt(ms * 50_000), outerLen: 0 }));
  arm(0);
  const stats = coll.perCpuMap('loop_stats', u32, u64);
  let link;
  return {
    name: 'loop-floor',
    /** Frames its program forwarded so far, per CPU: where the VTEP host's NAPI ran. */
    perCpu: () => stats.get(FWD).map(Number),
    configuration: 'loop floor: the loop\'s own program on the VTEP host too (encap: loop_strip on e0 → u0, decap: loop_push on u0 → e0), nothing stripped or pushed: two identical hops per round',
    up() {
      arm(120_000);
      link = lab.in(vtep, () => coll.program(dir === 'encap' ? 'loop_strip' : 'loop_push').attachXdp(dir === 'encap' ? 'e0' : 'u0', { mode: 'driver' }));
    },
    down() {
      arm(0);
      link?.close();
      link = undefined;
    },
    close() {
      this.down();
      coll.close();
    },
  };
}
