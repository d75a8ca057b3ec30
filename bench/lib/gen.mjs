// The live-frames generator (bench/bpf/gen.bpf.o) shared by bench/run.mjs and
// bench/manager.mjs: one loaded program per (flows, byte offset, port offset),
// run through BPF_PROG_TEST_RUN with XDP_LIVE_FRAMES in a lab namespace; and
// plainRun, a program timed without live frames (for kernels that refuse them).
import { ObjectSpec, TestRunFlag, u32, xdpContext } from '../../dist/bpf/index.js';
import { BUILD } from './topo.mjs';
import { pacedSender } from './senders.mjs';

/** closers: where the loaded programs register their close(). */
export function generators(lab, closers) {
  const gens = new Map();
  async function genProgram(nflows, byteOff, portOff) {
    const key = `${nflows}/${byteOff}/${portOff}`;
    if (!gens.has(key)) {
      const spec = ObjectSpec.open(`${BUILD}bench/gen.bpf.o`, `gen${gens.size}`);
      spec.setConstant('gen_nflows', u32, nflows).setConstant('gen_byte_off', u32, byteOff).setConstant('gen_port_off', u32, portOff);
      const coll = await spec.load();
      closers.push(() => coll.close());
      gens.set(key, coll.program('gen'));
    }
    return gens.get(key);
  }
  async function liveRun(prog, frame, ns, ifindex, n) {
    const w0 = process.hrtime.bigint();
    const r = await prog.testRunAsync({
      data: frame, ctx: xdpContext({ dataLength: frame.length, ingressIfindex: ifindex }), repeat: n, flags: TestRunFlag.XDP_LIVE_FRAMES, batchSize: 64, netns: lab.netns(ns),
    });
    return { wall: Number(process.hrtime.bigint() - w0) / 1e9, duration: r.duration };
  }
  /**
   * n plain BPF_PROG_TEST_RUNs of one frame each (not repeat n: that re-runs on
   * what the previous run left, e.g. the inner frame after a decap), in ns (the
   * ingress ifindex resolves there). duration: the kernel's ns per run, the
   * program and the run's clock reads; the verdict is returned, not carried
   * out: a redirect's delivery is not in it. verdicts: the XDP actions returned.
   */
  function plainRun(prog, frame, ns, ifindex, n) {
    const o = { data: frame, ctx: xdpContext({ dataLength: frame.length, ingressIfindex: ifindex }), repeat: 1 };
    const w0 = process.hrtime.bigint();
    const verdicts = new Set();
    const total = lab.in(ns, () => {
      let t = 0;
      for (let i = 0; i < n; i++) {
        const r = prog.testRun(o);
        t += r.duration;
        verdicts.add(r.retval);
      }
      return t;
    });
    return { wall: Number(process.hrtime.bigint() - w0) / 1e9, duration: total / n, verdicts: [...verdicts] };
  }
  return { genProgram, liveRun, plainRun };
}

/**
 * Frame sources from the container (s0 in env.sink) for the "add an entry ->
 * first packet" trials. liveFrames(): whether the kernel takes live frames
 * (one probeFrame, once; onRefused(error) when not). frameSource(frame, n):
 * the live generator (n frames back to back) where it does, else pacedSender
 * (one frame every paceUs for ≤ 2 s); { kind, ready, done, stop }.
 */
export function frameSources({ env, genProgram, liveRun, probeFrame, paceUs = 50, onRefused = () => {} }) {
  let probe;
  const liveFrames = () => (probe ??= (async () => {
    try {
      await liveRun(await genProgram(1, 0, 0), probeFrame, env.sink, env.ifx.s0, 1);
      return true;
    } catch (e) {
      onRefused(e);
      return false;
    }
  })());
  async function frameSource(frame, n) {
    if (await liveFrames()) {
      const done = liveRun(await genProgram(1, 0, 0), frame, env.sink, env.ifx.s0, n);
      done.catch(() => {}); // awaited by the caller; a refusal must not crash the run before then
      return { kind: 'live', ready: Promise.resolve(), done, stop: () => {} };
    }
    return { kind: 'paced', ...pacedSender(env.sink, 's0', frame, { intervalUs: paceUs, seconds: 2 }) };
  }
  return { liveFrames, frameSource };
}
