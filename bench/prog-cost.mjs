// Per-packet cost of the xvtep XDP programs, measured with
// BPF_PROG_TEST_RUN in live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES): every
// repetition starts from the original frame and its verdict is carried out
// (frames really are redirected), unlike plain `repeat`, which re-runs on the
// frame the previous run left (after one decap it only measures "not VXLAN").
//
// Compared with the floor: an XDP program that only drops (the test-run
// machinery itself) and one that only redirects to the same device as the
// path under test. Two views: the whole run's ns/packet (the program, then
// the delivery of what it redirected), and the time inside the program as
// the kernel's run-time stats count it (kernel.bpf_stats_enabled, on only
// for a second run per case). The latter includes the clock read itself,
// ~50 ns here (the empty program's figure) and the same for every program,
// and the first touch of the frame's data, which a program that never reads
// the frame leaves to the delivery. Not a test: it prints numbers, nothing
// asserts on them.
//
// Needs root, `make` (dist/, build/bpf/xvtep.bpf.o) and `make bench-bpf`
// (build/bench/floor.bpf.o, ceiling.bpf.o).
// Run: node bench/prog-cost.mjs [--frames N] [--rounds R] [--json]
//        [--objects A.bpf.o,B.bpf.o] [--no-live]
// --objects loads one data path per object (default: this checkout's build)
// and interleaves them round by round, so two builds are compared under the
// same machine noise: a change of a few ns is below the spread of separate
// runs here.
// --no-live: for kernels that refuse live frames (EPERM from a sandboxed
// 6.18 here): one plain BPF_PROG_TEST_RUN per frame, so each run starts from
// the original frame (repeat would re-run on what the previous run left), and
// verdicts are not carried out. Only the in-program column means something
// then; the whole-run column is the syscall's. Default 50,000 frames.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Netns, ObjectSpec, TestRunFlag, ifindexOf, u8, u32, xdpContext } from '../dist/bpf/index.js';
import { Datapath } from '../dist/datapath/index.js';
import { outerHeader } from './lib/packets.mjs';
import { nsInProgram } from './lib/progstats.mjs';
import { summary } from './lib/stats.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const LIVE = !args.includes('--no-live');
const FRAMES = opt('--frames', LIVE ? 2_000_000 : 50_000);
const ROUNDS = opt('--rounds', 5);
const JSON_OUT = args.includes('--json');
const objIdx = args.indexOf('--objects');
const OBJECTS = objIdx >= 0 ? args[objIdx + 1].split(',') : [undefined];

const floorPath = join(root, 'build', 'bench', 'floor.bpf.o');
if (!existsSync(floorPath)) throw new Error(`${floorPath} missing: run make bench-bpf`);

