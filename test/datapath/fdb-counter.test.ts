// The in-kernel FDB count (bpf/count.bpf.c through Datapath.fdbCounts) that
// metrics and `xvtep status` report: checked against the entries written and
// against a batch walk of the same map, on a fresh and on an adopted data path.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Datapath, type FdbRecord } from '../../src/datapath/index.js';
import { TempBpffs } from '../helpers/bpffs.js';
import { describeKernel } from '../helpers/kernel.js';

const mac = (i: number) => `02:${[(i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255, 7].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
const rec = (i: number, isStatic: boolean): FdbRecord => ({
  vni: 100 + (i % 37), mac: mac(i), static: isStatic, updatedNs: isStatic ? 0 : 1e9 + i,
  dest: i % 5 === 0 ? { kind: 'local', ifindex: 1 + (i % 9) } : { kind: 'remote', remote: i % 2 ? `192.0.2.${2 + (i % 200)}` : `2001:db8::${(i % 900).toString(16)}` },
});

/** The same split, counted the slow way: every entry read back. */
function walked(dp: Datapath) {
  const all = dp.fdb.list();
  return { static: all.filter((r) => r.static).length, learned: all.filter((r) => !r.static).length };
}

/** Ids of loaded programs named xv_count_fdb. */
function counterPrograms(): number[] {
  const progs = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as Array<{ id: number; name?: string }>;
  return progs.filter((p) => p.name === 'xv_count_fdb').map((p) => p.id);
}

describeKernel('in-kernel FDB count', () => {
  let fs: TempBpffs;
  let dp: Datapath;
  beforeAll(async () => {
    fs = new TempBpffs();
    dp = await Datapath.load({ sizes: { fdb: 50_000 } });
  });
  afterAll(() => {
    dp?.close();
    if (fs) Datapath.unpin(fs.path('dp'));
    fs?.destroy();
  });

  it('counts static and learned entries exactly, as they are added and removed', async () => {
    expect(await dp.fdbCounts()).toEqual({ static: 0, learned: 0 });
    const statics = Array.from({ length: 30_000 }, (_, i) => rec(i, true));
    const learned = Array.from({ length: 7_000 }, (_, i) => rec(100_000 + i, false));
    expect(dp.fdb.setMany([...statics, ...learned])).toBe(37_000);
    expect(await dp.fdbCounts()).toEqual({ static: 30_000, learned: 7_000 });
    expect(dp.fdb.deleteMany([...statics.slice(0, 5_000), ...learned.slice(0, 1_000)])).toBe(6_000);
    expect(await dp.fdbCounts()).toEqual({ static: 25_000, learned: 6_000 });
    // a learned entry made static (as `xvtep fdb replace` does) moves between the two
    dp.fdb.set({ ...learned[1_000]!, static: true });
    const counts = await dp.fdbCounts();
    expect(counts).toEqual({ static: 25_001, learned: 5_999 });
    expect(counts).toEqual(walked(dp));
  });

  it('works on a data path adopted from its pins, and sees the other handle\'s writes', async () => {
    dp.pin(fs.path('dp'));
    const adopted = Datapath.open(fs.path('dp'));
    try {
      const before = await adopted.fdbCounts();
      expect(before).toEqual(await dp.fdbCounts());
      dp.fdb.set(rec(900_000, false));
      expect(await adopted.fdbCounts()).toEqual({ static: before.static, learned: before.learned + 1 });
    } finally {
      adopted.close();
    }
  });

  it('loads its program once per data path and unloads it on close', async () => {
    const other = await Datapath.load({ sizes: { fdb: 100 } });
    const before = counterPrograms();
    await Promise.all([other.fdbCounts(), other.fdbCounts()]);
    await other.fdbCounts();
    const loaded = counterPrograms().filter((id) => !before.includes(id));
    expect(loaded).toHaveLength(1);
    other.close();
    // program fds are closed on the next turn (the load's promise settles first)
    await new Promise((r) => setTimeout(r, 50));
    expect(counterPrograms()).not.toContain(loaded[0]);
  });
});
