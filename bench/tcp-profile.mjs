// Where the VTEP host's time goes in the bulk TCP runs, per mode: kernel
// vxlan, kernel vxlan with an XDP_PASS program on u0 (what any XDP program
// on a veth underlay costs the path by itself), xvtep (GRO hand-off, as
// attached), xvtep with the hand-off off (every segment redirected by XDP),
// xvtep with its tc underlay mode, the TCP ceiling with the hand-off and
// without. Run as root after `make build bench-bpf`:
//   node bench/tcp-profile.mjs [seconds] [--encap] [--reps=N]
// Default direction: underlay -> endpoint (the VTEP decaps); --encap: the
// endpoint sends (iperf3 -R), the VTEP encaps. --reps=N: then N more
// iperf3 runs per mode, modes alternated, medians (no profile).
// Prints, per mode: iperf3 Gbit/s; packets through u0's NAPI ring (ethtool
// -S rx_queue_0_xdp_packets, counted with or without a program) and the XDP
// redirects among them; what e0 handed to s0 (`ip -s link`: skbs, one per
// GSO super-frame, plus redirected XDP frames) and its mean size; the share of system-wide
// cpu-clock samples (perf record -a, kprobe-free) in the kernel functions
// named below (incl: with what they call; br_handle_frame and vxlan_xmit
// hold the kernel VTEP's own work, the bpf_prog_* rows xvtep's). Also
// `ethtool -k g0` with and without XDP on u0. Numbers are from a shared
// machine: compare modes, not absolutes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Link } from '../dist/bpf/index.js';
import { T, buildLab, kernelMode, kernelXdpPassMode, ceilingMode, sleep } from './lib/topo.mjs';
import { setupXvtep } from './lib/xvtep.mjs';
import { iperfGbps } from './lib/iperf.mjs';
import { summary } from './lib/stats.mjs';

if (process.getuid() !== 0) throw new Error('bench/tcp-profile.mjs needs root');
const args = process.argv.slice(2);
const encap = args.includes('--encap');
const secs = Number(args.find((a) => !a.startsWith('--')) ?? 4);
const reps = Number(args.find((a) => a.startsWith('--reps='))?.slice(7) ?? 0);
const SYMS = ['skb_pp_cow_data', 'veth_xdp_rcv_skb', 'veth_convert_skb_to_xdp_buff', 'skb_copy_bits', 'xdp_do_redirect',
  'veth_xdp_rcv_bulk_skb', '__xdp_build_skb_from_frame', 'dev_gro_receive', 'vxlan_gro_receive', 'udp_gro_receive',
  'tcp_gro_receive', 'vxlan_rcv', 'br_handle_frame', 'vxlan_xmit', '__bpf_redirect', 'skb_segment', 'pv_native_safe_halt', 'memcpy_orig', 'rep_movs_alternative', 'page_pool_alloc_frag_netmem'];
