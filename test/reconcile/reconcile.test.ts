// Reconcile: make-before-break order and rollback (against a recording
// store), then the same against the kernel: a half-applied reload on a full
// map is rolled back byte for byte and reported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDiff, ApplyError } from '../../src/reconcile/apply.js';
import { diffTables } from '../../src/reconcile/diff.js';
import { addrKey, emptyTables, fdbKey, type Tables } from '../../src/reconcile/model.js';
import type { Store } from '../../src/reconcile/store.js';
import { Datapath } from '../../src/datapath/datapath.js';
import { describeKernel } from '../helpers/kernel.js';
import { VtepLab } from '../helpers/vtep-lab.js';
import { snapshotMaps } from '../helpers/snapshot.js';

function recorder(failOn?: string): { store: Store; ops: string[] } {
  const ops: string[] = [];
  const rec = (name: string) => (...args: unknown[]) => {
    const n = Array.isArray(args[0]) ? (args[0] as unknown[]).length : undefined;
    if (n === 0) return;
    ops.push(n === undefined ? `${name} ${JSON.stringify(args[0])}` : `${name} ${n}`);
    if (name === failOn) throw new Error(`E2BIG (injected at ${name})`);
  };
  const names = ['configure', 'setVnis', 'deleteVnis', 'zeroStats', 'setEndpoints', 'deleteEndpoints', 'addDevs', 'deleteDevs', 'setPeers',
    'deletePeers', 'setNeighbors', 'deleteNeighbors', 'setFdb', 'deleteFdb', 'setFlood', 'deleteFlood', 'setFloodPorts', 'deleteFloodPorts', 'bumpGeneration'];
  return { store: Object.fromEntries(names.map((n) => [n, rec(n)])) as unknown as Store, ops };
}

const settings = { underlayIfindex: 2, port: 4789, localAddress: '192.0.2.1', underlayMtu: 1500, srcPortMin: 32768, srcPortMax: 61000, ttl: 64, tos: 0, tosInherit: false, df: 'unset' as const, udp6ZeroChecksum: false, fdbRefreshMs: 1000, epChecksumComplete: false, nhCacheMs: 0 };
const vniS = (statsSlot: number) => ({ learning: true, allowUnknownPeers: false, proxyArp: false, proxyNd: false, statsSlot });

function tables(vni: number, slot: number, ifindex: number, macs: string[], peer: string): Tables {
  const t = emptyTables();
  t.settings = settings;
  t.vnis.set(vni, vniS(slot));
  t.endpoints.set(ifindex, { ifindex, vni });
  t.devs.add(ifindex);
  t.peers.set(addrKey(vni, peer), { vni, address: peer });
  for (const mac of macs) t.fdb.set(fdbKey(vni, mac), { vni, mac, dest: { kind: 'remote', remote: peer }, static: true, updatedNs: 0 });
  t.flood.set(vni, { vni, remotes: [peer], locals: [ifindex] });
  t.floodPorts.set(vni, [ifindex]);
  return t;
}

