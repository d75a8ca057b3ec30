// The cluster: xvtep nodes find each other through etcd (docs/cluster.md).
// At the daemon's level: it uses config and reconcile, never the other way.
export { ClusterAgent, type AgentOptions, type LearnChange, type LearnFeed, type LocalNode } from './agent.js';
export { mergeCluster, type Merged } from './merge.js';
export { readClusterStatus, readClusterView, removeClusterFiles, type ClusterStatus, type MemberStatus } from './store.js';
export { memberKey, parseKey, parseMember, parseVniRecord, vniKey, RECORD_VERSION, type MemberRecord, type VniRecord } from './records.js';
export { viewOf, type ClusterView } from './view.js';