// a loaded program's symbol (bpf_prog_<tag>_<name>), not the loader's functions
const PROG = /^bpf_prog_[0-9a-f]{16}_/;
const env = buildLab();
const { lab } = env;
const tmp = mkdtempSync(`${tmpdir()}/xvtep-tcp-profile-`);
const closers = [];
try {
  const features = () => lab.exec(env.gen, 'ethtool', '-k', 'g0').split('\n').filter((l) => /tcp-segmentation:|udp_tnl-segmentation:|generic-segmentation/.test(l)).map((l) => l.trim()).join('; ');
  console.log(`ethtool -k g0, no XDP on u0: ${features()}`);
  const ceiling = await ceilingMode(env);
  closers.push(() => ceiling.close());
  const xv = await setupXvtep(env);
  closers.push(() => xv.close());
  // xvtep's tc underlay mode (xv_tc_underlay on tcx instead of XDP): no XDP
  // on u0, so no skb is copied; each segment still crosses the tc program
  // and a redirect on its own (no VXLAN GRO without the kernel's vxlan
  // socket).
  let tcLinks = [];
  const xvTc = {
    name: 'xvtep-tc-underlay',
    up() {
      // attached as a user would, then the underlay's XDP taken off by hand:
      // the config has no tc underlay mode (xv_tc_endpoint is already on e0)
      xv.profile({ endpointXdp: 'auto' }).up();
      xv.dp.setRxGro(0);
      for (const hook of ['xdp', 'tcx-ingress']) {
        if (!existsSync(xv.linkPin(`underlay-u0-${hook}`))) continue; // no hand-off half on kernels without XDP metadata
        const l = Link.open(xv.linkPin(`underlay-u0-${hook}`));
        l.detach();
        l.close();
      }
      tcLinks = lab.in(env.vtep, () => [xv.dp.program('xv_tc_underlay').attachTcx('u0', 'ingress')]);
      xv.dp.bumpGeneration();
    },
    down() {
      for (const l of tcLinks) l.close();
      tcLinks = [];
      xv.down();
    },
  };
  // xvtep and the ceiling as they were before the GRO hand-off: every
  // segment redirected by XDP
  const xvRedirect = {
    name: 'xvtep-no-gro-handoff',
    up() {
      xv.profile({ endpointXdp: false }).up();
      xv.dp.setRxGro(0);
    },
    down: () => xv.down(),
  };
  let ceilLinks = [];
  const ceilRedirect = {
    name: 'ceiling-redirect',
    up() {
      ceilLinks = lab.in(env.vtep, () => [ceiling.coll.program('ceil_decap').attachXdp('u0', { mode: 'driver' }), ceiling.coll.program('ceil_tc_encap').attachTcx('e0', 'ingress')]);
    },
    down() {
      for (const l of ceilLinks) l.close();
      ceilLinks = [];
    },
  };
  // the kernel's path with an XDP_PASS program on u0: the veth then copies
  // every arriving skb into an XDP buffer, as with any program (g0 sends
  // without TSO in every mode here)
  const kernel = kernelMode(env);
  const kernelPass = await kernelXdpPassMode(env, kernel);
  closers.push(() => kernelPass.close());
  const modes = [kernel, kernelPass, xv.profile({ endpointXdp: false }), xvRedirect, xvTc, ceiling.profile({ endpointXdp: false }), ceilRedirect];
  for (const m of modes) {
    m.up();
    try {
      await sleep(50);
      if (!encap && m !== kernel) console.log(`ethtool -k g0, ${m.name}${m === xvTc ? '' : ' (XDP on u0)'}: ${features()}`);
      const napi0 = ethtoolStat('rx_queue_0_xdp_packets'), redir0 = ethtoolStat('rx_queue_0_xdp_redirect'), e00 = linkStats(env.vtep, 'e0');
      const data = `${tmp}/${m.name}.data`;
      const perf = spawn('perf', ['record', '-q', '-a', '-g', '-e', 'cpu-clock', '-o', data, '--', 'sleep', String(secs)], { stdio: 'ignore' });
      const gbps = await iperfGbps(env, { addr: T.sink.ip, secs, reverse: encap });
      await new Promise((r) => perf.on('exit', r));
      const napi = ethtoolStat('rx_queue_0_xdp_packets') - napi0, redir = ethtoolStat('rx_queue_0_xdp_redirect') - redir0, e0 = linkStats(env.vtep, 'e0');
      const skbs = e0.tx_packets - e00.tx_packets, bytes = e0.tx_bytes - e00.tx_bytes;
      console.log(`\n${m.name} (${encap ? 'VTEP encaps' : 'VTEP decaps'}): ${gbps.toFixed(2)} Gbit/s; u0 NAPI packets ${napi}, XDP redirects ${redir}; e0 -> s0 ${skbs} packets, mean ${skbs ? Math.round(bytes / skbs) : '-'} B`);
      console.log(profile(data));
    } finally {
      m.down();
    }
  }
  // throughput alone, modes alternated: one profiled run per mode is one sample of a noisy machine
  if (reps > 0) {
    const res = new Map(modes.map((m) => [m.name, []]));
    for (let r = 0; r < reps; r++) {
      for (const m of modes) {
        m.up();
        try {
          await sleep(50);
          res.get(m.name).push(await iperfGbps(env, { addr: T.sink.ip, secs, reverse: encap }));
        } finally {
          m.down();
        }
      }
    }
    console.log(`\n${reps} more runs per mode, alternated (Gbit/s, ${encap ? 'VTEP encaps' : 'VTEP decaps'}): median (all)`);
    const k = summary(res.get('kernel')).median;
    for (const [name, v] of res) {
      const med = summary(v).median;
      console.log(`  ${name.padEnd(22)} ${med.toFixed(2)}  ${(med / k).toFixed(2)}x kernel  (${v.map((x) => x.toFixed(2)).join(' ')})`);
    }
  }
} finally {
  for (const c of closers.reverse()) c();
  lab.destroy();
  rmSync(tmp, { recursive: true, force: true });
}

function ethtoolStat(name) {
  const m = lab.exec(env.vtep, 'ethtool', '-S', 'u0').match(new RegExp(`${name}: (\\d+)`));
  return m ? Number(m[1]) : 0;
}
function linkStats(ns, ifc) {
  const s = JSON.parse(lab.exec(ns, 'ip', '-s', '-j', 'link', 'show', ifc))[0].stats64;
  return { tx_packets: s.tx.packets, tx_bytes: s.tx.bytes };
}
/** Self and children (inclusive) shares of the named symbols, % of all samples. */
function profile(data) {
  const rows = (children) => {
    const r = spawnSync('perf', ['report', '-i', data, '--stdio', children ? '--children' : '--no-children', '--sort', 'sym', '-g', 'none', '--percent-limit', '0'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const out = new Map();
    for (const line of r.stdout.split('\n')) {
      const m = line.match(/^\s+([\d.]+)%\s+(?:([\d.]+)%\s+)?\[k\] (\S+)/);
      if (m && (SYMS.includes(m[3]) || PROG.test(m[3]))) out.set(m[3], m[1]);
    }
    return out;
  };
  const incl = rows(true), self = rows(false);
  const names = [...SYMS, ...[...incl.keys()].filter((s) => PROG.test(s))].filter((s) => incl.has(s) || self.has(s));
  return names.map((s) => `  ${s.padEnd(34)} incl ${(incl.get(s) ?? '0').padStart(6)} %  self ${(self.get(s) ?? '0').padStart(6)} %`).join('\n');
}
