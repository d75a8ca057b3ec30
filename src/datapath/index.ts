// The xvtep data path: loading, attaching, and typed access to its maps.
export * from './attach.js';
export * from './datapath.js';
export * from './fdb-counter.js';
export * from './gso6dev.js';
export * from './layout.js';
export * from './learn-events.js';
export * from './nexthops.js';
export * from './probe.js';
export * from './tables.js';
