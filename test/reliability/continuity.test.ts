// Issue 6, loss and continuity. Under sequence-numbered UDP streams both ways
// through the overlay (c -> b encapsulated by xvtep, b -> c decapsulated;
// counted by udpseq.py at each receiving socket, never from our maps):
//   1. hot FDB/peer updates on unrelated entries, and `replace` of the
//      stream's own FDB entry with an equal one, through the reconcile edit
//      functions the CLI uses (in this process) and through the CLI itself;
//   2. config reloads alternating between two valid files that both carry
//      the stream's flows;
//   3. SIGKILLs of the daemon (at rest, or with a reload pending or running),
//      each followed by a restart that must adopt what is pinned.
// Each scenario must lose and duplicate nothing, never see VNI 42's counters
// go backwards, and leave this lab's programs, links and pins as it found
// them. Sizes: reliabilityProfile() (quick in `make test`, full in `make
// reliability`); rows go to the 'continuity' section of the summary.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { renameSync, writeFileSync } from 'node:fs';
import { ifindexOf } from '../../src/bpf/index.js';
import type { Datapath } from '../../src/datapath/datapath.js';
import type { FdbDest } from '../../src/datapath/tables.js';
import { fdbDel, fdbSet, peerAdd, peerDel } from '../../src/reconcile/edits.js';
import { openPinned } from '../../src/reconcile/manager.js';
import { readState } from '../../src/reconcile/state.js';
import { describeKernel } from '../helpers/kernel.js';
import { VtepLab, exited, waitFor } from '../helpers/vtep-lab.js';
import {
  CounterWatch, StreamPair, census, censusCounts, directionRow, leaks, rng, sleep, type DirectionRow,
} from './continuity-lab.js';
import { recordSummary, reliabilityProfile } from './summary.js';
import { handOffKernel } from '../helpers/tcmode.js';

const PROFILE = reliabilityProfile();
const P = PROFILE === 'full'
  ? { unrelated: 10_000, sameEntry: 1_000, updateSeconds: 60, reloads: 100, restarts: 20 }
  : { unrelated: 1_000, sameEntry: 100, updateSeconds: 8, reloads: 10, restarts: 3 };
const PPS = 1000;
/** Upper bound on one scenario's streams (and so on the scenario). */
const STREAM_SECONDS = PROFILE === 'full' ? 900 : 180;
const SEED = 0x0c0471;
/** Per scenario: its streams' bound plus their 3 s drain and the census. */
const TIMEOUT = (STREAM_SECONDS + 60) * 1000;
const B_ADDR = '192.0.2.2';

const hex = (n: number) => n.toString(16).padStart(2, '0');
const macOf = (tag: number, i: number) => `02:${hex(tag)}:00:00:${hex((i >> 8) & 255)}:${hex(i & 255)}`;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

type Counts = ReturnType<typeof censusCounts>;
interface Row {
  scenario: string;
  profile: string;
  seconds: number;
  updates: { unrelated: number; sameEntry: number; viaCli: number; viaCliSameEntry: number; byKind: Record<string, number> };
  reloads: number;
  restarts: number;
  /** Kills that came after a config change the dying daemon had not finished applying. */
  killsWithReloadPending: number;
  up: DirectionRow | null;
  down: DirectionRow | null;
  counters: { samples: number; backwards: string[]; rxDelta: number; txDelta: number } | null;
  census: { before: Counts; after: Counts | null; leaks: string[] };
  error?: string;
}

