// The etcd v3 client (npm etcd3) as the agent uses it. etcd3's own fault
// handling (a retry policy and a per-host circuit breaker that stays open
// 5 s after 3 failures) would delay the resync after an outage and hide
// the outage itself; the agent keeps its own backoff, so calls here fail
// fast (a deadline on every unary call) and say why. With several members
// a failed call is retried once per other member (etcd3 shuffles hosts): one
// member down must not look like an outage.
import { readFileSync } from 'node:fs';
import { handleWhen, noop, retry } from 'cockatiel';
import { Etcd3, isRecoverableError, type IOptions } from 'etcd3';
import type { ClusterConfig } from '../config/index.js';

/** A unary call to etcd that takes longer than this counts as a failure. */
export const CALL_DEADLINE_MS = 2000;

function readPem(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`cluster.etcd.${what}: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

export function etcdClient(c: ClusterConfig): Etcd3 {
  const e = c.etcd;
  const tls = e.endpoints[0]!.startsWith('https:');
  const opts: IOptions = {
    hosts: e.endpoints.map((u) => u.replace(/\/$/, '')),
    dialTimeout: CALL_DEADLINE_MS,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
    faultHandling: {
      host: () => noop,
      global: e.endpoints.length > 1 ? retry(handleWhen(isRecoverableError), { maxAttempts: e.endpoints.length - 1 }) : noop,
      // The agent drops a watcher on 'disconnected' and lists again; this only bounds etcd3's own attempt meanwhile.
      watchBackoff: constantBackoff(250),
    },
  };
  if (tls) {
    // Without caFile the system's roots verify the server (Node's defaults).
    opts.credentials = {
      rootCertificate: e.caFile ? readPem('caFile', e.caFile) : (undefined as unknown as Buffer),
      ...(e.certFile ? { certChain: readPem('certFile', e.certFile), privateKey: readPem('keyFile', e.keyFile!) } : {}),
    };
  }
  return new Etcd3(opts);
}

function constantBackoff(duration: number): { duration: number; next(): ReturnType<typeof constantBackoff> } {
  const b = { duration, next: () => b };
  return b;
}
