// Files next to the manager state (/run/xvtep, reconcile/state.ts): the last
// cluster view the daemon applied, which every apply of a cluster config
// merges (so a restarted daemon's first apply keeps the entries from the
// cluster instead of removing them until etcd answers), and the agent's
// status for `xvtep cluster status`.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { STATE_DIR, statePath } from '../reconcile/index.js';
import type { ClusterView } from './view.js';

export const clusterViewPath = (pinDir: string) => statePath(pinDir).replace(/\.json$/, '.cluster-view.json');
export const clusterStatusPath = (pinDir: string) => statePath(pinDir).replace(/\.json$/, '.cluster.json');

function writeAtomic(path: string, data: unknown): void {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(data) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

export function readClusterView(pinDir: string): ClusterView | null {
  const v = readJson<ClusterView>(clusterViewPath(pinDir));
  return v && typeof v.vnis === 'object' && v.vnis !== null ? v : null;
}

export const writeClusterView = (pinDir: string, v: ClusterView) => writeAtomic(clusterViewPath(pinDir), v);

export interface MemberStatus {
  name: string;
  address: string;
  vnis: number[];
  macs: number;
  /** Seconds since this daemon first saw the member record. */
  ageSeconds: number;
  software: string;
}

export interface ClusterStatus {
  daemonPid: number;
  node: string;
  prefix: string;
  endpoints: string[];
  etcdUp: boolean;
  /** Why etcd is considered down, while it is. */
  etcdError: string | null;
  /** When etcd last answered (ISO). */
  lastContact: string | null;
  lease: { id: string; ttlSeconds: number; ttlLeftSeconds: number } | null;
  revision: number;
  lastSync: string | null;
  members: MemberStatus[];
  counters: {
    refused: number; conflicts: number; watchEvents: number; resyncs: number; leaseLost: number; applies: number; applyFailures: number; published: number; listPages: number;
    /** Local learning: events from the data path, events it lost (ring full), FDB walks, coalesced publishes. */
    learnEvents: number; learnRingDrops: number; learnWalks: number; learnBatches: number;
    /** Other members' FDB entries written as their record arrived, ahead of the full apply. */
    fdbAhead: number;
    /** Views complete once written ahead (only new MACs toward existing peers): no full apply. */
    appliesAhead: number;
  };
  /** How local learning reaches etcd. */
  learning: string;
  at: string;
}

export const readClusterStatus = (pinDir: string) => readJson<ClusterStatus>(clusterStatusPath(pinDir));
export const writeClusterStatus = (pinDir: string, s: ClusterStatus) => writeAtomic(clusterStatusPath(pinDir), s);

export function removeClusterFiles(pinDir: string): void {
  rmSync(clusterViewPath(pinDir), { force: true });
  rmSync(clusterStatusPath(pinDir), { force: true });
}
