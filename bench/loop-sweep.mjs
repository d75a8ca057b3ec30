#!/usr/bin/env node
// How the closed-loop pps generator's rate depends on the frames in flight:
// encap, 1 flow, kernel vs xvtep (endpointXdp: on) vs the XDP ceiling vs the
// loop floor, N alternated with the modes, per-softirq-second and wall Mpps.
//   node bench/loop-sweep.mjs [--n=8,32,128,200] [--reps=2] [--secs=0.5]
// (root, after `make build bench-bpf`; bench/README.md, "Closed loop")
import { T, buildLab, kernelMode, ceilingMode, sleep, closeAll } from './lib/topo.mjs';
import { setupXvtep, variant } from './lib/xvtep.mjs';
import { loopGenerator, floorMode } from './lib/loop.mjs';
import { innerFrame, vxlanFrame } from './lib/packets.mjs';
import { summary, rotate } from './lib/stats.mjs';

const opt = (k, d) => process.argv.slice(2).find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d;
const NS = opt('n', '8,32,128,200').split(',').map(Number);
const REPS = Number(opt('reps', '2')), SECS = Number(opt('secs', '0.5'));
const ENCAP = innerFrame({ dmac: T.remote.mac, smac: '02:b0:00:00:02:00', src: T.sink.ip, dst: T.remote.ip });
const WHOLE = vxlanFrame({ dmac: T.uly.mac, smac: T.gen.mac, src: T.gen.ip, dst: T.uly.ip, vni: T.vni }, innerFrame({ dmac: T.sink.mac, smac: T.remote.mac, src: T.remote.ip, dst: T.sink.ip }));

const env = buildLab();
const closers = [];
try {
  const ceiling = await ceilingMode(env);
  closers.push(() => ceiling.close());
  const xv = await setupXvtep(env);
  closers.push(() => xv.close());
  const floor = await floorMode(env, 'encap');
  closers.push(() => floor.close());
  const modes = [kernelMode(env), variant(xv, 'xvtep-xdp', { endpointXdp: 'on' }), variant(ceiling, 'ceiling', { decap: 'xdp', encap: 'xdp' }), floor];
  const loop = await loopGenerator(env, 'encap');
  closers.push(() => loop.close());
  loop.attach();
  const res = {};
  for (let r = 0; r < REPS; r++) {
    for (const m of rotate(modes, r)) {
      m.up();
      await sleep(30);
      try {
        for (const n of rotate(NS, r)) {
          const t = await loop.run({ frame: m === floor ? WHOLE : ENCAP, n, seconds: SECS, floor: m === floor });
          const k = `${m.name} N=${n}`;
          (res[k] ??= { wall: [], soft: [], end: [] }).wall.push(t.mpps);
          res[k].soft.push(t.mppsPerCpuSecond);
          res[k].end.push(t.inFlightEnd);
        }
      } finally {
        m.down();
      }
    }
  }
  console.log('| mode, frames in flight | Mpps (wall) | Mpps per softirq-second | in flight at end |\n|---|---|---|---|');
  for (const [k, v] of Object.entries(res)) {
    const c = (xs) => { const s = summary(xs); return `${s.median?.toFixed(3)} (${s.min?.toFixed(3)}–${s.max?.toFixed(3)})`; };
    console.log(`| ${k} | ${c(v.wall)} | ${c(v.soft)} | ${v.end.join(', ')} |`);
  }
} finally {
  closeAll(closers);
  env.lab.destroy();
}