// ---- frames (documentation addresses only) --------------------------------
const MAC = { uly: '020000000101', peer: '020000000202', ep1c: '02000000c101', rem: '02aabbccdd01' };
const hx = (s) => Buffer.from(s, 'hex');
function csum(b) {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  if (b.length & 1) s += b[b.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
const ip4 = (a) => Buffer.from(a.split('.').map(Number));
function ipv4(src, dst, proto, payload) {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h.writeUInt16BE(0x4000, 6);
  h[8] = 64;
  h[9] = proto;
  ip4(src).copy(h, 12);
  ip4(dst).copy(h, 16);
  h.writeUInt16BE(csum(h), 10);
  return Buffer.concat([h, payload]);
}
function ipv6(src, dst, payload) {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(payload.length, 4);
  h[6] = 17;
  h[7] = 64;
  hx(src).copy(h, 8);
  hx(dst).copy(h, 24);
  return Buffer.concat([h, payload]);
}
function udp(sport, dport, payload) {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}
const eth = (d, s, t, p) => Buffer.concat([hx(d), hx(s), Buffer.from([t >> 8, t & 0xff]), p]);
const vxlan = (vni, p) => Buffer.concat([Buffer.from([8, 0, 0, 0, vni >> 16, (vni >> 8) & 0xff, vni & 0xff, 0]), p]);
const LOCAL6 = '20010db8000000000000000000000001', PEER6 = '20010db8000000000000000000000002';
const VNI = 1024;

// 64-byte inner frame: Eth/IPv4/ICMP echo (checksum always complete, so the
// XDP endpoint program may encapsulate it under the default configuration).
const icmp = Buffer.alloc(30);
icmp[0] = 8;
icmp.fill(0x5a, 8);
icmp.writeUInt16BE(csum(icmp), 2);
const innerRx = eth(MAC.ep1c, MAC.rem, 0x0800, ipv4('198.51.100.2', '198.51.100.1', 1, icmp));
const innerTx = eth(MAC.rem, MAC.ep1c, 0x0800, ipv4('198.51.100.1', '198.51.100.2', 1, icmp));
const vx4 = eth(MAC.uly, MAC.peer, 0x0800, ipv4('192.0.2.2', '192.0.2.1', 17, udp(50000, 4789, vxlan(VNI, innerRx))));
const vx6 = eth(MAC.uly, MAC.peer, 0x86dd, ipv6(PEER6, LOCAL6, udp(50000, 4789, vxlan(VNI, innerRx))));

// ---- lab ---------------------------------------------------------------------
const tag = `xvc${process.pid % 100000}`;
const NS = `${tag}-dp`, PEER = `${tag}-pe`, CNT = `${tag}-ct`;
const sh = (...a) => execFileSync(a[0], a.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const nx = (ns, ...a) => sh('ip', 'netns', 'exec', ns, ...a);
function cleanup() {
  for (const n of [NS, PEER, CNT]) spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

cleanup();
for (const n of [NS, PEER, CNT]) {
  sh('ip', 'netns', 'add', n);
  nx(n, 'ip', 'link', 'set', 'lo', 'up');
}
sh('ip', 'link', 'add', 'uly0', 'netns', NS, 'address', '02:00:00:00:01:01', 'type', 'veth', 'peer', 'name', 'uly1', 'netns', PEER, 'address', '02:00:00:00:02:02');
sh('ip', 'link', 'add', 'ep1', 'netns', NS, 'type', 'veth', 'peer', 'name', 'ep1c', 'netns', CNT, 'address', '02:00:00:00:c1:01');
nx(NS, 'ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'uly0');
nx(NS, 'ip', 'addr', 'add', '2001:db8::1/64', 'dev', 'uly0', 'nodad');
for (const [n, d] of [[NS, 'uly0'], [NS, 'ep1'], [PEER, 'uly1'], [CNT, 'ep1c']]) nx(n, 'ip', 'link', 'set', d, 'up');
nx(NS, 'ip', 'neigh', 'replace', '192.0.2.2', 'lladdr', '02:00:00:00:02:02', 'nud', 'permanent', 'dev', 'uly0');
nx(NS, 'ip', 'neigh', 'replace', '2001:db8::2', 'lladdr', '02:00:00:00:02:02', 'nud', 'permanent', 'dev', 'uly0');
nx(NS, 'sysctl', '-qw', 'net.ipv4.conf.uly0.forwarding=1');
nx(NS, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');

const ns = Netns.open(NS);
const ifx = ns.run(() => ({ uly: ifindexOf('uly0'), ep1: ifindexOf('ep1') }));

// ---- data paths (one per object) --------------------------------------------
const base = {
  underlayIfindex: ifx.uly, port: 4789, localAddress: '192.0.2.1', underlayMtu: 1500, srcPortMin: 0, srcPortMax: 0,
  ttl: 0, tos: 0, tosInherit: false, df: 'unset', udp6ZeroChecksum: false, udp6ZeroChecksumRx: false, fdbRefreshMs: 0, epChecksumComplete: false, nhCacheMs: 0,
};
// both underlay families at once: the raw config entry
function configure(dp, over = {}) {
  dp.configure(base);
  const c = dp.config.get(0);
  dp.config.set(0, { ...c, localIp6: hx(LOCAL6), ...over });
  dp.bumpGeneration();
}
const setRemote = (dp, remote) => {
  dp.fdb.set({ vni: VNI, mac: '02:aa:bb:cc:dd:01', dest: { kind: 'remote', remote }, static: true, updatedNs: 0 });
  dp.bumpGeneration();
};
async function loadDatapath(objectPath) {
  const dp = await Datapath.load({ sizes: { vnis: 16, fdb: 1024 }, ...(objectPath ? { objectPath } : {}) });
  configure(dp);
  const info = { statsSlot: 1, flags: 1 }; // learning off: the steady state of a known flow
  dp.setVni(VNI, { learning: false, allowUnknownPeers: false, proxyArp: false, proxyNd: false, statsSlot: 1 });
  dp.endpoints.set(ifx.ep1, VNI, info);
  dp.peers.add(VNI, '192.0.2.2', info);
  dp.peers.add(VNI, '2001:db8::2', info);
  ns.run(() => {
    dp.devs.set(ifx.ep1, ifx.ep1);
    dp.setUplink(ifx.uly); // as attachUnderlay() does
  });
  dp.setRxGro(ifx.uly); // as attachUnderlay() in native mode: decap's UDP frames pay its TCP check
  dp.fdb.set({ vni: VNI, mac: '02:00:00:00:c1:01', dest: { kind: 'local', ifindex: ifx.ep1 }, static: true, updatedNs: 0 });
  setRemote(dp, '192.0.2.2');
  return dp;
}
const dps = [];
for (const o of OBJECTS) dps.push({ dp: await loadDatapath(o), tag: o && OBJECTS.length > 1 ? ` [${basename(o)}]` : '' });

const floorSpec = (ifindex) => {
  const s = ObjectSpec.open(floorPath, 'floor');
  s.setConstant('floor_ifindex', u32, ifindex);
  return s.load();
};
const floorToEp = await floorSpec(ifx.ep1);
const floorToUly = await floorSpec(ifx.uly);
// The no-lookup ceilings of `make bench` (bench/bpf/ceiling.bpf.c): what any
// decap/encap costs that only checks the port, strips or pushes 50 bytes and
// redirects.
const ceilPath = join(root, 'build', 'bench', 'ceiling.bpf.o');
const loadCeiling = (meta) => {
  const s = ObjectSpec.open(ceilPath, 'ceiling');
  s.setConstant('ceil_decap_ifindex', u32, ifx.ep1).setConstant('ceil_encap_ifindex', u32, ifx.uly);
  if (!meta) s.setConstant('ceil_xdp_meta', u8, 0);
  s.setRodata('ceil_outer', outerHeader({ dmac: '02:00:00:00:02:02', smac: '02:00:00:00:01:01', src: '192.0.2.1', dst: '192.0.2.2', vni: VNI }));
  return s.load();
};
// as bench/lib/topo.mjs: kernels that refuse bpf_xdp_adjust_meta to XDP get
// the ceiling with its GRO hand-off compiled out (its rows here don't use it)
const ceiling = await loadCeiling(true).catch((e) => {
  if (!/cannot use helper bpf_xdp_adjust_meta/.test(e?.log ?? '')) throw e;
  return loadCeiling(false);
});
// The receiving ends drop in their own XDP (which also gives the veth peers
// NAPI, without which XDP redirects into a veth are not delivered): the
// receiver's cost is the same small constant for every row, and no stack
// processing of the delivered frames is mixed into the numbers.
const sink = await floorSpec(0);
const links = [
  Netns.open(PEER).run(() => sink.program('xdp_drop').attachXdp('uly1', { mode: 'driver' })),
  Netns.open(CNT).run(() => sink.program('xdp_drop').attachXdp('ep1c', { mode: 'driver' })),
];

// ---- measurement -----------------------------------------------------------
// Cases run round-robin: round r of every case before round r + 1 of any, so
// slow drifts of the machine hit all of them alike. setup() puts the maps in
// the state the case measures; a 10k-frame warm-up (flow caches, next-hop
// cache, page pool) follows it each time.
const cases = [];
const add = (name, prog, data, ingress, baseline, setup = () => {}) => cases.push({ name, prog, data, ingress, baseline, setup, ns: [], progNs: [] });
add('empty XDP (drop)', floorToEp.program('xdp_drop'), vx4, ifx.uly);
add('redirect-only -> endpoint', floorToEp.program('xdp_redirect'), vx4, ifx.uly);
add('redirect-only -> underlay', floorToUly.program('xdp_redirect'), innerTx, ifx.ep1);
add('ceiling decap -> endpoint', ceiling.program('ceil_decap'), vx4, ifx.uly, 'redirect-only -> endpoint');
add('ceiling encap -> underlay', ceiling.program('ceil_encap'), innerTx, ifx.ep1, 'redirect-only -> underlay');
for (const { dp, tag } of dps) {
  const v4 = () => { setRemote(dp, '192.0.2.2'); configure(dp); };
  add(`decap IPv4 -> endpoint${tag}`, dp.program('xv_xdp_underlay'), vx4, ifx.uly, 'redirect-only -> endpoint');
  add(`decap IPv6 -> endpoint${tag}`, dp.program('xv_xdp_underlay'), vx6, ifx.uly, 'redirect-only -> endpoint');
  add(`encap IPv4 (XDP endpoint)${tag}`, dp.program('xv_xdp_endpoint'), innerTx, ifx.ep1, 'redirect-only -> underlay', v4);
  add(`encap IPv6, UDP csum 0${tag}`, dp.program('xv_xdp_endpoint'), innerTx, ifx.ep1, 'redirect-only -> underlay',
    () => { setRemote(dp, '2001:db8::2'); configure(dp, { udp6ZeroCsum: 1 }); });
  add(`encap IPv6 + UDP csum${tag}`, dp.program('xv_xdp_endpoint'), innerTx, ifx.ep1, 'redirect-only -> underlay',
    () => { setRemote(dp, '2001:db8::2'); configure(dp); });
}
const statsBefore = dps.map(({ dp }) => dp.readStats(1));
const runLive = (c, repeat) => c.prog.testRunAsync({
  data: c.data, ctx: xdpContext({ dataLength: c.data.length, ingressIfindex: c.ingress }), repeat, flags: TestRunFlag.XDP_LIVE_FRAMES, batchSize: 64, netns: ns,
});
const runPerFrame = (c, n) => ns.run(() => {
  const o = { data: c.data, ctx: xdpContext({ dataLength: c.data.length, ingressIfindex: c.ingress }), repeat: 1 };
  let total = 0;
  for (let i = 0; i < n; i++) total += c.prog.testRun(o).duration;
  return { duration: Math.round(total / n) };
});
const runOnce = LIVE ? runLive : async (c, n) => runPerFrame(c, n);
// A second run per case and round with the kernel's run-time stats on gives
// the program's own ns per packet (bench/lib/progstats.mjs); the whole-run
// timing runs under the machine's own setting (off unless someone set it).
const inProgram = (c) => nsInProgram(c.prog, () => runOnce(c, FRAMES >> 1));
for (let r = 0; r < ROUNDS; r++) {
  for (const c of cases) {
    c.setup();
    await runOnce(c, 10_000);
    c.ns.push((await runOnce(c, FRAMES)).duration);
    c.progNs.push(await inProgram(c));
  }
}
const rows = cases.map((c) => ({ name: c.name, ...summary(c.ns), baseline: c.baseline, inProgram: summary(c.progNs) }));
const st = dps.map(({ dp }) => dp.readStats(1));

const byName = new Map(rows.map((r) => [r.name, r]));
const empty = byName.get('empty XDP (drop)').median;
const emptyProg = byName.get('empty XDP (drop)').inProgram.median;
if (JSON_OUT) {
  console.log(JSON.stringify({ frames: FRAMES, rounds: ROUNDS, rows }, null, 2));
} else {
  console.log(`xvtep per-packet cost, ${LIVE ? 'live frames' : 'one test run per frame (--no-live)'}, ${FRAMES} frames x ${ROUNDS} rounds`);
  console.log('whole run (ns/packet: min / median / max, delivery included) | in the program (kernel stats: min / median)');
  for (const r of rows) {
    const over = r.baseline ? `  +${(r.median - byName.get(r.baseline).median).toFixed(0)} over ${r.baseline}` : '';
    console.log(`${r.name.padEnd(40)} ${String(r.min).padStart(5)} / ${String(r.median).padStart(5)} / ${String(r.max).padStart(5)}` +
      ` | ${r.inProgram.min.toFixed(1).padStart(6)} / ${r.inProgram.median.toFixed(1).padStart(6)}` +
      `  (+${(r.inProgram.median - emptyProg).toFixed(1)} over the empty program)   [whole run +${r.median - empty} over empty${over}]`);
  }
}
// sanity: the paths measured really decapsulated / encapsulated (not passed or dropped)
const perCase = ROUNDS * (10_000 + FRAMES + (FRAMES >> 1));
const expectRx = 2 * perCase, expectTx = 3 * perCase;
let bad = false;
dps.forEach(({ tag }, i) => {
  const rx = st[i].rxPackets - statsBefore[i].rxPackets, tx = st[i].txPackets - statsBefore[i].txPackets;
  console.log(`checked${tag}: ${rx} decapsulated (expected ${expectRx}), ${tx} encapsulated (expected ${expectTx}), drops ${st[i].drop.reduce((a, b) => a + b, 0)}`);
  bad ||= rx !== expectRx || tx !== expectTx;
});
for (const l of links) l.close();
sink.close();
floorToEp.close();
floorToUly.close();
ceiling.close();
for (const { dp } of dps) dp.close();
ns.close();
if (bad) process.exitCode = 1;
