// Byte-for-byte picture of every pinned control-plane map (batch walks of
// raw keys and values, and the ports of each broadcast inner devmap), to
// prove a refused command touched nothing.
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
    // A ring buffer holds no keys or values: a stream the data path writes (learn events).
    if (name === 'xv_learn_ring') continue;
    const m = openPinnedMap(join(dir, name));
    try {
      let rows: string[];
      if (m instanceof PerCpuMap) rows = m.lookupBatch().map(([k, v]) => `${k.toString('hex')}=${v.map((x) => x.toString('hex')).join(',')}`);
      else if (name === 'xv_bcast') {
        // values are inner map ids: the id (which inner map) and the ports in it, raw, so a
        // refused command that rewrote an inner devmap in place shows too
        rows = (m as BpfMap).lookupBatch().map(([k, v]) => {
          const inner = BpfMap.fromId(v.readUInt32LE(0));
          try {
            // a DEVMAP_HASH has no batch lookup: key by key
            const ports = [...inner.keys()].map((pk) => `${pk.toString('hex')}:${inner.get(pk)?.toString('hex')}`).sort();
            return `${k.toString('hex')}=${v.toString('hex')}[${ports.join(',')}]`;
          } finally {
            inner.close();
          }
        });
      } else rows = (m as BpfMap).lookupBatch().map(([k, v]) => `${k.toString('hex')}=${v.toString('hex')}`);
      out[name] = rows.sort();
    } finally {
      m.close();
    }
  }
  return out;
}
