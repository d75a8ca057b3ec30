// The closed-loop pps generator of the benchmarks (bench/lib/loop.mjs,
// test/fixtures/loop.bpf.c), against the XDP ceiling in the bench's own lab:
// the frames circulate (the counter moves, on one CPU), none is lost, the
// deadline and the budget stop the loop by themselves, and after every stop
// nothing is left circulating. With threaded NAPI on two CPUs (the pipeline),
// the VTEP host's NAPI runs on one CPU and the loop's hop on the other.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { T, buildLab, ceilingMode } from '../../bench/lib/topo.mjs';
import { floorMode, loopGenerator, MAX_IN_FLIGHT, napiPipeline } from '../../bench/lib/loop.mjs';
import { innerFrame, vxlanFrame } from '../../bench/lib/packets.mjs';
import { destroyBenchLab } from '../helpers/benchlab.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Once stopped, no counter of the loop moves any more. */
const expectStill = async (gen: { stats(): unknown }) => {
  const after = gen.stats();
  await sleep(100);
  expect(gen.stats()).toEqual(after);
};
const ENCAP: Buffer = innerFrame({ dmac: T.remote.mac, smac: '02:b0:00:00:02:00', src: T.sink.ip, dst: T.remote.ip });
const DECAP: Buffer = vxlanFrame({ dmac: T.uly.mac, smac: T.gen.mac, src: T.gen.ip, dst: T.uly.ip, vni: T.vni },
  innerFrame({ dmac: T.sink.mac, smac: T.remote.mac, src: T.remote.ip, dst: T.sink.ip }));

let env: any, ceiling: any, encap: any, decap: any, pipeline: any, prefix: string;

beforeAll(async () => {
  env = buildLab();
  prefix = env.lab.prefix;
  ceiling = await ceilingMode(env);
  ceiling.profile({ decap: 'xdp', encap: 'xdp' }).up();
  encap = await loopGenerator(env, 'encap');
  decap = await loopGenerator(env, 'decap');
});

afterAll(() => destroyBenchLab(env, prefix, [pipeline, encap, decap, ceiling]));

