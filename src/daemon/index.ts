// The daemon: bring-up, the long-running loop (config, kernel and endpoint
// watches, ageing, metrics) and what the CLI asks of a running one.
// apply-worker.ts is a worker thread's entry, not part of this surface.
export { alive } from './alive.js';
export { bringUp } from './bringup.js';
export { runDaemon, type DaemonOptions } from './daemon.js';
export { liveEndpointStates } from './endpoints.js';
