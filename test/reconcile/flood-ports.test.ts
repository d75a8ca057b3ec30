// xv_bcast (each VNI's local flood ports, an inner devmap per VNI) is written
// in batches by an apply: a failure after its batch write, or half-way
// through its batch removal, still leaves every VNI's set as it was.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Datapath } from '../../src/datapath/datapath.js';
import { applyDiff, ApplyError } from '../../src/reconcile/apply.js';
import { diffTables } from '../../src/reconcile/diff.js';
import { emptyTables, type Tables } from '../../src/reconcile/model.js';
import { storeOf, type Store } from '../../src/reconcile/store.js';
import { describeKernel } from '../helpers/kernel.js';

// a devmap holds existing devices only: lo (ifindex 1) is in every namespace
const LO = 1;

function ports(sets: Record<number, number[]>): Tables {
  const t = emptyTables();
  for (const [vni, p] of Object.entries(sets)) t.floodPorts.set(Number(vni), p);
  return t;
}

/** The real store, whose first `name` call does its work and then fails (a write that failed part-way); the rollback's calls work. */
function failingAfter(dp: Datapath, name: keyof Store): Store {
  const real = storeOf(dp);
  let failed = false;
  return {
    ...real,
    [name]: (...args: unknown[]) => {
      (real[name] as (...a: unknown[]) => void)(...args);
      if (failed) return;
      failed = true;
      throw new Error(`injected after ${name}`);
    },
  };
}

describeKernel('flood ports in an apply', () => {
  let dp: Datapath;
  beforeAll(async () => {
    dp = await Datapath.load({ sizes: { vnis: 2048 } });
  });
  afterAll(() => dp?.close());

  // live: VNIs 1..600 with lo, 601..1200 empty; desired: 1..300 unchanged,
  // 301..600 emptied, 601..900 gone, 901..1200 unchanged, 1201..1800 new
  const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
  const live = () => ports(Object.fromEntries([...range(1, 600).map((v) => [v, [LO]]), ...range(601, 1200).map((v) => [v, []])]));
  const desired = () => ports(Object.fromEntries([
    ...range(1, 300).map((v) => [v, [LO]]), ...range(301, 600).map((v) => [v, []]), ...range(901, 1200).map((v) => [v, []]), ...range(1201, 1800).map((v) => [v, [LO]]),
  ]));
  const asObject = (m: Map<number, number[]>) => Object.fromEntries([...m].sort(([a], [b]) => a - b));

  it('applies adds, changes and removals of many VNIs', () => {
    dp.clearFloodPortsMany([...dp.floodPorts().keys()]);
    storeOf(dp).setFloodPorts([...live().floodPorts].map(([vni, p]) => ({ vni, ports: p })));
    expect(asObject(dp.floodPorts())).toEqual(asObject(live().floodPorts));
    const d = diffTables(desired(), live());
    expect([d.floodPorts.add.length, d.floodPorts.change.length, d.floodPorts.remove.length]).toEqual([600, 300, 300]);
    applyDiff(storeOf(dp), d);
    expect(asObject(dp.floodPorts())).toEqual(asObject(desired().floodPorts));
  });

  for (const step of ['setFloodPorts', 'deleteFloodPorts'] as const) {
    it(`a failure after ${step} rolls every VNI's set back`, () => {
      dp.clearFloodPortsMany([...dp.floodPorts().keys()]);
      storeOf(dp).setFloodPorts([...live().floodPorts].map(([vni, p]) => ({ vni, ports: p })));
      const before = asObject(dp.floodPorts());
      let err: unknown;
      try {
        applyDiff(failingAfter(dp, step), diffTables(desired(), live()));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ApplyError);
      expect((err as Error).message).toMatch(new RegExp(`injected after ${step}; rolled back, the previous state is still in place`));
      expect(asObject(dp.floodPorts())).toEqual(before);
    });
  }
});
