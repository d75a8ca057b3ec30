import { afterAll, beforeAll, expect, it } from 'vitest';
import { TestRunFlag, numPossibleCpus, struct, sumPerCpu, u16, u32, u64, u8, type Collection } from '../../src/bpf/index.js';
import { loadFixture } from '../helpers/fixtures.js';
import { describeKernel } from '../helpers/kernel.js';
import { availableParallelism } from 'node:os';

describeKernel('per-CPU maps', () => {
  let coll: Collection;
  beforeAll(async () => {
    coll = await loadFixture('percpu', (s) => s.setConstant('step', u64, 5n));
  });
  afterAll(() => coll?.close());

  it('a run on CPU n adds to slot n only, and the sum is right', () => {
    const hits = coll.perCpuMap('hits', u32, u64);
    const last = coll.map('last_cpu', u32, u32);
    const prog = coll.program('bump_this_cpu');
    const cpus = numPossibleCpus();
    expect(hits.cpus).toBe(cpus);
    expect(hits.get(0)).toEqual(new Array(cpus).fill(0n));
    const online = Math.min(availableParallelism(), cpus);
    const expected = new Array<bigint>(cpus).fill(0n);
    for (let cpu = 0; cpu < online; cpu++) {
      for (let i = 0; i <= cpu; i++) prog.testRun({ flags: TestRunFlag.RUN_ON_CPU, cpu });
      expect(last.get(0)).toBe(cpu);
      expected[cpu] = 5n * BigInt(cpu + 1);
      expect(hits.get(0)).toEqual(expected);
    }
    expect(sumPerCpu(hits.get(0)!)).toBe(expected.reduce((a, b) => a + b, 0n));
  });

  it('writes take one value for all CPUs or one per CPU, at the kernel stride', () => {
    const hits = coll.perCpuMap('hits', u32, u64);
    hits.set(0, 9n);
    expect(hits.get(0)).toEqual(new Array(hits.cpus).fill(9n));
    const per = Array.from({ length: hits.cpus }, (_, i) => BigInt(i * 100 + 1));
    hits.setPerCpu(0, per);
    expect(hits.get(0)).toEqual(per);
    expect(() => hits.setPerCpu(0, [1n])).toThrow(/1 values for/);
  });

  it('values smaller than 8 bytes are strided to 8, structs sum field by field', async () => {
    const maps = await loadFixture('maps');
    try {
      const pa = maps.perCpuMap('t_parray', u32, u32);
      expect(pa.stride).toBe(8);
      pa.setPerCpu(2, Array.from({ length: pa.cpus }, (_, i) => i + 1));
      expect(pa.get(2)).toEqual(Array.from({ length: pa.cpus }, (_, i) => i + 1));
      expect(pa.lookupBatch().find(([k]) => k === 2)![1]).toEqual(pa.get(2));
      // raw walk: every CPU's slot of an entry at the stride, entryValueBytes per entry
      let seen: number[] | undefined;
      pa.forEachBatch((keys, values, n) => {
        for (let i = 0; i < n; i++) {
          if (keys.readUInt32LE(i * 4) !== 2) continue;
          seen = Array.from({ length: pa.cpus }, (_, c) => values.readUInt32LE(i * pa.entryValueBytes + c * pa.stride));
        }
      });
      expect(pa.entryValueBytes).toBe(pa.cpus * pa.stride);
      expect(seen).toEqual(Array.from({ length: pa.cpus }, (_, i) => i + 1));
      const pair = struct({ a: u32, b: u16, c: u8, _pad: u8, d: u64 });
      const ph = maps.perCpuMap('t_pchash', u32, pair);
      expect(ph.stride).toBe(16);
      ph.set(1, { a: 1, b: 2, c: 3, d: 4n });
      const n = ph.cpus;
      expect(sumPerCpu(ph.get(1)!)).toEqual({ a: n, b: 2 * n, c: 3 * n, d: 4n * BigInt(n) });
      ph.updateBatchPerCpu([[5, Array.from({ length: n }, (_, i) => ({ a: i, b: 0, c: 0, d: 0n }))]]);
      expect(ph.get(5)!.map((v) => v.a)).toEqual(Array.from({ length: n }, (_, i) => i));
    } finally {
      maps.close();
    }
  });
});
