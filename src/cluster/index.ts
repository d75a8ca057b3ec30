// The cluster: xvtep nodes find each other through etcd (docs/cluster.md).
// At the daemon's level: it uses config and reconcile, never the other way.
import type { AgentOptions, ClusterAgent } from './agent.js';
export type { ClusterAgent, AgentOptions, LearnChange, LearnFeed, LocalNode } from './agent.js';

/**
 * The agent and the etcd client it brings (~0.25 s of module loading) load
 * only when a cluster starts: the apply worker and the CLI import this index
 * for the view, the merge and the status file, and each of them would
 * otherwise pay for etcd3 and grpc-js at every start.
 */
export async function startClusterAgent(o: AgentOptions): Promise<ClusterAgent> {
  const { ClusterAgent } = await import('./agent.js');
  return new ClusterAgent(o);
}
export { mergeCluster, type Merged } from './merge.js';
export { readClusterStatus, readClusterView, removeClusterFiles, type ClusterStatus, type MemberStatus } from './store.js';
export { memberKey, parseKey, parseMember, parseVniRecord, vniKey, RECORD_VERSION, type MemberRecord, type VniRecord } from './records.js';
export { viewOf, type ClusterView } from './view.js';
export { withLastView, type WithLastView } from './last-view.js';