describe('closed-loop generator (XDP ceiling as the VTEP host)', () => {
  it('encap: 32 frames circulate on one CPU, all 32 are still there at the stop, then nothing moves', async () => {
    encap.attach();
    try {
      const r = await encap.run({ frame: ENCAP, n: 32, seconds: 0.3, warmupMs: 100 });
      expect(r.sent).toBe(32);
      expect(r.forwarded).toBeGreaterThan(10_000); // ~2 Mpps here: 0.3 s is ~600k
      expect(r.mpps).toBeGreaterThan(0.03);
      expect(r.cpus).toEqual([0]); // injected from CPU 0, it stays there
      expect(r.inFlightEnd).toBe(32);
      expect(r.diedOut).toBe(true);
      await expectStill(encap);
    } finally {
      encap.detach();
    }
  });

  it('decap: the outer header pushed back is the injected one (the ceiling decaps it again), 64 flows', async () => {
    decap.attach();
    try {
      const r = await decap.run({ frame: DECAP, n: 64, flows: 64, byteOff: 50 + 11, portOff: 34, seconds: 0.3, warmupMs: 100 });
      expect(r.forwarded).toBeGreaterThan(10_000);
      expect(r.inFlightEnd).toBe(64);
      expect(r.diedOut).toBe(true);
    } finally {
      decap.detach();
    }
  });

  it('the deadline stops the loop by itself: every frame is dropped and counted once it has passed', async () => {
    encap.attach();
    try {
      const t0 = Date.now();
      encap.start({ frame: ENCAP, n: 16, deadlineMs: 3000 }); // returns once the injector is done (Python: slow when loaded)
      await sleep(100);
      const mid = encap.stats();
      expect(Date.now() - t0, 'the injector took the deadline up: nothing to test').toBeLessThan(2900);
      expect(mid.forwarded).toBeGreaterThan(1000);
      expect(mid.stopped).toBe(0);
      const s = await encap.settle(6000); // no stop(): only the deadline ends it
      expect(s.diedOut).toBe(true);
      expect(s.inFlightEnd).toBe(16);
      const end = encap.stats();
      expect(end.forwarded).toBeGreaterThan(mid.forwarded);
      await sleep(100);
      expect(encap.stats()).toEqual(end);
    } finally {
      encap.detach();
    }
  });

  it('the budget stops it: exactly the budget is forwarded on the one CPU it runs on', async () => {
    encap.attach();
    try {
      encap.start({ frame: ENCAP, n: 8, deadlineMs: 20_000, budget: 20_000 });
      const s = await encap.settle(3000);
      expect(s.diedOut).toBe(true);
      expect(s.inFlightEnd).toBe(8);
      expect(encap.stats().forwarded).toBe(20_000);
    } finally {
      await encap.stop();
      encap.detach();
    }
  });

  it('frames that are not the loop\'s (inner frame not an ICMP echo) go up to the stack, not round the loop', async () => {
    const udp = Buffer.from(ENCAP);
    udp[23] = 17; // inner IP protocol UDP (the kernel VTEP's bridge floods its own multicast like this)
    encap.attach();
    try {
      encap.start({ frame: udp, n: 4, deadlineMs: 2000 });
      const s = await encap.stop();
      expect(encap.stats().forwarded).toBe(0);
      expect(encap.stats().passed).toBe(4);
      expect(s.inFlightEnd).toBe(0);
    } finally {
      encap.detach();
    }
  });

  it('the floor (the loop\'s own program on the VTEP host too, whole VXLAN frames go round): circulates, none lost', async () => {
    const floor = await floorMode(env, 'encap');
    ceiling.down();
    floor.up();
    encap.attach();
    try {
      const r = await encap.run({ frame: DECAP, n: 32, seconds: 0.3, warmupMs: 100, floor: true });
      expect(r.forwarded).toBeGreaterThan(10_000);
      expect(r.inFlightEnd).toBe(32);
      expect(r.diedOut).toBe(true);
    } finally {
      encap.detach();
      floor.close();
      ceiling.up();
    }
  });

  it('without its program on the far veth nothing circulates, and more than a veth ring could hold is refused', async () => {
    expect(() => encap.start({ frame: ENCAP, n: MAX_IN_FLIGHT + 1, deadlineMs: 100 })).toThrow(/frames in flight/);
    encap.start({ frame: ENCAP, n: 8, deadlineMs: 300 }); // not attached: g0's stack drops the VXLAN frames
    await sleep(100);
    const s = await encap.stop();
    expect(encap.stats().forwarded).toBe(0);
    expect(s.inFlightEnd).toBe(0);
  });
});

