// Speed of the binding itself (issue 2): batch update of 1M hash entries and
// the round trip of a single get/set from JavaScript. Run: make bench-binding
import * as bpf from '../dist/bpf/index.js';

const { BpfMap, MapType, struct, u32, u64 } = bpf;
const key = struct({ vni: u32, idx: u32 });
const value = struct({ a: u64, b: u32, c: u32 });
const N = 1_000_000;

const map = BpfMap.create({ type: MapType.HASH, name: 'xv_bench', keySize: 8, valueSize: 16, maxEntries: N }).typed(key, value);
const entries = new Array(N);
for (let i = 0; i < N; i++) entries[i] = [{ vni: i >>> 10, idx: i }, { a: BigInt(i), b: i, c: 7 }];

function time(fn) {
  const t0 = process.hrtime.bigint();
  const r = fn();
  return [Number(process.hrtime.bigint() - t0) / 1e9, r];
}

const results = {};
{
  const [s] = time(() => map.updateBatch(entries));
  results.batchUpdate1M = { seconds: +s.toFixed(3), entriesPerSecond: Math.round(N / s) };
}
{
  const [s, got] = time(() => map.lookupBatch());
  if (got.length !== N) throw new Error(`lookupBatch returned ${got.length}`);
  results.batchLookup1M = { seconds: +s.toFixed(3), entriesPerSecond: Math.round(N / s) };
}
// A plain u32 -> u64 map, and the struct map above (BigInt field included).
const plain = BpfMap.create({ type: MapType.HASH, name: 'xv_bench2', keySize: 4, valueSize: 8, maxEntries: 1024 }).typed(u32, bpf.u64n);
for (let i = 0; i < 1024; i++) plain.set(i, i);
for (const [name, op] of [
  ['get', (i) => plain.get(i & 1023)],
  ['set', (i) => plain.set(i & 1023, i)],
  ['getStruct', (i) => map.get({ vni: 0, idx: i & 1023 })],
  ['setStruct', (i) => map.set({ vni: 0, idx: i & 1023 }, { a: 1n, b: i, c: 0 })],
]) {
  const iters = 200_000;
  for (let i = 0; i < 20_000; i++) op(i); // warm-up: JIT and caches
  const [s] = time(() => { for (let i = 0; i < iters; i++) op(i); });
  results[name] = { microsecondsPerCall: +((s / iters) * 1e6).toFixed(3) };
}
map.close();
plain.close();
console.log(JSON.stringify(results, null, 2));
const ok = results.batchUpdate1M.entriesPerSecond >= 1e6 && results.get.microsecondsPerCall <= 2 && results.set.microsecondsPerCall <= 2;
console.log(ok ? 'binding speed targets met (>= 1M entries/s batch, <= 2 us get/set)' : 'binding speed targets MISSED');
process.exitCode = ok ? 0 : 1;
