// The benchmarks' fallbacks for kernels that refuse live frames, in the
// bench's own lab with the XDP ceiling as the VTEP host: the paced AF_PACKET
// sender (bench/lib/senders.mjs) keeps its pace and its bounds and every frame
// it sends is counted at the far sink; plainRun (bench/lib/gen.mjs) times one
// plain test run per frame and returns the XDP actions the program chose.
import { destroyBenchLab } from '../helpers/benchlab.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD, T, buildLab, ceilingMode, sinkOn } from '../../bench/lib/topo.mjs';
import { pacedSender } from '../../bench/lib/senders.mjs';
import { generators } from '../../bench/lib/gen.mjs';
import { innerFrame, vxlanFrame } from '../../bench/lib/packets.mjs';
import { ObjectSpec, u32 } from '../../src/bpf/index.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const XDP_DROP = 1, XDP_REDIRECT = 4;
const ENCAP: Buffer = innerFrame({ dmac: T.remote.mac, smac: '02:b0:00:00:02:00', src: T.sink.ip, dst: T.remote.ip });
const DECAP: Buffer = vxlanFrame({ dmac: T.uly.mac, smac: T.gen.mac, src: T.gen.ip, dst: T.uly.ip, vni: T.vni },
  innerFrame({ dmac: T.sink.mac, smac: T.remote.mac, src: T.remote.ip, dst: T.sink.ip }));

let env: any, ceiling: any, sinkG: any, floor: any, prefix: string;
const closers: (() => void)[] = [];

beforeAll(async () => {
  env = buildLab();
  prefix = env.lab.prefix;
  ceiling = await ceilingMode(env);
  ceiling.profile({ decap: 'xdp', encap: 'xdp' }).up();
  sinkG = await sinkOn(env.lab, env.gen, 'g0');
  sinkG.attach();
  const spec = ObjectSpec.open(`${BUILD}bench/floor.bpf.o`, 'floor');
  spec.setConstant('floor_ifindex', u32, env.ifx.e0);
  floor = await spec.load();
});

afterAll(() => destroyBenchLab(env, prefix, [...closers.map((close) => ({ close })), floor, sinkG, ceiling]));

describe('paced sender', () => {
  it('sends a frame every ~100 µs for its 0.3 s, each one encapsulated and counted at the far sink', async () => {
    const before = sinkG.packets();
    const s = pacedSender(env.sink, 's0', ENCAP, { intervalUs: 100, seconds: 0.3 });
    await s.ready;
    const r = await s.done;
    await sleep(50);
    expect(r.seconds).toBeGreaterThanOrEqual(0.3);
    expect(r.seconds).toBeLessThan(0.6);
    // never faster than asked; on a loaded machine sleeps overrun, so some slack above
    expect(r.meanGapUs).toBeGreaterThanOrEqual(99);
    expect(r.sent).toBeGreaterThan(300); // 3,000 at the exact pace
    expect(r.sent).toBeLessThanOrEqual(3001);
    expect(r.maxGapUs).toBeGreaterThanOrEqual(r.meanGapUs * 0.99);
    expect(r.intervalUs).toBe(100);
    expect(sinkG.packets() - before).toBe(r.sent);
  });

  it('stop() ends a 2 s sender at once, and it reports what it sent until then', async () => {
    const s = pacedSender(env.sink, 's0', ENCAP, { intervalUs: 50, seconds: 2 });
    await s.ready;
    await sleep(100);
    const t = Date.now();
    s.stop();
    const r = await s.done;
    expect(Date.now() - t).toBeLessThan(1000);
    expect(r.seconds).toBeLessThan(1.5);
    expect(r.sent).toBeGreaterThan(0);
  });

  it('refuses an interval under 20 µs or more than 2 s', () => {
    expect(() => pacedSender(env.sink, 's0', ENCAP, { intervalUs: 5, seconds: 1 })).toThrow(/interval 5 µs/);
    expect(() => pacedSender(env.sink, 's0', ENCAP, { intervalUs: 50, seconds: 5 })).toThrow(/5 s \(≤ 2\)/);
  });
});

describe('plainRun (one plain test run per frame)', () => {
  it("gives each program's ns per frame and the actions it returned: the ceiling's decap redirects, the floor drops", async () => {
    const { plainRun } = generators(env.lab, closers);
    const dec = plainRun(ceiling.coll.program('ceil_decap'), DECAP, env.vtep, env.ifx.u0, 2000);
    expect(dec.verdicts).toEqual([XDP_REDIRECT]);
    expect(dec.duration).toBeGreaterThan(0);
    const drop = plainRun(floor.program('xdp_drop'), DECAP, env.vtep, env.ifx.u0, 2000);
    expect(drop.verdicts).toEqual([XDP_DROP]);
    // not a VXLAN frame for the ceiling: it passes it, and the run says so
    const pass = plainRun(ceiling.coll.program('ceil_decap'), ENCAP, env.vtep, env.ifx.u0, 10);
    expect(pass.verdicts).not.toContain(XDP_REDIRECT);
  });
});
