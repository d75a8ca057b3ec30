// xvtep run: bring the data path up (adopting what is pinned: no program
// reload, no counter reset), then serve metrics, reload on SIGHUP and on file
// changes, and age learned FDB entries. Exiting leaves the data path running
// unless --detach-on-exit; a SIGKILL leaves it running too. Every config
// apply runs in a short-lived child process (apply-worker.ts) so its garbage
// never inflates this long-lived process.
import { fork, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { ClusterAgent } from '../cluster/index.js';
import { ConfigError } from '../config/index.js';
import { Datapath } from '../datapath/index.js';
import { startMetricsServer } from '../metrics/index.js';
import { DEFAULT_AGEING_S, detachAll, ManagerError, readState, recordResult, releaseDaemon, updateState, errMessage } from '../reconcile/index.js';
import { VERSION } from '../version.js';
import type { ApplyReply, ApplyRequest, Summary } from './apply-worker.js';
import type { Log } from './bringup.js';
import { ClusterFdbWriter } from './cluster-fdb.js';
import { EndpointWatcher } from './endpoints.js';
import { NextHopKeeper } from './nexthops.js';
import { watchFile } from './watch.js';
import { UnderlayWatcher } from './underlay.js';

export interface DaemonOptions {
  configPath: string;
  pinDir?: string;
  detachOnExit: boolean;
  assumePeerNapi?: boolean;
  /** --insecure-config-perms: every apply skips the config file's ownership and mode checks. */
  insecureConfigPerms?: boolean;
  tcMode?: string;
  log?: Log;
}

const stderrLog: Log = (m) => process.stderr.write(`xvtep: ${m}\n`);

// Only forked, never imported here: the daemon itself never parses a config,
// so zod and yaml (~14 MB) stay out of its memory.
const applyWorker = fileURLToPath(new URL('./apply-worker.js', import.meta.url));

// stdout/stderr shared with the daemon, as a worker thread's were.
const forkWorker = () => fork(applyWorker, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });

/**
 * With a cluster, applies follow etcd events and their latency counts (a
 * dead member must be gone within TTL + 1 s): one worker is kept forked
 * ahead, its modules loaded, waiting for its request (~0.6 s of start-up
 * off the critical path, for one idle process). Without a cluster, none.
 */
let spare: ChildProcess | undefined;
let keepSpare = false;
function takeWorker(): ChildProcess {
  const child = spare && spare.exitCode === null && spare.signalCode === null && spare.connected ? spare : forkWorker();
  spare = undefined;
  // The next one starts once this apply is done: its start-up would
  // otherwise take CPU from the apply it is meant to speed up.
  child.once('close', () => {
    if (keepSpare && !spare) {
      spare = forkWorker();
      spare.on('error', () => {});
    }
  });
  return child;
}
function setSpareWorker(on: boolean): void {
  keepSpare = on;
  if (!on && spare) {
    spare.kill();
    spare = undefined;
  }
}

function runApply(req: Omit<ApplyRequest, 'daemonPid'>): Promise<ApplyReply> {
  return new Promise((resolve, reject) => {
    const child = takeWorker();
    let reply: ApplyReply | undefined;
    let failed: Error | undefined;
    child.once('message', (m: ApplyReply) => (reply = m));
    child.once('error', (e) => (failed ??= e)); // 'close' follows and reports it
    // 'close', not 'exit': it comes after the IPC channel, so after the reply.
    child.once('close', (code, signal) => {
      if (reply) return resolve(reply);
      const ran = signal !== null || (code !== null && code >= 0); // else it never started
      const message = !ran && failed ? `config apply worker: ${errMessage(failed)}`
        : `config apply worker exited with ${signal ? `signal ${signal}` : `code ${code}`} and no answer`;
      // A process can die where a thread could not (the OOM killer, a kill):
      // a reload lost that way counts as failed in status and metrics too.
      if (req.expectPinDir) {
        try {
          recordResult(req.expectPinDir, { ok: false, trigger: req.trigger, changes: 0, error: message });
        } catch (e) {
          return reject(new ManagerError(`${message}; recording it failed too: ${errMessage(e)}`, 2));
        }
      }
      reject(new ManagerError(message, 2));
    });
    // A child that dies before it reads this fails the write (EPIPE); 'close' reports the death.
    child.send({ ...req, daemonPid: process.pid } satisfies ApplyRequest, (e) => (failed ??= e ?? undefined));
  });
}

