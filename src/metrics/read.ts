// Scrape-time readers: one batch walk per map, summed or counted straight
// from the kernel's bytes (no per-entry objects), and the FDB counted by a
// BPF program, so 4096 VNIs x every CPU and 100k FDB entries stay inside a
// scrape budget. Nothing is kept between
// scrapes: every value is read again from the maps.
import type { BpfMap } from '../bpf/index.js';
import { type Datapath, DROP_SLOTS, EVENT_SLOTS } from '../datapath/index.js';

/** u64 counters of struct xv_stats, in order: rx_packets, rx_bytes, tx_packets, tx_bytes, drop[16], event[16]. */
export const STAT_FIELDS = 4 + DROP_SLOTS + EVENT_SLOTS;
export const RX_PACKETS = 0, RX_BYTES = 1, TX_PACKETS = 2, TX_BYTES = 3, DROP0 = 4, EVENT0 = 4 + DROP_SLOTS;

/**
 * Every xv_stats row summed over CPUs, slot n at n * STAT_FIELDS: one array,
 * no object per row. `reuse`, when it has the right size, is zeroed and filled.
 */
export function readStatsSums(dp: Datapath, reuse?: Float64Array): Float64Array {
  const stats = dp.stats, stride = stats.stride, cpus = stats.cpus, entry = stats.entryValueBytes;
  const size = stats.info.maxEntries * STAT_FIELDS;
  const sums = reuse?.length === size ? reuse.fill(0) : new Float64Array(size);
  stats.forEachBatch((keys, values, n) => {
    // 32-bit words (host order, like every codec here), not readUInt32LE
    // calls: 4096 rows x 36 counters x every CPU.
    const bytes = (values.byteOffset & 3) === 0 ? values : new Uint8Array(values); // a copy starts aligned
    const w = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
    for (let i = 0; i < n; i++) {
      const row = keys.readUInt32LE(i * 4) * STAT_FIELDS;
      for (let c = 0; c < cpus; c++) {
        const o = (i * entry + c * stride) >> 2;
        // Counters stay far below 2^53 in practice; lo + hi * 2^32 avoids BigInt.
        for (let f = 0; f < STAT_FIELDS; f++) sums[row + f]! += w[o + 2 * f]! + w[o + 2 * f + 1]! * 4294967296;
      }
    }
  }, { chunk: Math.max(64, Math.floor((256 << 10) / entry)) }); // ~256 KB per syscall: the buffer stays resident in the daemon
  return sums;
}

/** Every xv_stats row summed over CPUs, by slot. */
export function readStatsRows(dp: Datapath): Map<number, Float64Array> {
  const sums = readStatsSums(dp);
  const rows = new Map<number, Float64Array>();
  for (let slot = 0; slot * STAT_FIELDS < sums.length; slot++) rows.set(slot, sums.subarray(slot * STAT_FIELDS, (slot + 1) * STAT_FIELDS));
  return rows;
}

/** Entries in a map, by batch walk (get_next_key would be one syscall per entry). */
export function countEntries(map: BpfMap<unknown, unknown>): number {
  let n = 0;
  map.forEachBatch((_k, _v, count) => (n += count));
  return n;
}
