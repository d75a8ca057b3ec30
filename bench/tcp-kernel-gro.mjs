// Would a GRO hand-off through the kernel's own vxlan pay on this kernel (no
// XDP metadata, so xvtep redirects every TCP segment from XDP)? Bulk TCP, the
// VTEP decaps, modes alternated: the kernel's vxlan + bridge; the same with
// an XDP_PASS program on u0 (what any XDP program on a veth underlay costs:
// the veth copies every arriving skb into an XDP buffer); xvtep as attached;
// and the prototype of bench/bpf/kgro.bpf.c (XDP moves VXLAN to a private
// port and passes it, the kernel's vxlan in external mode there GROs and
// decapsulates, a tcx program on it redirects to e0 — or, with --peer,
// bpf_redirect_peer into the container), the TC encap ceiling on e0 for the
// ACKs. Run as root after `make build bench-bpf`:
//   node bench/tcp-kernel-gro.mjs [reps] [--peer] [--secs=S]
import { ObjectSpec, u32 } from '../dist/bpf/index.js';
import { T, BUILD, buildLab, kernelMode, kernelXdpPassMode, ceilingMode, sleep } from './lib/topo.mjs';
import { setupXvtep } from './lib/xvtep.mjs';
import { iperfGbps } from './lib/iperf.mjs';
import { summary } from './lib/stats.mjs';

if (process.getuid() !== 0) throw new Error('bench/tcp-kernel-gro.mjs needs root');
const args = process.argv.slice(2);
const reps = Number(args.find((a) => !a.startsWith('--')) ?? 4);
const secs = Number(args.find((a) => a.startsWith('--secs='))?.slice(7) ?? 4);
const peer = args.includes('--peer');
const KGRO_PORT = 48879;
const env = buildLab();
const { lab } = env;
const closers = [];
try {
  const ceiling = await ceilingMode(env);
  closers.push(() => ceiling.close());
  const xv = await setupXvtep(env);
  closers.push(() => xv.close());
  const spec = ObjectSpec.open(`${BUILD}bench/kgro.bpf.o`, 'kgro');
  spec.setConstant('kgro_ifindex', u32, env.ifx.e0);
  spec.setConstant('kgro_peer', u32, peer ? 1 : 0);
  const kgro = await spec.load();
  closers.push(() => kgro.close());
  const kernel = kernelMode(env);
  let links = [];
  const drop = () => {
    for (const l of links) l.close();
    links = [];
  };
  const kernelPass = await kernelXdpPassMode(env, kernel);
  closers.push(() => kernelPass.close());
  const proto = {
    name: `kernel-gro-handoff${peer ? '-peer' : ''}`,
    up() {
      lab.batch(env.vtep, [`link add xvkgro type vxlan external dstport ${KGRO_PORT} nolearning`, 'link set xvkgro up']);
      lab.exec(env.vtep, 'ethtool', '-K', 'u0', 'gro', 'on');
      links = lab.in(env.vtep, () => [kgro.program('kgro_xdp').attachXdp('u0', { mode: 'driver' }),
        kgro.program('kgro_tc').attachTcx('xvkgro', 'ingress'), ceiling.coll.program('ceil_tc_encap').attachTcx('e0', 'ingress')]);
    },
    down() {
      drop();
      lab.batch(env.vtep, ['link del xvkgro'], { force: true, allowFail: true });
    },
  };
  const modes = [kernel, kernelPass, xv.profile({ endpointXdp: 'auto' }), proto];
  const res = new Map(modes.map((m) => [m.name, []]));
  for (let r = 0; r < reps; r++) {
    for (const m of modes) {
      m.up();
      try {
        await sleep(100);
        if (!lab.tryExec(env.gen, 'ping', '-c', '2', '-i', '0.2', '-W', '1', '-q', T.sink.ip).ok) throw new Error(`${m.name}: no connectivity gen -> sink`);
        res.get(m.name).push(await iperfGbps(env, { addr: T.sink.ip, secs }));
      } finally {
        m.down();
      }
    }
  }
  const k = summary(res.get('kernel')).median;
  console.log(`bulk TCP, 1 stream, VTEP decaps, ${reps} runs per mode alternated (Gbit/s): median (all)`);
  for (const [name, v] of res) {
    const med = summary(v).median;
    console.log(`  ${name.padEnd(26)} ${med.toFixed(2)}  ${(med / k).toFixed(2)}x kernel  (${v.map((x) => x.toFixed(2)).join(' ')})`);
  }
} finally {
  for (const c of closers.reverse()) c();
  lab.destroy();
}

