// Scrape-time readers: one batch walk per map, decoding only what a scrape
// needs into flat arrays (no per-entry objects), so 4096 VNIs x every CPU
// stay well inside a scrape budget.
import { u32, type Codec } from '../bpf/index.js';
import type { Datapath } from '../datapath/datapath.js';
import { DROP_SLOTS, EVENT_SLOTS } from '../datapath/layout.js';

/** u64 counters of struct xv_stats, in order: rx_packets, rx_bytes, tx_packets, tx_bytes, drop[16], event[16]. */
export const STAT_FIELDS = 4 + DROP_SLOTS + EVENT_SLOTS;
export const RX_PACKETS = 0, RX_BYTES = 1, TX_PACKETS = 2, TX_BYTES = 3, DROP0 = 4, EVENT0 = 4 + DROP_SLOTS;

const statsFlat: Codec<Float64Array> = {
  size: STAT_FIELDS * 8,
  align: 8,
  encode() {
    throw new Error('read-only codec');
  },
  decode(b, o) {
    const out = new Float64Array(STAT_FIELDS);
    // Counters stay far below 2^53 in practice; lo + hi * 2^32 avoids BigInt.
    for (let i = 0; i < STAT_FIELDS; i++) out[i] = b.readUInt32LE(o + i * 8) + b.readUInt32LE(o + i * 8 + 4) * 4294967296;
    return out;
  },
};

/** Every xv_stats row summed over CPUs, by slot. */
export function readStatsRows(dp: Datapath): Map<number, Float64Array> {
  const rows = new Map<number, Float64Array>();
  for (const [slot, perCpu] of dp.stats.typed(u32, statsFlat).lookupBatch()) {
    const sum = perCpu[0]!;
    for (let c = 1; c < perCpu.length; c++) {
      const v = perCpu[c]!;
      for (let i = 0; i < STAT_FIELDS; i++) sum[i]! += v[i]!;
    }
    rows.set(slot, sum);
  }
  return rows;
}

const ignoreKey = (size: number): Codec<number> => ({ size, align: 1, encode() { throw new Error('read-only codec'); }, decode: () => 0 });
const fdbFlags: Codec<number> = { size: 32, align: 1, encode() { throw new Error('read-only codec'); }, decode: (b, o) => b[o + 21]! };

/** Static and learned FDB entries (flags byte of xv_fdb_entry, XV_FDB_F_STATIC = 1). */
export function countFdb(dp: Datapath): { static: number; learned: number } {
  let st = 0, learned = 0;
  for (const [, flags] of dp.fdb.map.typed(ignoreKey(12), fdbFlags).lookupBatch()) {
    if (flags & 1) st++;
    else learned++;
  }
  return { static: st, learned };
}

/** Entries in a hash map, by batch walk (get_next_key would be one syscall per entry). */
export function countEntries(map: { info: { keySize: number; valueSize: number }; typed: (k: Codec<number>, v: Codec<number>) => { lookupBatch(): unknown[] } }): number {
  return map.typed(ignoreKey(map.info.keySize), ignoreKey(map.info.valueSize)).lookupBatch().length;
}
