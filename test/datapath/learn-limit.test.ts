// Caps on learned FDB entries (xv_vni_info.learn_max, xv_config.learn_max_total):
// through BPF_PROG_TEST_RUN on every learning path (XDP and TC receive, XDP
// and TC transmit), the counts the data path keeps, and the recount the
// control plane's ageing sweep writes.
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { ADDR, DpEnv, MAC, TC, XDP } from '../helpers/dpenv.js';
import { EtherType, Proto, eth, fill, hex, ipv4, udp, vxlan } from '../helpers/packets.js';

const VA = 3001, SA = 11, VB = 3002, SB = 12;

const innerFrame = (src: string, dst: string): Buffer =>
  eth(dst, src, EtherType.IPV4, ipv4({
    src: '198.51.100.2', dst: '198.51.100.1', proto: Proto.UDP, df: true, id: 1,
    payload: udp({ sport: 1234, dport: 5678, payload: fill(32), pseudo: { src: '198.51.100.2', dst: '198.51.100.1' } }),
  }));

const vx4 = (inner: Buffer, vni: number, src: string = ADDR.peer4): Buffer =>
  eth(MAC.uly, MAC.peer, EtherType.IPV4, ipv4({
    src, dst: ADDR.local4, proto: Proto.UDP,
    payload: udp({ sport: 50000, dport: 4789, payload: vxlan(vni, inner) }),
  }));