// The two-CPU pipeline: the VTEP host's veths' NAPI threaded on CPU 0, the
// far side's (the loop's hop) on CPU 1. Runs after the single-CPU tests above
// (vitest keeps the file's order), which need the NAPIs unthreaded.
describe('closed-loop generator, threaded NAPI on two CPUs', () => {
  beforeAll(() => {
    pipeline = napiPipeline(env, { vtepCpu: 0, hopCpu: 1 });
  });
  afterAll(() => {
    pipeline?.close();
    pipeline = undefined;
  });

  it('the VTEP host\'s NAPI kthreads run on CPU 0 only, the hop\'s on CPU 1; the VTEP stage\'s CPU time is counted', async () => {
    expect(pipeline.threads.map((t: any) => t.ifc)).toEqual(['u0', 'e0', 'g0', 's0']);
    encap.attach();
    try {
      const r = await encap.run({ frame: ENCAP, n: 32, seconds: 0.5, warmupMs: 100, pipeline });
      expect(r.forwarded).toBeGreaterThan(10_000);
      expect(r.cpus).toEqual([1]); // the loop's program (g0) counted on the hop's CPU only
      // the threads that worked (encap: e0's, the VTEP path, and g0's, the hop) ran where they were pinned;
      // u0's and s0's receive nothing in encap
      expect(r.where.e0).toEqual({ last: 0, allowed: '0' });
      expect(r.where.g0).toEqual({ last: 1, allowed: '1' });
      expect(r.where.u0.allowed).toBe('0');
      expect(r.where.s0.allowed).toBe('1');
      expect(r.vtepCpuSeconds).toBeGreaterThan(0.005);
      expect(r.hopCpuSeconds).toBeGreaterThan(0.005);
      expect(r.mppsPerVtepCpuSecond).toBeCloseTo(r.forwarded / r.vtepCpuSeconds / 1e6, 6);
      // (NET_RX softirq counts are recorded, r.netRx, but not asserted: other tests' traffic moves them)
      expect(r.netRx.length).toBeGreaterThanOrEqual(2);
      expect(r.inFlightEnd).toBe(32);
      expect(r.diedOut).toBe(true);
      await expectStill(encap);
    } finally {
      encap.detach();
    }
  });

  it('the VTEP-side program (the floor\'s, on e0) counts on CPU 0 only, and every frame it forwarded came round to the hop', async () => {
    const floor = await floorMode(env, 'encap');
    ceiling.down();
    floor.up();
    encap.attach();
    try {
      const f0 = floor.perCpu();
      const r = await encap.run({ frame: DECAP, n: 32, seconds: 0.3, warmupMs: 100, floor: true, pipeline });
      const f1 = floor.perCpu();
      const d = f1.map((v: number, i: number) => v - f0[i]);
      expect(d[0]).toBeGreaterThan(10_000);
      expect(d.slice(1).every((v: number) => v === 0)).toBe(true);
      expect(r.cpus).toEqual([1]);
      // each frame e0 forwarded reached g0: forwarded there or, after the stop, dropped and counted
      const s = encap.stats();
      expect(d[0]).toBe(s.forwarded + s.stopped);
      expect(r.inFlightEnd).toBe(32);
    } finally {
      encap.detach();
      floor.close();
      ceiling.up();
    }
  });

  it('decap: the same split (u0 on CPU 0, the hop s0 on CPU 1), and the deadline still stops the loop', async () => {
    decap.attach();
    try {
      const r = await decap.run({ frame: DECAP, n: 64, flows: 64, byteOff: 50 + 11, portOff: 34, seconds: 0.3, warmupMs: 100, pipeline });
      expect(r.cpus).toEqual([1]);
      expect(r.where.u0).toEqual({ last: 0, allowed: '0' });
      expect(r.where.s0).toEqual({ last: 1, allowed: '1' });
      expect(r.vtepCpuSeconds).toBeGreaterThan(0.005);
      expect(r.inFlightEnd).toBe(64);
      pipeline.pin();
      const t0 = Date.now();
      decap.start({ frame: DECAP, n: 16, deadlineMs: 3000 });
      expect(Date.now() - t0, 'the injector took the deadline up: nothing to test').toBeLessThan(2900);
      const s = await decap.settle(6000);
      expect(s.diedOut).toBe(true);
      expect(s.inFlightEnd).toBe(16);
    } finally {
      decap.detach();
    }
  });

  it('the hop\'s NAPI is polled by its timer (the VTEP stage wakes nothing), and close() puts every NAPI back in softirq', () => {
    const read = (ns: string, f: string) => spawnSync('ip', ['netns', 'exec', ns, 'cat', f], { encoding: 'utf8' }).stdout.trim();
    expect(read(env.gen, '/sys/class/net/g0/napi_defer_hard_irqs')).toBe('1000');
    expect(read(env.sink, '/sys/class/net/s0/gro_flush_timeout')).toBe(String(pipeline.hopDeferUs * 1000));
    expect(read(env.vtep, '/sys/class/net/e0/napi_defer_hard_irqs')).toBe('0'); // the VTEP host's NAPI as it was
    const comms = pipeline.threads.map((t: any) => t.comm);
    pipeline.close();
    pipeline = undefined;
    const alive = spawnSync('sh', ['-c', 'cat /proc/[0-9]*/comm 2>/dev/null'], { encoding: 'utf8' }).stdout.split('\n');
    expect(comms.filter((c: string) => alive.includes(c))).toEqual([]);
    for (const [ns, ifc] of [[env.gen, 'g0'], [env.vtep, 'u0'], [env.vtep, 'e0'], [env.sink, 's0']]) {
      expect(read(ns, `/sys/class/net/${ifc}/threaded`)).toBe('0');
      expect(read(ns, `/sys/class/net/${ifc}/napi_defer_hard_irqs`)).toBe('0');
    }
  });
});