describeKernel('loss and continuity under hot updates, reloads and daemon SIGKILLs', () => {
  let L: VtepLab;
  let dp: Datapath;
  let cfgPath: string;
  let bMac: string;
  let epa2: number;
  let daemon: Awaited<ReturnType<VtepLab['daemon']>>;
  const rows: Row[] = [];

  // Two valid files that differ in VNIs, peers, FDB entries and VNI 42's
  // flags, and both carry the streams' flows: VNI 42 on epa, peer b, and the
  // static entry for b's vxlan0 MAC.
  const fileA = () => L.config({
    vnis: [
      { vni: 42, endpoints: ['epa'], peers: [B_ADDR, '192.0.2.3'], fdb: [{ mac: bMac, remote: B_ADDR }, ...range(50).map((i) => ({ mac: macOf(0x5a, i), remote: '192.0.2.3' }))] },
      { vni: 44, endpoints: ['epa2'], peers: ['192.0.2.5'], fdb: range(50).map((i) => ({ mac: macOf(0x5a, 256 + i), remote: '192.0.2.5' })) },
      { vni: 45, endpoints: ['epa3'] },
    ],
  });
  const fileB = () => L.config({
    vnis: [
      {
        vni: 42, endpoints: ['epa'], peers: [B_ADDR, '192.0.2.4'], learning: false, neighbors: [{ ip: '198.51.100.50', mac: '02:50:00:00:00:01' }],
        fdb: [{ mac: bMac, remote: B_ADDR }, ...range(25).map((i) => ({ mac: macOf(0x5a, i), remote: '192.0.2.4' })), ...range(100).map((i) => ({ mac: macOf(0x5b, i), remote: '192.0.2.4' }))],
      },
      { vni: 44, endpoints: ['epa2'], peers: ['192.0.2.6', '192.0.2.7'], fdb: range(40).map((i) => ({ mac: macOf(0x5b, 256 + i), endpoint: 'epa2' })) },
      { vni: 46, endpoints: ['epa4'], peers: ['192.0.2.8'], fdb: range(20).map((i) => ({ mac: macOf(0x5b, 512 + i), remote: '192.0.2.8' })) },
    ],
  });
  let current: 'A' | 'B' = 'A';
  const save = (which: 'A' | 'B') => {
    writeFileSync(`${cfgPath}.tmp`, JSON.stringify(which === 'A' ? fileA() : fileB()));
    renameSync(`${cfgPath}.tmp`, cfgPath); // an editor's save: the daemon sees one complete file
    current = which;
  };
  /** Saves the file and waits until the daemon has applied it; returns the map changes it made. */
  const reload = async (which: 'A' | 'B'): Promise<number> => {
    const g = readState(L.pinDir).generation;
    save(which);
    let changes = -1;
    await waitFor(() => {
      const s = readState(L.pinDir);
      if (s.generation === g) return false;
      if (!s.lastReload?.ok) throw new Error(`reload to file ${which} failed: ${s.lastReload?.error}\n${daemon.log()}`);
      changes = s.lastReload.changes;
      return true;
    }, 30_000, () => `reload to file ${which} not applied within 30 s:\n${daemon.log()}`);
    return changes;
  };

  beforeAll(async () => {
    L = new VtepLab('cont', { ipv6: false });
    L.endpoint('epa2', 'ca2');
    L.endpoint('epa3', 'ca3');
    L.endpoint('epa4', 'ca4');
    bMac = (JSON.parse(L.lab.exec(L.b, 'ip', '-j', 'link', 'show', 'vxlan0')) as Array<{ address: string }>)[0]!.address;
    cfgPath = L.file('xvtep.json', '{}');
    save('A');
    daemon = await L.daemon(cfgPath);
    dp = openPinned(L.pinDir);
    epa2 = L.lab.in(L.a, () => ifindexOf('epa2'));
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
    expect(L.lab.ping(L.b, '198.51.100.1', 2)).toBe(true);
  });

  afterAll(() => {
    recordSummary('continuity', { profile: PROFILE, pps: PPS, seed: SEED, scenarios: rows });
    dp?.close();
    L?.destroy();
  });

  /**
   * Runs `work` while both streams flow (they start before it and stop after
   * it), then fills the row: what each receiver counted, the counter watch,
   * and the census before and after.
   */
  async function underStreams(name: string, port: number, work: (row: Row) => Promise<void>): Promise<Row> {
    const t0 = Date.now();
    const before = census(L.pinDir);
    const row: Row = {
      scenario: name, profile: PROFILE, seconds: 0, reloads: 0, restarts: 0, killsWithReloadPending: 0,
      updates: { unrelated: 0, sameEntry: 0, viaCli: 0, viaCliSameEntry: 0, byKind: {} },
      up: null, down: null, counters: null, census: { before: censusCounts(before), after: null, leaks: [] },
    };
    rows.push(row);
    const slot = dp.vnis.get(42)!.statsSlot;
    const watch = new CounterWatch(dp, slot);
    let streams: StreamPair | undefined;
    let outlasted: boolean;
    try {
      streams = await StreamPair.start(L, port, PPS, STREAM_SECONDS);
      await sleep(500); // both flows established before the first change
      await work(row);
      await sleep(500);
      outlasted = streams.running();
    } catch (e) {
      row.error = e instanceof Error ? e.message : String(e);
      throw e;
    } finally {
      if (streams) {
        const r = await streams.stop();
        row.up = directionRow(r.up);
        row.down = directionRow(r.down);
      }
      watch.stop();
      row.counters = { samples: watch.samples, backwards: watch.backwards, rxDelta: watch.last![0] - watch.first![0], txDelta: watch.last![1] - watch.first![1] };
      const after = census(L.pinDir);
      row.census.after = censusCounts(after);
      row.census.leaks = leaks(before, after);
      row.seconds = Math.round((Date.now() - t0) / 100) / 10;
    }
    // Every change happened while both streams were still sending.
    expect(outlasted).toBe(true);
    expect(dp.vnis.get(42)!.statsSlot).toBe(slot);
    for (const d of [row.up!, row.down!]) {
      expect(d).toMatchObject({ lost: 0, duplicated: 0, missing: 0, outOfOrder: 0 });
      expect(d.received).toBeGreaterThan(PPS * 2);
    }
    expect(row.counters.backwards).toEqual([]);
    // The data path counted at least what the sockets received (ARP adds a little).
    expect(row.counters.rxDelta).toBeGreaterThanOrEqual(row.down!.received);
    expect(row.counters.txDelta).toBeGreaterThanOrEqual(row.up!.received);
    expect(row.census.leaks).toEqual([]);
    return row;
  }

  it(`hot updates: ${P.unrelated} unrelated FDB/peer edits and ${P.sameEntry} same-entry replaces in process, 20 through the CLI`, async () => {
    const r = rng(SEED);
    const VNIS = [42, 44];
    const POOL = 200;
    const PEERS = range(8).map((i) => `192.0.2.${10 + i}`);
    const fdbModel = new Map<string, FdbDest>();
    const peerModel = new Set<string>();
    const self: FdbDest = { kind: 'remote', remote: B_ADDR };
    const remoteDest = (): FdbDest => ({ kind: 'remote', remote: `192.0.2.${100 + r(50)}` });
    const sameDest = (a: FdbDest, b: FdbDest) => a.kind === b.kind && (a.kind === 'remote' ? a.remote === (b as { remote: string }).remote : a.ifindex === (b as { ifindex: number }).ifindex);
    const cliMac = (i: number) => macOf(0x4c, i);
    // 20 edits through `xvtep`: FDB entries of their own, peers only in VNI
    // 45 (a peer edit rewrites its VNI's flood list from what it read, so
    // two writers must not share a VNI), and 2 same-entry replaces.
    const cli: string[][] = [
      ['fdb', 'add', cliMac(1), 'vni', '42', 'dst', '192.0.2.20'],
      ['fdb', 'replace', cliMac(1), 'vni', '42', 'dst', '192.0.2.21'],
      ['fdb', 'replace', bMac, 'vni', '42', 'dst', B_ADDR],
      ['fdb', 'add', cliMac(2), 'vni', '44', 'dev', 'epa2'],
      ['peer', 'add', '192.0.2.30', 'vni', '45'],
      ['fdb', 'add', cliMac(3), 'vni', '45', 'dst', '192.0.2.30'],
      ['fdb', 'del', cliMac(1), 'vni', '42'],
      ['fdb', 'replace', cliMac(2), 'vni', '44', 'dst', '192.0.2.22'],
      ['peer', 'add', '192.0.2.31', 'vni', '45'],
      ['fdb', 'replace', cliMac(3), 'vni', '45', 'dst', '192.0.2.31'],
      ['peer', 'del', '192.0.2.30', 'vni', '45'],
      ['fdb', 'replace', bMac, 'vni', '42', 'dst', B_ADDR],
      ['fdb', 'add', cliMac(4), 'vni', '42', 'dst', '192.0.2.23'],
      ['fdb', 'del', cliMac(2), 'vni', '44'],
      ['fdb', 'del', cliMac(3), 'vni', '45'],
      ['peer', 'del', '192.0.2.31', 'vni', '45'],
      ['fdb', 'replace', cliMac(4), 'vni', '42', 'dst', '192.0.2.24'],
      ['peer', 'add', '192.0.2.32', 'vni', '45'],
      ['fdb', 'del', cliMac(4), 'vni', '42'],
      ['peer', 'del', '192.0.2.32', 'vni', '45'],
    ];

    const row = await underStreams('hot updates', 5101, async (row) => {
      const u = row.updates;
      const kind = (k: string) => (u.byKind[k] = (u.byKind[k] ?? 0) + 1);
      const unrelated = () => {
        const vni = VNIS[r(VNIS.length)]!;
        if (r() < 0.1) {
          const addr = PEERS[r(PEERS.length)]!;
          const key = `${vni}/${addr}`;
          if (peerModel.has(key)) {
            peerDel(dp, L.pinDir, vni, addr);
            peerModel.delete(key);
            kind('peer del');
          } else {
            peerAdd(dp, L.pinDir, vni, addr);
            peerModel.add(key);
            kind('peer add');
          }
          return;
        }
        const mac = macOf(vni === 42 ? 0x3a : 0x3b, r(POOL));
        const key = `${vni}/${mac}`;
        const had = fdbModel.get(key);
        if (!had) {
          const dest = vni === 44 && r() < 0.3 ? { kind: 'local' as const, ifindex: epa2 } : remoteDest();
          fdbSet(dp, vni, mac, dest, 'add');
          fdbModel.set(key, dest);
          kind('fdb add');
        } else if (r() < 0.5) {
          let dest = remoteDest();
          while (sameDest(dest, had)) dest = remoteDest();
          fdbSet(dp, vni, mac, dest, 'replace');
          fdbModel.set(key, dest);
          kind('fdb replace');
        } else {
          fdbDel(dp, vni, mac);
          fdbModel.delete(key);
          kind('fdb del');
        }
      };
      // The same-entry replaces are spread evenly through the unrelated ones.
      const total = P.unrelated + P.sameEntry;
      const sameAt = (i: number) => Math.floor(((i + 1) * P.sameEntry) / total) > Math.floor((i * P.sameEntry) / total);
      const step = (i: number) => {
        if (sameAt(i)) {
          fdbSet(dp, 42, bMac, self, 'replace');
          u.sameEntry++;
        } else {
          unrelated();
          u.unrelated++;
        }
      };
      const t0 = Date.now();
      const span = P.updateSeconds * 1000;
      const inProcess = async () => {
        let i = 0;
        while (i < total) {
          if (Date.now() - t0 > span * 4 + 60_000) throw new Error(`in-process updates: only ${i} of ${total} in ${(Date.now() - t0) / 1000} s`);
          const due = Math.min(total, Math.ceil((total * (Date.now() - t0)) / span));
          // peer edits resolve interfaces and run `ip neigh`: in host a, like the CLI
          if (due > i) L.lab.in(L.a, () => {
            while (i < due) step(i++);
          });
          await sleep(5);
        }
      };
      const viaCli = async () => {
        for (let k = 0; k < cli.length; k++) {
          const at = t0 + (k * span) / cli.length;
          if (Date.now() < at) await sleep(at - Date.now());
          await L.okAsync(...cli[k]!);
          u.viaCli++;
          if (cli[k]![2] === bMac) u.viaCliSameEntry++;
        }
      };
      await Promise.all([inProcess(), viaCli()]);
    });

    expect(row.updates).toMatchObject({ unrelated: P.unrelated, sameEntry: P.sameEntry, viaCli: cli.length, viaCliSameEntry: 2 });
    // The maps hold exactly what the updates left: they were really done.
    for (const vni of VNIS) {
      for (const i of range(POOL)) {
        const mac = macOf(vni === 42 ? 0x3a : 0x3b, i);
        const want = fdbModel.get(`${vni}/${mac}`);
        const got = dp.fdb.get(vni, mac);
        if (!want) expect(got, `${vni}/${mac}`).toBeUndefined();
        else expect(got && got.static && sameDest(got.dest, want), `${vni}/${mac}`).toBe(true);
      }
      for (const a of PEERS) expect(dp.peers.has(vni, a), `peer ${a} vni ${vni}`).toBe(peerModel.has(`${vni}/${a}`));
    }
    for (const i of [1, 2, 3, 4]) for (const vni of [42, 44, 45]) expect(dp.fdb.get(vni, cliMac(i))).toBeUndefined();
    expect(dp.peers.list().filter((p) => p.vni === 45)).toEqual([]);
    expect(dp.fdb.get(42, bMac)).toMatchObject({ static: true, dest: self });
  }, TIMEOUT);

  it(`${P.reloads} reloads alternating between two files that both carry the streams' flows`, async () => {
    await underStreams('reloads', 5201, async (row) => {
      for (let i = 0; i < P.reloads; i++) {
        const changes = await reload(current === 'A' ? 'B' : 'A');
        expect(changes, `reload ${i}`).toBeGreaterThan(0);
        row.reloads++;
      }
    });
    // An even count ends on file A, where the census started.
    expect(current).toBe('A');
    expect(dp.fdb.get(42, bMac)).toMatchObject({ static: true, dest: { kind: 'remote', remote: B_ADDR } });
  }, TIMEOUT);

  it(`${P.restarts} SIGKILLs of the daemon under traffic, each followed by a restart that adopts`, async () => {
    type Status = { interfaces: Array<{ iface: string; progId: number | null; linkId: number | null }>; daemon: { pid: number | null } };
    const status = async () => JSON.parse(await L.okAsync('status', '-j')) as Status;
    const progIds = (s: Status) => [...new Set(s.interfaces.map((i) => i.progId))].sort();
    const r = rng(SEED + 1);
    const first = await status();
    // xv_xdp_underlay, xv_tc_endpoint, and xv_tc_underlay where the kernel runs the GRO hand-off
    expect(progIds(first)).toHaveLength(handOffKernel ? 3 : 2);
    const startedOn = current;

    await underStreams('SIGKILL restarts', 5301, async (row) => {
      for (let i = 0; i < P.restarts; i++) {
        await sleep(300 + r(400));
        // Every other kill lands after a config change: before, during or
        // after its apply (debounce 200 ms, then the apply worker).
        const changed = i % 2 === 1;
        if (changed) {
          save(current === 'A' ? 'B' : 'A');
          await sleep(50 + r(1100));
        }
        const old = daemon;
        old.proc.kill('SIGKILL');
        await exited(old.proc);
        if (changed && !/reload \(file change\): \d+ map change/.test(old.log())) row.killsWithReloadPending++;
        await sleep(r(500)); // the data path alone, no daemon
        daemon = await L.daemon(cfgPath);
        if (!changed) expect(daemon.log(), `restart ${i}`).toMatch(/applied .*: 0 map change\(s\)/);
        const [s, diff] = await Promise.all([status(), L.okAsync('config', 'diff', cfgPath, '-j')]);
        // converged: the maps (copies of VNI flags included) are what the file says
        expect(JSON.parse(diff), `restart ${i}`).toMatchObject({ changes: 0 });
        // adopted: the same programs, and the links of interfaces in every file kept
        expect(progIds(s), `restart ${i}`).toEqual(progIds(first));
        for (const iface of ['ua', 'epa', 'epa2']) {
          expect(s.interfaces.find((x) => x.iface === iface)?.linkId, `restart ${i} ${iface}`).toBe(first.interfaces.find((x) => x.iface === iface)?.linkId);
        }
        expect(s.daemon.pid).toBe(daemon.proc.pid);
        row.restarts++;
      }
      // back to the file the census started with
      if (current !== startedOn) await reload(startedOn);
    });
  }, TIMEOUT);
});