function failure(r: Exclude<ApplyReply, { ok: true }>): Error {
  return r.kind === 'config' ? new ConfigError(r.source, r.issues) : new ManagerError(r.message, r.exitCode);
}

export async function runDaemon(o: DaemonOptions): Promise<void> {
  const log = o.log ?? stderrLog;
  // SIGHUP's default action would kill a daemon still starting up: note it, reload once ready.
  let earlyHup = false;
  const onEarlyHup = () => (earlyHup = true);
  process.on('SIGHUP', onEarlyHup);
  const first = await runApply({ configPath: o.configPath, pinDir: o.pinDir, trigger: 'run', first: true, assumePeerNapi: o.assumePeerNapi, tcMode: o.tcMode, insecureConfigPerms: o.insecureConfigPerms });
  if (!first.ok) throw failure(first);
  for (const w of first.warnings) log(`warning: ${w}`);
  for (const n of first.notes) log(n);
  log(`applied ${o.configPath}: ${first.changes} map change(s)`);
  for (const c of first.conflicts) log(`cluster: conflict: ${c}`);
  let cfg: Summary = first.summary;
  const pinDir = cfg.pinDir;
  const dp = Datapath.open(pinDir);
  updateState(pinDir, (s) => {
    s.daemonPid = process.pid;
  });

  let server: Server | undefined;
  const startServer = async () => {
    if (!cfg.metrics.enabled) return;
    const { host, port } = cfg.metrics.listen;
    server = await startMetricsServer({ dp: () => dp, pinDir, maxVniSeries: () => cfg.metrics.maxVniSeries, version: VERSION, extra: () => agent?.metrics() ?? '' }, host, port);
    log(`metrics on http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`);
  };
  try {
    await startServer();
  } catch (e) {
    dp.close();
    throw new ManagerError(`metrics: cannot listen on ${cfg.metrics.listen.host}:${cfg.metrics.listen.port}: ${errMessage(e)}`, 2);
  }

  // Cluster: started once the file is applied (with the last view, if any).
  let agent: ClusterAgent | undefined;
  const fdbWriter = new ClusterFdbWriter(dp);
  const startAgent = () => {
    setSpareWorker(!!cfg.cluster);
    if (!cfg.cluster || !cfg.local) return;
    let learnFeed: ReturnType<Datapath['learnEvents']>;
    try {
      learnFeed = dp.learnEvents();
    } catch (e) {
      log(`cluster: learn events unavailable (${errMessage(e)}); the agent walks the FDB instead`);
    }
    agent = new ClusterAgent({
      cluster: cfg.cluster, pinDir, local: cfg.local, log,
      learned: () => learnedLocal(dp, new Set(cfg.local?.vnis.map((v) => v.vni))),
      learnFeed,
      apply: (trigger) => reload(trigger),
      fdbAhead: (view) => fdbWriter.write(view),
    });
    log(`cluster: node ${cfg.cluster.nodeName}, etcd ${cfg.cluster.etcd.endpoints.join(', ')}, prefix ${cfg.cluster.prefix}, lease TTL ${cfg.cluster.leaseTtlSeconds} s`);
  };
  const clusterChanged = async (prev: Summary['cluster']) => {
    if (JSON.stringify(prev) !== JSON.stringify(cfg.cluster)) {
      await agent?.close();
      agent = undefined;
      startAgent();
    } else if (cfg.local) agent?.update(cfg.local);
  };

  let ageing = new Map(cfg.ageing);
  let ageTimer: NodeJS.Timeout | undefined;
  const restartAgeing = () => {
    clearInterval(ageTimer);
    ageing = new Map(cfg.ageing);
    ageTimer = setInterval(() => {
      try {
        const old = dp.ageLearned((vni) => ageing.get(vni) ?? DEFAULT_AGEING_S);
        const n = old.length;
        if (n > 0) log(`aged out ${n} learned FDB entr${n === 1 ? 'y' : 'ies'}`);
        // the data path reports learning, not ageing: the agent withdraws these
        const local = old.filter((r) => r.dest.kind === 'local');
        if (local.length) agent?.forget(local);
      } catch (e) {
        log(`ageing: ${errMessage(e)}`);
      }
    }, cfg.sweepMs);
  };
  restartAgeing();

  // Reloads run one at a time; a request during a reload runs after it.
  // After each, the endpoint watcher looks at what the reload attached.
  let chain: Promise<void> = Promise.resolve();
  let endpoints: EndpointWatcher | undefined;
  const reload = (trigger: string): Promise<boolean> => {
    const run = chain.then(() => reloadOnce(trigger)).catch((e: unknown) => {
      log(`reload: ${errMessage(e)}`);
      return false;
    });
    chain = run.then(() => endpoints?.sync());
    return run;
  };
  const reloadOnce = async (trigger: string): Promise<boolean> => {
    const r = await runApply({ configPath: o.configPath, pinDir: o.pinDir, trigger, first: false, expectPinDir: pinDir, assumePeerNapi: o.assumePeerNapi, tcMode: o.tcMode, insecureConfigPerms: o.insecureConfigPerms });
    if (!r.ok) {
      log(`reload (${trigger}) failed, still serving the previous config: ${errMessage(failure(r))}`);
      return false;
    }
    for (const w of r.warnings) log(`warning: ${w}`);
    for (const n of r.notes) log(n);
    log(`reload (${trigger}): ${r.changes} map change(s)`);
    for (const c of r.conflicts) log(`cluster: conflict: ${c}`);
    agent?.addConflicts(r.conflicts.length);
    // an apply may replace or remove learned entries, which the data path reports no event for
    if (r.changes > 0) agent?.rescan();
    const next = r.summary;
    const prevCluster = cfg.cluster;
    const moved = next.metrics.enabled !== cfg.metrics.enabled || next.metrics.listen.host !== cfg.metrics.listen.host || next.metrics.listen.port !== cfg.metrics.listen.port;
    cfg = next;
    restartAgeing();
    if (moved) {
      await new Promise<void>((res) => (server ? server.close(() => res()) : res()));
      server = undefined;
      await startServer().catch((e: unknown) => log(`metrics: ${errMessage(e)}`));
    }
    // A view applied by the agent itself needs no update back.
    if (!trigger.startsWith('cluster')) await clusterChanged(prevCluster);
    return true;
  };

  const watcher = watchFile(o.configPath, 200, () => void reload('file change'));
  endpoints = new EndpointWatcher({ pinDir, dp, configured: () => cfg.endpoints, reload: (t) => reload(t).then(() => {}), log });
  const underlay = new UnderlayWatcher({ pinDir, configured: () => cfg.underlay, reload: (t) => reload(t).then(() => {}), setMtu: (mtu) => dp.setUnderlayMtu(mtu), log });
  const nextHops = new NextHopKeeper(dp, log);
  startAgent();
  agent?.addConflicts(first.conflicts.length);
  process.off('SIGHUP', onEarlyHup);
  process.on('SIGHUP', () => void reload('SIGHUP'));

  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      process.removeAllListeners('SIGTERM');
      process.removeAllListeners('SIGINT');
      clearInterval(ageTimer);
      watcher.close();
      endpoints?.close();
      underlay.close();
      nextHops.close();
      void chain.then(() => agent?.close()).then(() => {
        setSpareWorker(false);
        server?.close();
        shutdown(dp, pinDir, o.detachOnExit, sig, log);
        resolve();
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    // Only now: Node installs a signal's handler when the first listener is
    // added, so a SIGTERM sent the moment "ready" is read would otherwise
    // find the default action and kill the daemon mid-way (seen in CI).
    log('ready');
    if (earlyHup) void reload('SIGHUP');
  });
}

/** MACs learned on local endpoints (not static), per VNI of the file: what the agent publishes beside the file's own. */
function learnedLocal(dp: Datapath, vnis: ReadonlySet<number>): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const r of dp.fdb.list()) {
    if (r.static || r.dest.kind !== 'local' || !vnis.has(r.vni)) continue;
    let l = out.get(r.vni);
    if (!l) out.set(r.vni, (l = []));
    l.push(r.mac);
  }
  return out;
}

function shutdown(dp: Datapath, pinDir: string, detach: boolean, sig: string, log: Log): void {
  dp.close();
  if (detach) {
    const r = detachAll(pinDir);
    log(`${sig}: detached ${r.links} link(s) and removed ${r.left.length ? `xvtep's pins from ${pinDir} (other files stay)` : pinDir}`);
    return;
  }
  if (readState(pinDir).daemonPid === process.pid) updateState(pinDir, (s) => {
    s.daemonPid = null;
  });
  releaseDaemon(pinDir, process.pid);
  log(`${sig}: exiting, the data path keeps running (pinned in ${pinDir})`);
}
