// The closed loop's many-flow mode (loop_push flow_span, bench/lib/loop.mjs
// flowSpan), used by `make bench`'s FDB scaling where the kernel refuses
// live frames: through xvtep as the VTEP host, each pass carries the next of
// flowSpan inner source MACs, so xvtep learns exactly flowSpan of them, and
// the frames keep circulating.
import { destroyBenchLab } from '../helpers/benchlab.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { T, buildLab } from '../../bench/lib/topo.mjs';
import { loopGenerator, MAX_FLOW_SPAN } from '../../bench/lib/loop.mjs';
import { setupXvtep } from '../../bench/lib/xvtep.mjs';
import { innerFrame, vxlanFrame } from '../../bench/lib/packets.mjs';

/* eslint-disable @typescript-eslint/no-explicit-any */
const DECAP: Buffer = vxlanFrame({ dmac: T.uly.mac, smac: T.gen.mac, src: T.gen.ip, dst: T.uly.ip, vni: T.vni },
  innerFrame({ dmac: T.sink.mac, smac: '02:b1:00:00:00:00', src: T.remote.ip, dst: T.sink.ip }));
const learnedMacs = (xv: any) => {
  const out = new Set<string>();
  for (const r of xv.dp.fdb.list()) if (r.vni === T.vni && r.mac.startsWith('02:b1:00:00:')) out.add(r.mac);
  return out;
};

let env: any, xv: any, loop: any, prefix: string;

beforeAll(async () => {
  env = buildLab();
  prefix = env.lab.prefix;
  xv = await setupXvtep(env, { fdbMax: 65536 });
  xv.profile({ endpointXdp: 'on' }).up();
  loop = await loopGenerator(env, 'decap');
  loop.attach();
});

afterAll(() => destroyBenchLab(env, prefix, [loop, xv]));

describe('closed loop, decap through xvtep, a new inner flow every pass', () => {
  it('xvtep learns each of the 1,000 source MACs, and all 32 frames still circulate at the stop', async () => {
    expect(learnedMacs(xv).size).toBe(0);
    const r = await loop.run({ frame: DECAP, n: 32, flowSpan: 1000, seconds: 0.3, warmupMs: 100 });
    expect(r.forwarded).toBeGreaterThan(10_000); // many times round the 1,000 flows
    expect(r.inFlightEnd).toBe(32);
    expect(r.diedOut).toBe(true);
    const macs = learnedMacs(xv);
    expect(macs.size).toBe(1000);
    expect(macs.has('02:b1:00:00:03:e7')).toBe(true); // flow 999
    expect(macs.has('02:b1:00:00:03:e8')).toBe(false); // flow 1000: past the span
  });

  it('refuses a span past 65,536, on the encap loop, or with several injected flows', async () => {
    expect(() => loop.start({ frame: DECAP, n: 8, flowSpan: MAX_FLOW_SPAN + 1, deadlineMs: 1000 })).toThrow(/flowSpan 65537/);
    expect(() => loop.start({ frame: DECAP, n: 8, flows: 4, flowSpan: 16, deadlineMs: 1000 })).toThrow(/one injected flow/);
    const enc = await loopGenerator(env, 'encap');
    try {
      expect(() => enc.start({ frame: DECAP, n: 8, flowSpan: 16, deadlineMs: 1000 })).toThrow(/decap loop/);
    } finally {
      enc.close();
    }
  });
});
