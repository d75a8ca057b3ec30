// xv_learn_ring: through BPF_PROG_TEST_RUN on both endpoint learning paths
// (XDP and TC), exactly one record per new or moved local learned MAC, with
// the bytes bpf/include/xvtep_abi.h gives; none on a refresh, at the learn
// cap, on a static conflict or for remote learning; a local MAC re-learned
// behind a remote VTEP says it left; a full ring counts what it loses.
import { unlinkSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { RingBuffer } from '../../src/bpf/index.js';
import { Datapath, LEARN_RING_BYTES, type LearnEvents } from '../../src/datapath/index.js';
import { TempBpffs } from '../helpers/bpffs.js';
import { describeKernel } from '../helpers/kernel.js';
import { ADDR, DpEnv, MAC } from '../helpers/dpenv.js';
import { EtherType, Proto, eth, fill, ipv4, udp, vxlan } from '../helpers/packets.js';

const VA = 3101, SA = 21, VB = 3102, SB = 22;

const frame = (src: string, dst: string): Buffer =>
  eth(dst, src, EtherType.IPV4, ipv4({
    src: '198.51.100.2', dst: '198.51.100.1', proto: Proto.UDP, df: true, id: 1,
    payload: udp({ sport: 1234, dport: 5678, payload: fill(32), pseudo: { src: '198.51.100.2', dst: '198.51.100.1' } }),
  }));

const vx4 = (inner: Buffer, vni: number, src: string = ADDR.peer4): Buffer =>
  eth(MAC.uly, MAC.peer, EtherType.IPV4, ipv4({
    src, dst: ADDR.local4, proto: Proto.UDP,
    payload: udp({ sport: 50000, dport: 4789, payload: vxlan(vni, inner) }),
  }));

/** The record as xvtep_abi.h lays it out: vni, ifindex (host order), mac, kind, pad. */
const rawEvent = (vni: number, ifindex: number, mac: string, kind: number): string => {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(vni, 0);
  b.writeUInt32LE(ifindex, 4);
  Buffer.from(mac.replaceAll(':', ''), 'hex').copy(b, 8);
  b[14] = kind;
  return b.toString('hex');
};

const macN = (p: number, i: number) => `02:${p.toString(16).padStart(2, '0')}:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;

describeKernel('learn events (xv_learn_ring)', () => {
  let env: DpEnv;
  let raw: RingBuffer;
  let events: LearnEvents;
  const records = () => raw.consume().map((b) => b.toString('hex'));
  beforeAll(async () => {
    env = await DpEnv.create('lrg');
    raw = new RingBuffer(env.dp.learnRing!);
    events = env.dp.learnEvents()!;
  });
  afterAll(() => {
    events?.close();
    raw?.close();
    env?.destroy();
  });

  beforeEach(() => {
    const all = env.dp.fdb.list();
    if (all.length) env.dp.fdb.deleteMany(all);
    for (const v of [VA, VB]) env.dp.deleteVni(v);
    // fdb_refresh_ms 1: the learning cache stops confirming after 1 ms, so a
    // refresh below really reaches the FDB (and writes its timestamp)
    env.configureRaw({ fdbRefreshMs: 1, learnEvents: 1 });
    env.vni(VA, { slot: SA, learning: true, endpoints: [env.ifx.ep1, env.ifx.ep2], peers: [ADDR.peer4, ADDR.peer4b] });
    env.vni(VB, { slot: SB, learning: true, maxLearned: 1, endpoints: [env.ifx.ep3], peers: [ADDR.peer4] });
    env.staticRemote(VA, MAC.rem, ADDR.peer4);
    env.staticRemote(VB, MAC.rem, ADDR.peer4);
    records(); // nothing left over from the last case
  });

  it('a new source MAC on an endpoint: one record with the right bytes, XDP and TC; a refresh: none', async () => {
    const a = macN(0xa0, 1), b = macN(0xa0, 2);
    env.counting({ [SA]: { txPackets: 1, txBytes: frame(a, MAC.rem).length, event: { learn_new: 1 } } },
      () => env.xdp('xv_xdp_endpoint', frame(a, MAC.rem), env.ifx.ep1));
    expect(records()).toEqual([rawEvent(VA, env.ifx.ep1, a, 1)]);
    env.counting({ [SA]: { txPackets: 1, txBytes: frame(b, MAC.rem).length, event: { learn_new: 1 } } },
      () => env.tc('xv_tc_endpoint', frame(b, MAC.rem), env.ifx.ep2));
    expect(records()).toEqual([rawEvent(VA, env.ifx.ep2, b, 1)]);
    // the same frames again, past fdb_refresh_ms: the timestamps refresh, no record
    const before = env.dp.fdb.get(VA, a)!.updatedNs;
    await new Promise((r) => setTimeout(r, 20));
    env.xdp('xv_xdp_endpoint', frame(a, MAC.rem), env.ifx.ep1);
    env.tc('xv_tc_endpoint', frame(a, MAC.rem), env.ifx.ep1);
    env.tc('xv_tc_endpoint', frame(b, MAC.rem), env.ifx.ep2);
    expect(env.dp.fdb.get(VA, a)!.updatedNs).toBeGreaterThan(before);
    expect(records()).toEqual([]);
    expect(env.dp.fdb.list().filter((r) => !r.static).map((r) => r.mac).sort()).toEqual([a, b]);
  });

  it('a local MAC moving to another endpoint, to a remote VTEP and back: move, left, move', () => {
    const m = macN(0xa1, 1);
    env.xdp('xv_xdp_endpoint', frame(m, MAC.rem), env.ifx.ep1);
    env.tc('xv_tc_endpoint', frame(m, MAC.rem), env.ifx.ep2);
    expect(records()).toEqual([rawEvent(VA, env.ifx.ep1, m, 1), rawEvent(VA, env.ifx.ep2, m, 2)]);
    // re-learned from a VXLAN frame of peer4: no longer this host's
    // (to an unknown MAC with no flood ports: learned, then dropped)
    env.xdp('xv_xdp_underlay', vx4(frame(m, MAC.ep1c), VA));
    expect(env.dp.fdb.get(VA, m)!.dest).toEqual({ kind: 'remote', remote: ADDR.peer4 });
    expect(records()).toEqual([rawEvent(VA, 0, m, 3)]);
    // back on ep1
    env.xdp('xv_xdp_endpoint', frame(m, MAC.rem), env.ifx.ep1);
    expect(records()).toEqual([rawEvent(VA, env.ifx.ep1, m, 2)]);
    // decoded by the datapath layer the same way
    env.tc('xv_tc_endpoint', frame(m, MAC.rem), env.ifx.ep2);
    expect(events.take()).toEqual([{ vni: VA, mac: m, ifindex: env.ifx.ep2, kind: 'move' }]);
  });

  it('none for remote learning, at the learn cap, or on a static conflict', () => {
    // remote: a new MAC behind peer4, then moving to peer4b
    const r = macN(0xa2, 1);
    env.xdp('xv_xdp_underlay', vx4(frame(r, MAC.ep1c), VA));
    env.xdp('xv_xdp_underlay', vx4(frame(r, MAC.ep1c), VA, ADDR.peer4b));
    expect(env.dp.fdb.get(VA, r)!.dest).toEqual({ kind: 'remote', remote: ADDR.peer4b });
    // VB's cap is 1: the first MAC is learned (one record), the second is not (none)
    const c1 = macN(0xa3, 1), c2 = macN(0xa3, 2);
    env.xdp('xv_xdp_endpoint', frame(c1, MAC.rem), env.ifx.ep3);
    env.counting({ [SB]: { txPackets: 1, txBytes: frame(c2, MAC.rem).length, event: { learn_limit: 1 } } },
      () => env.xdp('xv_xdp_endpoint', frame(c2, MAC.rem), env.ifx.ep3));
    env.tc('xv_tc_endpoint', frame(c2, MAC.rem), env.ifx.ep3);
    expect(env.dp.fdb.get(VB, c2)).toBeUndefined();
    // a static entry's MAC seen on an endpoint: refused, no record
    env.staticLocal(VA, MAC.ep1c, env.ifx.ep1);
    env.counting({ [SA]: { txPackets: 1, txBytes: frame(MAC.ep1c, MAC.rem).length, event: { static_conflict: 1 } } },
      () => env.xdp('xv_xdp_endpoint', frame(MAC.ep1c, MAC.rem), env.ifx.ep2));
    expect(records()).toEqual([rawEvent(VB, env.ifx.ep3, c1, 1)]);
  });

  it('a full ring loses records and counts each in learn_ring_drops and learn_ring_full; the FDB still learns', () => {
    const m = macN(0xa4, 1);
    const capacity = Math.floor(LEARN_RING_BYTES / 24); // 16-byte records + 8-byte headers
    const drops0 = events.drops();
    // a MAC moving between ep1 and ep2 on every frame: one record each, the FDB stays one entry
    env.xdp('xv_xdp_endpoint', frame(m, MAC.rem), env.ifx.ep1);
    for (let i = 1; i < capacity; i++) env.xdp('xv_xdp_endpoint', frame(m, MAC.rem), i % 2 ? env.ifx.ep2 : env.ifx.ep1);
    expect(events.drops()).toBe(drops0);
    // full now: the next two moves are lost and counted
    const last = capacity % 2 ? env.ifx.ep2 : env.ifx.ep1, other = last === env.ifx.ep1 ? env.ifx.ep2 : env.ifx.ep1;
    env.counting({ [SA]: { txPackets: 2, txBytes: 2 * frame(m, MAC.rem).length, event: { learn_move: 2, learn_ring_full: 2 } } }, () => {
      env.xdp('xv_xdp_endpoint', frame(m, MAC.rem), last);
      env.tc('xv_tc_endpoint', frame(m, MAC.rem), other);
    });
    expect(events.drops()).toBe(drops0 + 2);
    expect(env.dp.fdb.get(VA, m)!.dest).toEqual({ kind: 'local', ifindex: other });
    const got = events.take();
    expect(got.length).toBe(capacity);
    expect(got[0]).toEqual({ vni: VA, mac: m, ifindex: env.ifx.ep1, kind: 'new' });
    expect(got.slice(1).every((e) => e.kind === 'move')).toBe(true);
    // room again
    env.xdp('xv_xdp_endpoint', frame(m, MAC.rem), last);
    expect(events.take()).toEqual([{ vni: VA, mac: m, ifindex: last, kind: 'move' }]);
    // configure() (a reload) keeps the count
    env.dp.configure(env.settings({ learnEvents: true }));
    expect(events.drops()).toBe(drops0 + 2);
  });

  it('learn_events 0 (no consumer: no cluster): no record, nothing counted as lost', () => {
    env.dp.configure(env.settings({ fdbRefreshMs: 1, learnEvents: false }));
    expect(env.dp.settings()!.learnEvents).toBe(false);
    const drops0 = events.drops();
    const m = macN(0xa6, 1);
    env.counting({ [SA]: { txPackets: 2, txBytes: 2 * frame(m, MAC.rem).length, event: { learn_new: 1, learn_move: 1 } } }, () => {
      env.xdp('xv_xdp_endpoint', frame(m, MAC.rem), env.ifx.ep1);
      env.tc('xv_tc_endpoint', frame(m, MAC.rem), env.ifx.ep2);
    });
    expect(records()).toEqual([]);
    expect(events.drops()).toBe(drops0);
    env.dp.configure(env.settings({ fdbRefreshMs: 1, learnEvents: true }));
    expect(env.dp.settings()!.learnEvents).toBe(true);
    env.xdp('xv_xdp_endpoint', frame(m, MAC.rem), env.ifx.ep1);
    expect(records()).toEqual([rawEvent(VA, env.ifx.ep1, m, 2)]);
  });

  it('pinned with the data path and adopted (xvtep run after a SIGKILL); pins of an older xvtep are adopted without it', () => {
    const fs = new TempBpffs();
    try {
      env.dp.pin(fs.path('dp'));
      const adopted = Datapath.open(fs.path('dp'));
      const ev = adopted.learnEvents()!;
      try {
        const m = macN(0xa5, 1);
        env.xdp('xv_xdp_endpoint', frame(m, MAC.rem), env.ifx.ep1);
        expect(ev.take()).toEqual([{ vni: VA, mac: m, ifindex: env.ifx.ep1, kind: 'new' }]);
      } finally {
        ev.close();
        adopted.close();
      }
      unlinkSync(fs.path('dp/maps/xv_learn_ring'));
      const older = Datapath.open(fs.path('dp'));
      try {
        expect([older.learnRing, older.learnEvents()]).toEqual([undefined, undefined]);
        older.pin(fs.path('dp')); // a reload pins again: nothing invented
        const again = Datapath.open(fs.path('dp'));
        expect(again.learnRing).toBeUndefined();
        again.close();
      } finally {
        older.close();
      }
    } finally {
      Datapath.unpin(fs.path('dp'));
      fs.destroy();
    }
  });
});