describe('apply order', () => {
  it('adds everything before removing anything, FDB before flood lists, one generation bump at the end', () => {
    const live = tables(42, 1, 3, ['02:00:00:00:00:01'], '192.0.2.2');
    const desired = tables(43, 2, 4, ['02:00:00:00:00:02'], '192.0.2.3');
    const { store, ops } = recorder();
    applyDiff(store, diffTables(desired, live));
    const names = ops.map((o) => o.split(' ')[0]!);
    expect(names).toEqual(['zeroStats', 'setVnis', 'addDevs', 'setEndpoints', 'setPeers', 'setFdb', 'setFlood', 'setFloodPorts',
      'deleteFdb', 'deletePeers', 'deleteFloodPorts', 'deleteFlood', 'deleteEndpoints', 'deleteDevs', 'deleteVnis', 'bumpGeneration']);
    expect(ops[0]).toBe('zeroStats 2');
  });

  it('needs no generation bump when only FDB entries are added', () => {
    const live = tables(42, 1, 3, [], '192.0.2.2');
    const desired = tables(42, 1, 3, ['02:00:00:00:00:01'], '192.0.2.2');
    const { store, ops } = recorder();
    applyDiff(store, diffTables(desired, live));
    expect(ops).toEqual(['setFdb 1']);
  });

  it('rewrites the endpoint and peer copies of a VNI left stale by an interrupted apply, even when the VNI itself matches', () => {
    const live = tables(42, 1, 3, [], '192.0.2.2');
    live.staleCopies.add(42);
    const { store, ops } = recorder();
    applyDiff(store, diffTables(tables(42, 1, 3, [], '192.0.2.2'), live));
    expect(ops.map((o) => o.split(' ')[0])).toEqual(['setEndpoints', 'setPeers', 'bumpGeneration']);
    const fine = recorder();
    applyDiff(fine.store, diffTables(tables(42, 1, 3, [], '192.0.2.2'), tables(42, 1, 3, [], '192.0.2.2')));
    expect(fine.ops).toEqual([]);
  });

  it('keeps learned entries unless their VNI goes; a static entry takes over a learned key', () => {
    const live = tables(42, 1, 3, [], '192.0.2.2');
    live.fdb.set(fdbKey(42, '02:00:00:00:00:0a'), { vni: 42, mac: '02:00:00:00:00:0a', dest: { kind: 'remote', remote: '192.0.2.2' }, static: false, updatedNs: 5 });
    live.fdb.set(fdbKey(42, '02:00:00:00:00:0b'), { vni: 42, mac: '02:00:00:00:00:0b', dest: { kind: 'remote', remote: '192.0.2.2' }, static: false, updatedNs: 5 });
    const desired = tables(42, 1, 3, ['02:00:00:00:00:0b'], '192.0.2.2');
    const d = diffTables(desired, live);
    expect(d.fdb.remove).toEqual([]);
    expect(d.fdb.change.map((c) => c.to.mac)).toEqual(['02:00:00:00:00:0b']);
    const gone = diffTables(tables(43, 2, 4, [], '192.0.2.2'), live);
    expect(gone.fdb.remove.map((r) => r.mac).sort()).toEqual(['02:00:00:00:00:0a', '02:00:00:00:00:0b']);
  });

  it('a failure half-way undoes every earlier step, newest first, and says so', () => {
    const live = tables(42, 1, 3, ['02:00:00:00:00:01'], '192.0.2.2');
    const desired = tables(43, 2, 4, ['02:00:00:00:00:02'], '192.0.2.3');
    const { store, ops } = recorder('setFlood');
    let err: unknown;
    try {
      applyDiff(store, diffTables(desired, live));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApplyError);
    expect((err as Error).message).toMatch(/^apply failed at xv_bum \(add\/change\): E2BIG \(injected at setFlood\); rolled back/);
    const names = ops.map((o) => o.split(' ')[0]!);
    const failAt = names.indexOf('setFlood');
    // undo: the failed flood write itself, fdb, neigh (empty), peers, endpoints, devs, vnis, then the bump
    expect(names.slice(failAt + 1)).toEqual(['deleteFlood', 'deleteFdb', 'deletePeers', 'deleteEndpoints', 'deleteDevs', 'deleteVnis', 'bumpGeneration']);
  });
});

