// GET /metrics: the xvtep families (built from the maps at scrape time)
// followed by prom-client's Node process metrics. Plain text exposition
// 0.0.4 only: OpenMetrics would rename our *_total counters.
import { createServer, type Server } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Datapath } from '../datapath/index.js';
import { readEndpointStates, readState, readUnderlayState, type ManagerState } from '../reconcile/index.js';
import { ChunkPool } from './chunks.js';
import { endpointCountsOf, renderXvtepMetrics, type EndpointCounts } from './collector.js';

export interface MetricsSource {
  dp: () => Datapath;
  pinDir: string;
  maxVniSeries: () => number;
  version: string;
  /** The manager state to report (default: the state file); the daemon adds what it could not write there. */
  state?: () => ManagerState;
  /** More families in exposition text, from the daemon (the cluster agent's). */
  extra?: () => string;
  /**
   * The endpoint watcher's counts from the daemon's memory (undefined: read
   * its record file). The file lists every endpoint (1,000 in the bench's
   * daemon): parsing it at every scrape made objects by the thousand to
   * count two numbers.
   */
  endpoints?: () => EndpointCounts | undefined;
}

export function processRegistry(): Registry {
  const reg = new Registry();
  collectDefaultMetrics({ register: reg });
  // Gauges named *_total (sums of the per-type gauges prom-client also
  // exports) fail `promtool check metrics`: drop the duplicates.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) reg.removeSingleMetric(name);
  return reg;
}

/** One scrape: the xvtep families (chunks of bytes from `pool`, written as rendered) and prom-client's process families. */
export async function renderAll(src: MetricsSource, reg: Registry, pool?: ChunkPool): Promise<{ own: Buffer[]; process: string }> {
  const own = await renderXvtepMetrics(src.dp(), { maxVniSeries: src.maxVniSeries(), state: src.state?.() ?? readState(src.pinDir), endpoints: src.endpoints?.() ?? endpointCountsOf(readEndpointStates(src.pinDir)), underlay: readUnderlayState(src.pinDir), version: src.version }, pool);
  return { own, process: (src.extra?.() ?? '') + await reg.metrics() };
}

export function startMetricsServer(src: MetricsSource, host: string, port: number): Promise<Server> {
  const reg = processRegistry();
  const pool = new ChunkPool();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/metrics' && path !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('xvtep: metrics at /metrics\n');
      return;
    }
    renderAll(src, reg, pool).then(
      ({ own, process: rest }) => {
        // 'close' follows the last byte handed to the kernel, or an aborted response: either way the chunks are free again.
        res.once('close', () => pool.give(own));
        const length = own.reduce((n, b) => n + b.length, 0) + Buffer.byteLength(rest);
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': length });
        for (const b of own) res.write(b);
        res.end(rest);
      },
      (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`scrape failed: ${(e as Error).message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
