// The closed-loop pps generator of the benchmarks (bench/lib/loop.mjs,
// test/fixtures/loop.bpf.c), against the XDP ceiling in the bench's own lab:
// the frames circulate (the counter moves, on one CPU), none is lost, the
// deadline and the budget stop the loop by themselves, and after every stop
// nothing is left circulating.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { T, buildLab, ceilingMode } from '../../bench/lib/topo.mjs';
import { floorMode, loopGenerator, MAX_IN_FLIGHT } from '../../bench/lib/loop.mjs';
import { innerFrame, vxlanFrame } from '../../bench/lib/packets.mjs';

/* eslint-disable @typescript-eslint/no-explicit-any */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ENCAP: Buffer = innerFrame({ dmac: T.remote.mac, smac: '02:b0:00:00:02:00', src: T.sink.ip, dst: T.remote.ip });
const DECAP: Buffer = vxlanFrame({ dmac: T.uly.mac, smac: T.gen.mac, src: T.gen.ip, dst: T.uly.ip, vni: T.vni },
  innerFrame({ dmac: T.sink.mac, smac: T.remote.mac, src: T.remote.ip, dst: T.sink.ip }));

let env: any, ceiling: any, encap: any, decap: any, prefix: string;

beforeAll(async () => {
  env = buildLab();
  prefix = env.lab.prefix;
  ceiling = await ceilingMode(env);
  ceiling.profile({ decap: 'xdp', encap: 'xdp' }).up();
  encap = await loopGenerator(env, 'encap');
  decap = await loopGenerator(env, 'decap');
});

afterAll(() => {
  for (const x of [encap, decap, ceiling]) {
    try {
      x?.close();
    } catch {
      // cleanup: the rest must still run
    }
  }
  env?.lab.destroy();
  const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith(`${prefix}-`));
  expect(left).toEqual([]);
});

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
      const after = encap.stats();
      await sleep(100);
      expect(encap.stats()).toEqual(after);
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