describeKernel('reconcile against the kernel', () => {
  let L: VtepLab;
  beforeAll(() => {
    L = new VtepLab('rec', { ipv6: false });
    L.endpoint('epa2', 'ca2');
  });
  afterAll(() => L?.destroy());

  it('a reload that overflows the FDB map is rolled back, reported, and the old state keeps forwarding', () => {
    const cfg = (fdb: unknown[]) => L.config({ vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'], fdb }], capacity: { fdb: 8 } });
    L.ok('attach', '-c', L.file('small.json', cfg([{ mac: '02:00:00:00:00:01', remote: '192.0.2.2' }])));
    const dp = Datapath.open(L.pinDir);
    try {
      // six "learned" entries leave room for one more
      dp.fdb.setMany(Array.from({ length: 6 }, (_, i) => ({ vni: 42, mac: `02:00:00:00:01:0${i}`, dest: { kind: 'remote' as const, remote: '192.0.2.2' }, static: false, updatedNs: 1 })));
    } finally {
      dp.close();
    }
    const strip = (s: Record<string, string[]>) => ({ ...s, xv_gen: [] });
    const before = strip(snapshotMaps(L.pinDir));
    const big = cfg([2, 3, 4, 5].map((i) => ({ mac: `02:00:00:00:00:0${i}`, remote: '192.0.2.2' })));
    const r = L.cli(['attach', '-c', L.file('big.json', big)]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/apply failed at xv_fdb \(add\/change\): .*E2BIG.*rolled back, the previous state is still in place/);
    expect(strip(snapshotMaps(L.pinDir))).toEqual(before);
    const s = L.json<{ config: { generation: number; reloadFailures: number; lastReload: { ok: boolean; error: string } } }>('status');
    expect(s.config).toMatchObject({ generation: 1, reloadFailures: 1, lastReload: { ok: false } });
    expect(s.config.lastReload.error).toMatch(/E2BIG/);
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
  });

  it('changing a VNI\'s flags rewrites the copies in its endpoints and peers', () => {
    L.ok('detach');
    L.ok('attach', '-c', L.file('learn-on.json', L.config()));
    const flagsOf = () => {
      const dp = Datapath.open(L.pinDir);
      try {
        const ep = [...dp.endpoints.map.lookupBatch()][0]![1] as unknown as { vniFlags: number };
        const peer = [...dp.peers.map.lookupBatch()][0]![1] as unknown as { vniFlags: number };
        return [ep.vniFlags, peer.vniFlags];
      } finally {
        dp.close();
      }
    };
    expect(flagsOf()).toEqual([0, 0]);
    L.ok('attach', '-c', L.file('learn-off.json', L.config({ vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'], learning: false, allowUnknownPeers: true }] })));
    expect(flagsOf()).toEqual([3, 3]);
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
  });

  it('after a SIGKILL between a VNI\'s new flags and their copies, the next apply finishes rewriting the copies', () => {
    const on = L.file('torn-on.json', L.config());
    const off = L.file('torn-off.json', L.config({ vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'], learning: false, allowUnknownPeers: true }] }));
    L.ok('attach', '-c', on);
    const copies = () => {
      const dp = Datapath.open(L.pinDir);
      try {
        const ep = [...dp.endpoints.map.lookupBatch()][0]![1] as unknown as { vniFlags: number; statsSlot: number };
        const peer = [...dp.peers.map.lookupBatch()][0]![1] as unknown as { vniFlags: number; statsSlot: number };
        return [ep.vniFlags, peer.vniFlags, ep.statsSlot, peer.statsSlot];
      } finally {
        dp.close();
      }
    };
    expect(copies()).toEqual([0, 0, 1, 1]);
    // What a daemon killed by SIGKILL right after the xv_vni step of applying
    // `off` leaves behind (no journal runs): xv_vni has the new flags, the
    // copies in xv_ep and xv_peer still have the old ones.
    const dp = Datapath.open(L.pinDir);
    try {
      dp.vnis.set(42, { ...dp.vnis.get(42)!, learning: false, allowUnknownPeers: true });
    } finally {
      dp.close();
    }
    expect(copies()).toEqual([0, 0, 1, 1]);
    // The restarted daemon applies `off` again: xv_vni already matches it.
    L.ok('attach', '-c', off);
    expect(copies()).toEqual([3, 3, 1, 1]);
    // Nothing left to do afterwards.
    expect(JSON.parse(L.ok('config', 'diff', off, '-j'))).toMatchObject({ changes: 0 });
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
  });

  it('a stats slot handed to a new VNI starts at zero; a VNI that stays keeps its slot', () => {
    L.ok('vni', 'add', '43', 'endpoint', 'epa2');
    const dp = Datapath.open(L.pinDir);
    try {
      const slot = dp.vnis.get(43)!.statsSlot;
      expect(slot).toBe(2);
      const junk = dp.readStats(slot);
      junk.rxPackets = 99;
      dp.stats.set(slot, junk);
      L.ok('vni', 'del', '43');
      L.ok('vni', 'add', '44', 'endpoint', 'epa2');
      expect(dp.vnis.get(44)!.statsSlot).toBe(2);
      expect(dp.readStats(2).rxPackets).toBe(0);
      expect(dp.vnis.get(42)!.statsSlot).toBe(1);
    } finally {
      dp.close();
    }
  });

  it('pins of another layout version are refused by every command, never wiped, and detach removes them', () => {
    const dp = Datapath.open(L.pinDir);
    const cfg = dp.config.get(0)!;
    dp.config.set(0, { ...cfg, layoutVersion: 99 });
    dp.close();
    const before = snapshotMaps(L.pinDir);
    for (const args of [['status'], ['attach', '-c', L.file('v99.json', L.config())], ['fdb', 'show'], ['stats']]) {
      const r = L.cli([...args, '--pin-dir', L.pinDir]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/layout version 99, this xvtep speaks 1/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(snapshotMaps(L.pinDir)).toEqual(before);
    L.ok('detach');
    expect(L.cli(['status', '--pin-dir', L.pinDir]).code).toBe(2);
    expect(L.lab.tryExec(L.a, 'ip', '-d', 'link', 'show', 'ua').out).not.toMatch(/prog\/xdp/);
  });
});