const macN = (p: number, i: number) => `02:${p.toString(16).padStart(2, '0')}:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;

describeKernel('learn limits', () => {
  let env: DpEnv;
  beforeAll(async () => {
    env = await DpEnv.create('lrn');
  });
  afterAll(() => env?.destroy());

  const learned = (vni: number) => env.dp.vnis.learnCounts().find((c) => c.vni === vni)?.learned;
  const total = () => env.dp.config.get(0)!.learnedTotal;

  beforeEach(() => {
    // a clean FDB and counts for each case
    const all = env.dp.fdb.list();
    if (all.length) env.dp.fdb.deleteMany(all);
    for (const v of [VA, VB]) env.dp.deleteVni(v);
    env.configureRaw({ learnMaxTotal: 0, learnedTotal: 0 });
    env.vni(VA, { slot: SA, learning: true, maxLearned: 3, endpoints: [env.ifx.ep1], peers: [ADDR.peer4, ADDR.peer4b] });
    env.vni(VB, { slot: SB, learning: true, maxLearned: 0, endpoints: [env.ifx.ep2], peers: [ADDR.peer4] });
    env.staticLocal(VA, MAC.ep1c, env.ifx.ep1);
    env.staticLocal(VB, MAC.ep2c, env.ifx.ep2);
  });

  it('at a VNI cap a new MAC is not learned but still delivered, counted as learn_limit; known MACs refresh and move; other VNIs go on learning', async () => {
    for (let i = 0; i < 3; i++) {
      const inner = innerFrame(macN(0xa0, i), MAC.ep1c);
      const r = env.counting({ [SA]: { rxPackets: 1, rxBytes: inner.length, event: { learn_new: 1 } } }, () => env.xdp('xv_xdp_underlay', vx4(inner, VA)));
      expect(r.retval).toBe(XDP.REDIRECT);
    }
    expect([learned(VA), total()]).toEqual([3, 3]);
    // the 4th: XDP and TC receive both refuse it, the frame is delivered byte for byte
    const fourth = innerFrame(macN(0xa0, 3), MAC.ep1c);
    const x = env.counting({ [SA]: { rxPackets: 1, rxBytes: fourth.length, event: { learn_limit: 1 } } }, () => env.xdp('xv_xdp_underlay', vx4(fourth, VA)));
    expect([x.retval, hex(x.data)]).toEqual([XDP.REDIRECT, hex(fourth)]);
    const t = env.counting({ [SA]: { rxPackets: 1, rxBytes: fourth.length, event: { learn_limit: 1 } } }, () => env.tc('xv_tc_underlay', vx4(fourth, VA), env.ifx.uly));
    expect([t.retval, hex(t.data)]).toEqual([TC.REDIRECT, hex(fourth)]);
    expect(env.dp.fdb.get(VA, macN(0xa0, 3))).toBeUndefined();
    // transmit-side learning (a container behind ep1 with a new MAC) is capped the same way, XDP and TC
    const out = innerFrame(macN(0xa1, 0), MAC.rem);
    env.staticRemote(VA, MAC.rem, ADDR.peer4);
    env.counting({ [SA]: { txPackets: 1, txBytes: out.length, event: { learn_limit: 1 } } }, () => env.xdp('xv_xdp_endpoint', out, env.ifx.ep1));
    env.counting({ [SA]: { txPackets: 1, txBytes: out.length, event: { learn_limit: 1 } } }, () => env.tc('xv_tc_endpoint', out, env.ifx.ep1));
    expect(env.dp.fdb.get(VA, macN(0xa1, 0))).toBeUndefined();
    // a known MAC moving to another VTEP is not a new entry: allowed at the cap
    const known = innerFrame(macN(0xa0, 0), MAC.ep1c);
    env.counting({ [SA]: { rxPackets: 1, rxBytes: known.length, event: { learn_move: 1 } } }, () => env.xdp('xv_xdp_underlay', vx4(known, VA, ADDR.peer4b)));
    expect(env.dp.fdb.get(VA, macN(0xa0, 0))!.dest).toEqual({ kind: 'remote', remote: ADDR.peer4b });
    // a known MAC's timestamp still refreshes (once the learning cache's fdb_refresh_ms, here 1 ms, has passed)
    env.configureRaw({ fdbRefreshMs: 1, learnedTotal: total() });
    const e = env.dp.fdb.get(VA, macN(0xa0, 1))!;
    env.dp.fdb.set({ ...e, updatedNs: e.updatedNs - 5e9 });
    env.dp.bumpGeneration();
    await new Promise((r) => setTimeout(r, 30));
    env.xdp('xv_xdp_underlay', vx4(innerFrame(macN(0xa0, 1), MAC.ep1c), VA));
    expect(env.dp.fdb.get(VA, macN(0xa0, 1))!.updatedNs).toBeGreaterThan(e.updatedNs - 1e9);
    expect(learned(VA)).toBe(3);
    // VNI B (no per-VNI cap) learns on
    for (let i = 0; i < 10; i++) {
      const inner = innerFrame(macN(0xb0, i), MAC.ep2c);
      env.counting({ [SB]: { rxPackets: 1, rxBytes: inner.length, event: { learn_new: 1 } } }, () => env.xdp('xv_xdp_underlay', vx4(inner, VB)));
    }
    expect([learned(VB), total()]).toEqual([10, 13]);
  });

  it('the total cap holds over all VNIs (the static reserve), and static entries still go in', () => {
    env.configureRaw({ learnMaxTotal: 5 });
    for (let i = 0; i < 8; i++) env.xdp('xv_xdp_underlay', vx4(innerFrame(macN(0xb1, i), MAC.ep2c), VB));
    expect([learned(VB), total()]).toEqual([5, 5]);
    const before = env.snapshot();
    env.xdp('xv_xdp_underlay', vx4(innerFrame(macN(0xa2, 0), MAC.ep1c), VA));
    env.expectCounters(before, { [SA]: { rxPackets: 1, rxBytes: innerFrame(macN(0xa2, 0), MAC.ep1c).length, event: { learn_limit: 1 } } });
    // the control plane's entries are not counted against the caps
    env.dp.fdb.setMany(Array.from({ length: 100 }, (_, i) => ({ vni: VA, mac: macN(0xc0, i), dest: { kind: 'remote' as const, remote: ADDR.peer4 }, static: true, updatedNs: 0 })));
    expect(env.dp.fdb.list().filter((r) => r.static).length).toBe(102);
    expect(total()).toBe(5);
  });

  it('the ageing sweep recounts: aged-out entries make room again, and a count that drifted is set back to the truth', () => {
    for (let i = 0; i < 3; i++) env.xdp('xv_xdp_underlay', vx4(innerFrame(macN(0xa3, i), MAC.ep1c), VA));
    expect(learned(VA)).toBe(3);
    // age one entry out (its timestamp 10 minutes back, VNI ageing 300 s)
    const old = env.dp.fdb.get(VA, macN(0xa3, 0))!;
    env.dp.fdb.set({ ...old, updatedNs: old.updatedNs - 600e9 });
    expect(env.dp.ageLearned(() => 300).map((r) => r.mac)).toEqual([macN(0xa3, 0)]);
    expect([learned(VA), total()]).toEqual([2, 2]);
    // room for one more
    env.counting({ [SA]: { rxPackets: 1, rxBytes: innerFrame(macN(0xa3, 9), MAC.ep1c).length, event: { learn_new: 1 } } },
      () => env.xdp('xv_xdp_underlay', vx4(innerFrame(macN(0xa3, 9), MAC.ep1c), VA)));
    expect(learned(VA)).toBe(3);
    // an entry deleted behind the control plane's back (bpftool, a crash mid-sweep) leaves the count high
    // until the next sweep, which sets it back to what the FDB holds
    env.dp.fdb.delete(VA, macN(0xa3, 1));
    expect(learned(VA)).toBe(3);
    env.dp.recountLearned();
    expect([learned(VA), total()]).toEqual([2, 2]);
    // rewriting the VNI's settings (a reload) keeps its count
    env.dp.setVni(VA, { ...env.dp.vnis.get(VA)!, maxLearned: 2 });
    expect(env.dp.vnis.learnCounts().find((c) => c.vni === VA)).toEqual({ vni: VA, learned: 2, max: 2 });
    env.counting({ [SA]: { rxPackets: 1, rxBytes: innerFrame(macN(0xa3, 8), MAC.ep1c).length, event: { learn_limit: 1 } } },
      () => env.xdp('xv_xdp_underlay', vx4(innerFrame(macN(0xa3, 8), MAC.ep1c), VA)));
  });

  it('a burst of 200 new MACs on one CPU stops at exactly the cap, and the recount agrees', () => {
    env.dp.setVni(VA, { ...env.dp.vnis.get(VA)!, maxLearned: 50 });
    for (let i = 0; i < 200; i++) env.xdp('xv_xdp_underlay', vx4(innerFrame(macN(0xa4, i), MAC.ep1c), VA));
    expect(env.dp.fdb.list().filter((r) => r.vni === VA && !r.static).length).toBe(50);
    expect(learned(VA)).toBe(50);
    env.dp.recountLearned();
    expect(learned(VA)).toBe(50);
  });
});
