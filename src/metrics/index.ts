// Prometheus metrics of a data path: the collector, its HTTP server, and the
// stats reads the CLI shares with it.
export * from './read.js';
export { startMetricsServer, type MetricsSource } from './server.js';
