// Byte-for-byte picture of every pinned control-plane map (batch walks of
// raw keys and values), to prove a refused command touched nothing.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap, PerCpuMap, openPinnedMap } from '../../src/bpf/index.js';

export function snapshotMaps(pinDir: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const dir = join(pinDir, 'maps');
  for (const name of readdirSync(dir).sort()) {
    // Counters are written by the data path on every packet (a stray router
    // solicitation included); a refused command must leave control-plane
    // state alone, and counters are not control-plane state.
    if (name === 'xv_stats') continue;
    const m = openPinnedMap(join(dir, name));
    try {
      let rows: string[];
      if (m instanceof PerCpuMap) rows = m.lookupBatch().map(([k, v]) => `${k.toString('hex')}=${v.map((x) => x.toString('hex')).join(',')}`);
      else if (name === 'xv_bcast') {
        // values are inner map ids; what matters is which inner map and its ports
        rows = (m as BpfMap).lookupBatch().map(([k, v]) => `${k.toString('hex')}=${v.toString('hex')}`);
      } else rows = (m as BpfMap).lookupBatch().map(([k, v]) => `${k.toString('hex')}=${v.toString('hex')}`);
      out[name] = rows.sort();
    } finally {
      m.close();
    }
  }
  return out;
}
