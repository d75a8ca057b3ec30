// TCP over an IPv6 underlay against the same lab over IPv4 (issue 18's
// target: IPv6 >= 0.9x IPv4, both directions). The lab of
// test/datapath/lab-kernel.test.ts: host a runs xvtep (attachUnderlay and
// attachEndpoint, the manager's attach path, native XDP on the underlay,
// the endpoint on tcx) with a container c1 behind ep1 at its default
// offloads; host b runs the kernel's vxlan with its default settings. Both
// underlay veths have tx checksumming off (wire-like: every checksum is
// computed, GSO frames are segmented before they cross). Runs the two labs
// side by side and alternates their iperf3 runs so both see the same load.
// Run as root after `make build`:
//   node bench/ipv6-tcp.mjs [seconds] [--reps=N]
// Prints the median Gbit/s per family and direction, and IPv6 / IPv4.
import { spawn, spawnSync } from 'node:child_process';
import { ifindexOf } from '../dist/bpf/index.js';
import { Datapath, attachEndpoint, attachUnderlay, vniInfoOf } from '../dist/datapath/index.js';
import { Lab, sh } from './lib/lab.mjs';
import { summary } from './lib/stats.mjs';

if (process.getuid() !== 0) throw new Error('bench/ipv6-tcp.mjs needs root');
const args = process.argv.slice(2);
const secs = Number(args.find((a) => !a.startsWith('--')) ?? 3);
const reps = Number(args.find((a) => a.startsWith('--reps='))?.slice(7) ?? 5);
const VNI = 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function build(family) {
  const lab = new Lab(`v${family}`);
  const a = lab.host('a'), b = lab.host('b'), c = lab.host('c');
  for (const ns of [a, b, c]) lab.sysctl(ns, 'net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.default.disable_ipv6=0');
  lab.link(a, 'ul0', '02:00:00:00:0a:01', b, 'ul0', '02:00:00:00:0b:01');
  lab.link(a, 'ep1', '02:00:00:00:0a:02', c, 'eth0', '02:00:00:00:0c:01');
  const A = family === 4 ? '192.0.2.1' : '2001:db8::1', B = family === 4 ? '192.0.2.2' : '2001:db8::2';
  lab.exec(a, 'ip', 'addr', 'add', `${A}/${family === 4 ? 24 : 64}`, 'dev', 'ul0', ...(family === 6 ? ['nodad'] : []));
  lab.exec(b, 'ip', 'addr', 'add', `${B}/${family === 4 ? 24 : 64}`, 'dev', 'ul0', ...(family === 6 ? ['nodad'] : []));
  for (const ns of [a, b]) lab.exec(ns, 'ethtool', '-K', 'ul0', 'tx', 'off');
  lab.exec(c, 'ethtool', '-K', 'eth0', 'gro', 'on');
  lab.exec(c, 'ip', 'link', 'set', 'eth0', 'mtu', String(1500 - (family === 4 ? 50 : 70)));
  lab.exec(c, 'ip', 'addr', 'add', '198.51.100.1/24', 'dev', 'eth0');
  lab.exec(b, 'ip', 'link', 'add', 'vxlan0', 'type', 'vxlan', 'id', String(VNI), 'dstport', '4789', 'remote', A, 'dev', 'ul0');
  lab.exec(b, 'ip', 'addr', 'add', '198.51.100.2/24', 'dev', 'vxlan0');
  lab.exec(b, 'ip', 'link', 'set', 'vxlan0', 'up');
  const dp = await Datapath.load({ sizes: { fdb: 1024, vnis: 16 } });
  const links = lab.in(a, () => {
    dp.configure({
      underlayIfindex: ifindexOf('ul0'), port: 4789, localAddress: A, underlayMtu: 1500, srcPortMin: 0, srcPortMax: 0, ttl: 64, tos: 0,
      tosInherit: false, df: 'unset', udp6ZeroChecksum: false, udp6ZeroChecksumRx: false, fdbRefreshMs: 1000, epChecksumComplete: false, nhCacheMs: 0,
    });
    const s = { learning: true, allowUnknownPeers: false, proxyArp: false, proxyNd: false, statsSlot: 1 };
    const info = vniInfoOf(s);
    dp.vnis.set(VNI, s);
    dp.peers.add(VNI, B, info);
    const ep = ifindexOf('ep1');
    dp.endpoints.set(ep, VNI, info);
    dp.devs.set(ep, ep);
    dp.flood.set({ vni: VNI, remotes: [B], locals: [ep] });
    dp.setFloodPorts(VNI, [ep]);
    dp.bumpGeneration();
    return [attachUnderlay(dp, 'ul0', 'native', family), attachEndpoint(dp, 'ep1')].flatMap((x) => [...x.links.values()]);
  });
  lab.exec(a, 'ip', 'neigh', 'replace', B, 'dev', 'ul0', 'managed');
  if (!lab.tryExec(c, 'ping', '-c', '3', '-i', '0.2', '-W', '1', '198.51.100.2').ok) throw new Error(`IPv${family} lab: no ping`);
  return { family, lab, b, c, close: () => { for (const l of links) l.close(); dp.close(); lab.destroy(); } };
}

async function iperf(L, reverse) {
  const server = spawn('ip', ['netns', 'exec', L.b, 'timeout', String(secs + 15), 'iperf3', '-s', '-1', '-B', '198.51.100.2'], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50 && !/:5201 /.test(sh('ip', ['netns', 'exec', L.b, 'ss', '-ltnH'])); i++) await sleep(100);
    const r = spawnSync('ip', ['netns', 'exec', L.c, 'timeout', String(secs + 10), 'iperf3', '-c', '198.51.100.2', '-t', String(secs), '-J', ...(reverse ? ['-R'] : [])],
      { encoding: 'utf8', timeout: (secs + 12) * 1000 });
    const j = JSON.parse(r.stdout || '{}');
    if (!j.end?.sum_received) throw new Error(`iperf3 IPv${L.family}${reverse ? ' -R' : ''}: ${j.error ?? r.stderr}`);
    return j.end.sum_received.bits_per_second / 1e9;
  } finally {
    server.kill('SIGTERM');
  }
}

const labs = [];
try {
  labs.push(await build(4), await build(6));
  const res = {};
  console.log(`${new Date().toISOString()} ${reps} x ${secs} s per family and direction, alternated (shared machine: compare, not absolutes)`);
  for (let i = 0; i < reps; i++) {
    for (const reverse of [false, true]) {
      for (const L of labs) {
        const g = await iperf(L, reverse);
        (res[`${L.family} ${reverse ? 'kernel->container' : 'container->kernel'}`] ??= []).push(g);
        await sleep(300);
      }
    }
  }
  for (const dir of ['container->kernel', 'kernel->container']) {
    const v4 = summary(res[`4 ${dir}`]), v6 = summary(res[`6 ${dir}`]);
    console.log(`${dir}: IPv4 median ${v4.median.toFixed(2)} Gbit/s, IPv6 median ${v6.median.toFixed(2)} Gbit/s, IPv6/IPv4 ${(v6.median / v4.median).toFixed(2)}` +
      `  (IPv4 ${res[`4 ${dir}`].map((x) => x.toFixed(2)).join(' ')}; IPv6 ${res[`6 ${dir}`].map((x) => x.toFixed(2)).join(' ')})`);
  }
} finally {
  for (const L of labs) L.close();
}
