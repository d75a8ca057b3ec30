// Cluster benchmarks against a real etcd and real daemons (docs/cluster.md):
//  - start-up against a large cluster: 1,000 simulated members × 10 MACs,
//    written straight into etcd, applied at daemon start (target ≤ 2 s);
//  - a MAC learned on one host present in another host's FDB: p50/p99
//    (target p99 < 300 ms).
// Numbers are printed and written to bench/results/cluster-<date>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { Etcd3 } from 'etcd3';
import { afterAll, expect, it } from 'vitest';
import { ClusterLab, type HostSpec } from '../../test/helpers/cluster-lab.js';
import { waitFor } from '../../test/helpers/vtep-lab.js';
import { Datapath } from '../../src/datapath/datapath.js';

const MEMBERS = Number(process.env.XVTEP_BENCH_MEMBERS ?? 1000);
const MACS = 10;
// A VNI floods to at most 32 IPv4 VTEPs (the data path's fixed flood list): the simulated members spread over VNIs of 25.
const PER_VNI = 25;
const VNIS = Math.ceil(MEMBERS / PER_VNI);
const LEARN_SAMPLES = Number(process.env.XVTEP_BENCH_LEARN ?? 50);
const hex = (n: number) => n.toString(16).padStart(2, '0');
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const loadAvg = () => loadavg().map((x) => Math.round(x * 100) / 100);
const results: Record<string, unknown> = { at: new Date().toISOString(), cores: cpus().length, loadAvgAtStart: loadAvg() };

