// The live-frames generator (bench/bpf/gen.bpf.o) shared by bench/run.mjs and
// bench/manager.mjs: one loaded program per (flows, byte offset, port offset),
// run through BPF_PROG_TEST_RUN with XDP_LIVE_FRAMES in a lab namespace.
import { ObjectSpec, TestRunFlag, u32, xdpContext } from '../../dist/bpf/index.js';
import { BUILD } from './topo.mjs';

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
  return { genProgram, liveRun };
}
