#!/usr/bin/env node
// Where the tcx encap path's ns go: the `tccost` scenario of bench/run.mjs
// (64-byte UDP from the container s0 through e0's tcx hook, ns inside the
// program from the kernel's run-time stats) over several builds of the data
// path object, in one lab and one run, alternated, beside the TC ceiling.
//   node bench/tccost-variants.mjs [--reps=3] [--n=200000] [--tcp=SECS] [--xdp] [--icmp] NAME=OBJ.o ...
// --tcp=SECS: instead of the UDP frames, one bulk TCP stream (iperf3) from the
// container for SECS seconds per round: the program's ns per (GSO) skb, and
// Gbit/s.
// --xdp: endpointXdp: on and the program timed is xv_xdp_endpoint, beside the
// XDP encap ceiling (ceil_encap on e0) instead of the TC one. The UDP frames
// of a socket leave the container with a partial checksum, which XDP cannot
// see, so xvtep's XDP program hands every one of them to tcx (it counts
// xdp_to_tc): what is timed then is that hand-over. --icmp sends ICMP echo
// requests of the same size instead (1 or 64 ICMP ids), which the XDP
// program encapsulates itself.
// Each object is attached with `xvtep attach` (endpointXdp: auto) as the
// product's build/bpf/xvtep.bpf.o, which is put back afterwards. Build the
// objects with the data path's sources compiled differently (e.g. parts
// compiled out for a bisection) or from two commits (before/after).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, renameSync } from 'node:fs';
import { T, BUILD, buildLab, ceilingMode, sinkOn, sleep, closeAll } from './lib/topo.mjs';
import { setupXvtep, variant } from './lib/xvtep.mjs';
import { summary, rotate } from './lib/stats.mjs';
import { nsInProgram } from './lib/progstats.mjs';
import { icmpBlast } from './lib/senders.mjs';

const argv = process.argv.slice(2);
const opt = (k) => argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1];
const reps = Number(opt('reps') ?? 3);
const n = Number(opt('n') ?? 200_000);
const tcpSecs = opt('tcp') === undefined ? 0 : Number(opt('tcp'));
const xdp = argv.includes('--xdp');
const icmp = argv.includes('--icmp');
const objs = argv.filter((a) => !a.startsWith('--')).map((a) => a.split('='));
if (!objs.length || objs.some(([k, p]) => !k || !p || !existsSync(p))) {
  console.error('usage: node bench/tccost-variants.mjs [--reps=3] [--n=200000] [--tcp=SECS] [--xdp] [--icmp] NAME=OBJ.o ...');
  process.exit(1);
}
const PRODUCT = `${BUILD}bpf/xvtep.bpf.o`;
const SAVED = `${PRODUCT}.tccost-saved`;
copyFileSync(PRODUCT, SAVED);
const restore = () => existsSync(SAVED) && renameSync(SAVED, PRODUCT);
process.on('exit', restore);