afterAll(() => {
  results.loadAvgAtEnd = loadAvg();
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/cluster-${(results.at as string).replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  console.log(`cluster bench: ${JSON.stringify(results)} -> ${file}`);
});

it(`start-up against ${MEMBERS} simulated members × ${MACS} MACs`, async () => {
  const L = new ClusterLab('bs', 10);
  try {
    const spec: HostSpec = { name: 'big', addr: '192.0.2.1', vnis: [] };
    await L.start([spec]);
    const h = L.host('big');
    // endpoints: one veth per VNI, its peer in the same namespace with GRO on (nothing flows here, only maps are timed)
    for (let v = 1; v <= VNIS; v++) {
      L.lab.exec(h.ns, 'ip', 'link', 'add', `ep${v}`, 'type', 'veth', 'peer', 'name', `ep${v}p`);
      L.lab.exec(h.ns, 'ip', 'link', 'set', `ep${v}`, 'up');
      L.lab.exec(h.ns, 'ip', 'link', 'set', `ep${v}p`, 'up');
      L.lab.exec(h.ns, 'ethtool', '-K', `ep${v}p`, 'gro', 'on');
    }
    const cfg = L.config(spec, h.pinDir);
    cfg.vnis = Array.from({ length: VNIS }, (_, i) => ({ vni: 1000 + i, endpoints: [`ep${i + 1}`] }));
    L.writeConfig('big', cfg);
    const client = new Etcd3({ hosts: L.etcd.rootEndpoints });
    try {
      const ops: Array<{ request_put: { key: Buffer; value: Buffer } }> = [];
      for (let m = 0; m < MEMBERS; m++) {
        const name = `sim${m}`, vni = 1000 + Math.floor(m / PER_VNI), addr = `10.${(m >> 8) & 255}.${m & 255}.1`;
        ops.push({ request_put: { key: Buffer.from(`/xvtep/v1/members/${name}`), value: Buffer.from(JSON.stringify({ v: 1, name, address: addr, family: 4, port: 4789, vnis: [vni], software: 'bench', layout: 1 })) } });
        const macs = Array.from({ length: MACS }, (_, k) => `02:5e:${hex((m >> 8) & 255)}:${hex(m & 255)}:00:${hex(k)}`);
        ops.push({ request_put: { key: Buffer.from(`/xvtep/v1/vnis/${vni}/${name}`), value: Buffer.from(JSON.stringify({ v: 1, macs, neighbors: [] })) } });
      }
      for (let i = 0; i < ops.length; i += 100) await client.kv.txn({ compare: [], success: ops.slice(i, i + 100), failure: [] });
    } finally {
      client.close();
    }
    const t0 = Date.now();
    await L.run('big', {}, ['--assume-peer-napi']);
    const ready = Date.now() - t0;
    const count = () => {
      const dp = Datapath.open(h.pinDir);
      try {
        return { fdb: dp.fdb.list().filter((r) => r.static).length, peers: dp.peers.list().length };
      } finally {
        dp.close();
      }
    };
    await waitFor(() => { const c = count(); return c.fdb === MEMBERS * MACS && c.peers === MEMBERS; }, 60_000, () => `${JSON.stringify(count())}: ${h.out}`);
    const applied = Date.now() - t0;
    // The view goes into the first apply when the list beats the data path's load; else a cluster apply follows it.
    const viewApplied = () => L.lineAt('big', /applied \S+ with the cluster's view: [1-9]|reload \(cluster [a-z]+\): [1-9]/);
    await waitFor(() => viewApplied() !== null, 10_000, () => h.out);
    const grant = L.lineAt('big', /lease \S+ granted/)! - t0;
    const done = viewApplied()! - t0;
    results.startup = {
      members: MEMBERS, macs: MEMBERS * MACS, vnis: VNIS, spawnToReadyMs: ready, leaseGrantMs: grant, viewAppliedLogMs: done,
      inFirstApply: L.lineAt('big', /applied \S+ with the cluster's view/) !== null, spawnToMapsCompleteMs: applied, loadAvg: loadAvg(),
    };
    console.log(`start-up: ${JSON.stringify(results.startup)}`);
    expect(count()).toEqual({ fdb: MEMBERS * MACS, peers: MEMBERS });
  } finally {
    await L.destroy();
  }
});

it.skipIf(process.env.XVTEP_BENCH_ONLY === 'startup')(`a MAC learned on one host reaches the other's FDB (${LEARN_SAMPLES} samples)`, async () => {
  const specs: HostSpec[] = [1, 2].map((i) => ({ name: `h${i}`, addr: `192.0.2.${i}`, vnis: [{ vni: 100, cts: [{ name: `c${i}`, ip: `198.51.100.${i}`, mac: `02:00:00:01:00:0${i}` }] }] }));
  const L = new ClusterLab('bl', 10);
  try {
    await L.start(specs);
    await Promise.all(specs.map((s) => L.run(s.name)));
    await waitFor(() => L.maps('h2').peers.length === 1 && L.maps('h1').peers.length === 1, 30_000, () => L.host('h1').out);
    const c1 = L.ct('c1');
    const samples: number[] = [];
    const dp = Datapath.open(L.host('h2').pinDir);
    try {
      for (let i = 0; i < LEARN_SAMPLES; i++) {
        const mac = `02:77:00:00:${hex(i >> 8)}:${hex(i & 255)}`;
        // one frame from a new source MAC into h1's endpoint: the TC program learns it; the sender
        // prints when it sent (CLOCK_REALTIME, the test's clock too): its start-up and exit are not counted
        const out = L.lab.exec(c1, 'python3', '-c', `import socket,time;s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW);s.bind(("eth0",0));s.send(bytes.fromhex("ffffffffffff"+"${mac.replace(/:/g, '')}"+"88b5")+bytes(46));print(repr(time.time()))`);
        const sent = Number(out.trim()) * 1000;
        // h2's FDB polled every 2 ms (a lookup costs microseconds)
        for (const end = Date.now() + 10_000; dp.fdb.get(100, mac)?.static !== true;) {
          if (Date.now() > end) throw new Error(`${mac} never reached h2`);
          await new Promise((r) => setTimeout(r, 2));
        }
        samples.push(Date.now() - sent);
      }
    } finally {
      dp.close();
    }
    const learning = (L.status('h1') as { learning?: string }).learning;
    const ms = (x: number) => Math.round(x * 10) / 10;
    results.learned = { samples: samples.length, p50Ms: ms(pct(samples, 50)), p99Ms: ms(pct(samples, 99)), maxMs: ms(Math.max(...samples)), learning };
    console.log(`learned MAC propagation: ${JSON.stringify(results.learned)}`);
  } finally {
    await L.destroy();
  }
});

// Join and death, 8 hosts: j8 is SIGKILLed (its records go at its lease's
// expiry: the death) and started again (its records come back: the join),
// JOINS times. Times are when this process read each daemon's lines.
const JOINS = Number(process.env.XVTEP_BENCH_JOINS ?? 20);
const JOIN_TTL = 3;
it.skipIf(process.env.XVTEP_BENCH_ONLY === 'startup')(`join and death of one of 8 hosts (${JOINS} rounds, TTL ${JOIN_TTL} s)`, async () => {
  const specs: HostSpec[] = Array.from({ length: 8 }, (_, i) => ({
    name: `j${i + 1}`, addr: `192.0.2.${i + 1}`, vnis: [{ vni: 100, cts: [{ name: `k${i + 1}`, ip: `198.51.100.${i + 1}`, mac: `02:00:00:02:00:${hex(i + 1)}` }] }],
  }));
  const L = new ClusterLab('bj', JOIN_TTL);
  const others = specs.slice(0, 7).map((s) => s.name);
  // j8's file names one MAC behind its endpoint: the others get a peer and an FDB entry from it
  const j8mac = '02:00:00:02:00:08';
  const hasJ8 = (n: string) => {
    const m = L.maps(n);
    return m.peers.includes('100|192.0.2.8') && m.fdb.some((f) => f.mac === j8mac && f.remote === '192.0.2.8');
  };
  const applyAfter = (n: string, re: RegExp, after: number) => {
    const seen = L.lineAt(n, re, after);
    return seen === null ? null : L.lineAt(n, /reload \(cluster watch\): [1-9]\d* map change/, seen);
  };
  try {
    await L.start(specs);
    const j8 = L.host('j8');
    L.writeConfig('j8', { ...j8.cfg, vnis: [{ vni: 100, endpoints: ['vk8'], fdb: [{ mac: j8mac, endpoint: 'vk8' }] }] });
    await Promise.all(specs.map((s) => L.run(s.name)));
    await waitFor(() => others.every(hasJ8), 60_000, () => `j8 not everywhere: ${others.map((n) => `${n}:${hasJ8(n)}`).join(' ')}`);
    const joins: number[] = [], fromPublish: number[] = [], deaths: number[] = [], afterExpiry: number[] = [];
    for (let i = 0; i < JOINS; i++) {
      // death: SIGKILL leaves the records to the lease
      const killed = Date.now();
      await L.stop('j8', 'SIGKILL');
      await waitFor(() => others.every((n) => applyAfter(n, /member j8 left/, killed) !== null), (JOIN_TTL + 10) * 1000, () => `round ${i}: j8 not removed everywhere`);
      const gone = others.map((n) => applyAfter(n, /member j8 left/, killed)!);
      const expiredSeen = Math.min(...others.map((n) => L.lineAt(n, /member j8 left/, killed)!));
      deaths.push(Math.max(...gone) - killed);
      afterExpiry.push(Math.max(...gone) - expiredSeen);
      expect(others.filter(hasJ8), `round ${i}: j8's entries left after its death`).toEqual([]);
      // join: from j8's lease grant to the last of the 7 having applied its records
      const started = Date.now();
      await L.run('j8');
      await waitFor(() => others.every((n) => applyAfter(n, /member j8 joined/, started) !== null), 20_000, () => `round ${i}: j8 not joined everywhere`);
      const granted = L.lineAt('j8', /cluster: lease \S+ granted/, started)!;
      const published = L.lineAt('j8', /cluster: published \d+ record/, started)!;
      const last = Math.max(...others.map((n) => applyAfter(n, /member j8 joined/, started)!));
      joins.push(last - granted);
      fromPublish.push(last - published);
      expect(others.filter((n) => !hasJ8(n)), `round ${i}: j8's entries missing after its join`).toEqual([]);
    }
    const stats = (xs: number[]) => ({ p50Ms: pct(xs, 50), p99Ms: pct(xs, 99), maxMs: Math.max(...xs) });
    results.join = { hosts: 8, rounds: JOINS, grantToLastAppliedMs: stats(joins), publishToLastAppliedMs: stats(fromPublish), targetP99Ms: 1000, loadAvg: loadAvg() };
    results.death = { hosts: 8, rounds: JOINS, ttlS: JOIN_TTL, killToGoneEverywhereMs: stats(deaths), boundMs: JOIN_TTL * 1000 + 1000, firstDeleteSeenToLastAppliedMs: stats(afterExpiry), loadAvg: loadAvg() };
    console.log(`join: ${JSON.stringify(results.join)}\ndeath: ${JSON.stringify(results.death)}`);
  } finally {
    await L.destroy();
  }
});
