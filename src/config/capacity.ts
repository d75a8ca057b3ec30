// Sizing gate, run before per-entry validation: a file that lists more than a
// BPF map holds cannot be loaded whatever its entries say, and validating a
// million entries first would cost seconds and could bury this in noise.
import type { PendingIssue } from './issues.js';
import { capacitySchema } from './schema.js';

type Key = 'vnis' | 'endpoints' | 'peers' | 'fdb' | 'neighbors';

const WHAT: Record<Key, string> = {
  vnis: 'VNIs',
  endpoints: 'endpoints',
  peers: '(VNI, peer) pairs',
  fdb: 'static FDB entries',
  neighbors: 'neighbor entries',
};

const length = (v: unknown): number => (Array.isArray(v) ? v.length : 0);

export function capacityOverflows(data: { readonly [key: string]: unknown }): PendingIssue[] {
  // Bad capacity values are the schema's to report; without limits there is nothing to gate.
  const limits = capacitySchema.safeParse(data.capacity ?? {});
  if (!limits.success) return [];
  const vnis: unknown[] = Array.isArray(data.vnis) ? data.vnis : [];
  const per = (key: string) =>
    vnis.reduce<number>((n, v) => n + (v !== null && typeof v === 'object' ? length((v as Record<string, unknown>)[key]) : 0), 0);
  const counts: Record<Key, number> = {
    vnis: vnis.length,
    endpoints: per('endpoints'),
    peers: per('peers'),
    fdb: per('fdb'),
    neighbors: per('neighbors'),
  };
  return (Object.keys(counts) as Key[])
    .filter((key) => counts[key] > limits.data[key])
    .map((key) => ({
      segments: ['capacity', key],
      message: `the file lists ${counts[key]} ${WHAT[key]} but capacity.${key} is ${limits.data[key]}; entries are validated once they fit`,
    }));
}