const t0 = Date.now();
const log = (...a) => console.error(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s]`, ...a);
const env = buildLab();
const { lab } = env;
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

try {
  const sinkG = await sinkOn(lab, env.gen, 'g0');
  closers.push(() => sinkG.close());
  const ceiling = await ceilingMode(env);
  closers.push(() => ceiling.close());
  const xv = await setupXvtep(env);
  closers.push(() => xv.close());
  const ceilName = xdp ? 'ceiling-xdp' : 'ceiling-tc';
  const ceil = variant(ceiling, ceilName, { decap: 'xdp', encap: xdp ? 'xdp' : 'tc' });
  const modes = [[ceil, () => ceiling.coll.program(xdp ? 'ceil_encap' : 'ceil_tc_encap')]];
  for (const [name, path] of objs) {
    const v = variant(xv, name, { endpointXdp: xdp ? 'on' : 'auto' });
    modes.push([{ name, up() { copyFileSync(path, PRODUCT); v.up(); }, down: () => v.down() }, () => xv.program(xdp ? 'xv_xdp_endpoint' : 'xv_tc_endpoint')]);
  }
  sinkG.attach();
  const out = {};
  if (tcpSecs) sinkG.detach(); // TCP needs the frames to reach the kernel vxlan on g0
  for (const flows of tcpSecs ? ['tcp'] : [1, 64]) {
    const res = Object.fromEntries(modes.map(([m]) => [m.name, []]));
    const gbit = Object.fromEntries(modes.map(([m]) => [m.name, []]));
    for (let r = 0; r <= reps; r++) {
      for (const [m, prog] of rotate(modes, r)) {
        await use(m);
        const before = sinkG.packets();
        let g = 0;
        const ns = await nsInProgram(prog(), async () => {
          if (tcpSecs) g = await iperf(tcpSecs);
          else if (icmp) icmpBlast(env.sink, T.remote.ip, flows, n);
          else udpBlast(T.remote.ip, flows, n);
        });
        const got = sinkG.packets() - before;
        if (!tcpSecs && got < n * 0.5) throw new Error(`${m.name}: only ${got} of ${n} frames reached g0`);
        if (r > 0) { // r = 0: warm-up
          res[m.name].push(ns);
          gbit[m.name].push(g);
        }
      }
    }
    const ceilNs = summary(res[ceilName]).median;
    out[flows] = tcpSecs ? { ns: res, gbit } : res;
    for (const [m] of modes) {
      const s = summary(res[m.name]);
      const rate = tcpSecs ? `, ${summary(gbit[m.name]).median.toFixed(2)} Gbit/s` : '';
      log(`${flows === 'tcp' ? 'TCP' : `${flows} flow(s)`} ${m.name.padEnd(16)} median ${s.median.toFixed(1)} ns [${s.min.toFixed(1)}..${s.max.toFixed(1)}] ${(100 * ceilNs / s.median).toFixed(0)}% of the ceiling${rate}`);
    }
  }
  console.log(JSON.stringify(out));
} finally {
  try {
    current?.down();
  } catch {
    // cleanup: the rest must still run
  }
  closeAll(closers);
  lab.destroy();
  restore();
}

/** n small UDP datagrams from the sink namespace to addr over `flows` source ports (as bench/run.mjs). */
function udpBlast(addr, flows, count) {
  const py = 'import socket,sys\nn,f,a=int(sys.argv[1]),int(sys.argv[2]),sys.argv[3]\n' +
    'ss=[socket.socket(socket.AF_INET,socket.SOCK_DGRAM) for _ in range(f)]\n' +
    '[s.bind(("0.0.0.0",40000+i)) for i,s in enumerate(ss)]\n[s.setblocking(False) for s in ss]\nd=b"x"*18\nk=0\n' +
    'for i in range(n):\n  try: ss[i%f].sendto(d,(a,9)); k+=1\n  except OSError: pass\nprint(k)\n';
  const r = spawnSync('ip', ['netns', 'exec', env.sink, 'timeout', '60', 'python3', '-c', py, String(count), String(flows), addr], { encoding: 'utf8', timeout: 65_000 });
  if (r.status !== 0) throw new Error(`udp sender exited ${r.status ?? r.signal}: ${r.stderr}`);
  return Number(r.stdout.trim());
}

/** One TCP stream from the container to the kernel VTEP's address in gen for secs seconds; Gbit/s. */
async function iperf(secs) {
  const server = spawn('ip', ['netns', 'exec', env.gen, 'timeout', String(secs + 15), 'iperf3', '-s', '-1', '-B', T.remote.ip, '-p', '5202'], { stdio: 'ignore' });
  try {
    await sleep(300);
    const r = spawnSync('ip', ['netns', 'exec', env.sink, 'timeout', String(secs + 10), 'iperf3', '-c', T.remote.ip, '-p', '5202', '-t', String(secs), '-J'], { encoding: 'utf8', timeout: (secs + 12) * 1000 });
    if (r.status !== 0) throw new Error(`iperf3 client exited ${r.status ?? r.signal}: ${r.stderr || r.stdout.slice(0, 300)}`);
    return JSON.parse(r.stdout).end.sum_received.bits_per_second / 1e9;
  } finally {
    server.kill();
  }
}
