// xvtep run: bring the data path up (adopting what is pinned: no program
// reload, no counter reset), then serve metrics, reload on SIGHUP and on file
// changes, and age learned FDB entries. Exiting leaves the data path running
// unless --detach-on-exit; a SIGKILL leaves it running too. Every apply of
// the file runs in a short-lived child process (apply-worker.ts) so its
// garbage never inflates this long-lived process. With a cluster, the
// cluster agent starts as soon as the worker has parsed the file (its
// lease and list overlap the data path's load), the first view goes into
// the first apply, and later views are applied here, in-process, on the
// file as the last worker parsed it: a fork per etcd event cost 0.1-0.6 s.
import { fork, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { mergeCluster, startClusterAgent, type ClusterAgent, type ClusterView } from '../cluster/index.js';
import { ConfigError, type Config } from '../config/index.js';
import { Datapath } from '../datapath/index.js';
import { startMetricsServer } from '../metrics/index.js';
import { assertStateWritable, DEFAULT_AGEING_S, detachAll, ManagerError, readState, reconcileConfig, recordResult, releaseDaemon, updateState, errMessage, type ManagerState } from '../reconcile/index.js';
import { VERSION } from '../version.js';
import type { ApplyReply, ApplyRequest, EarlyMessage, Summary, ViewAnswer } from './apply-worker.js';
import { recordQuietly, type Log } from './bringup.js';
import { ClusterFdbWriter } from './cluster-fdb.js';
import { EndpointWatcher } from './endpoints.js';
import { NextHopKeeper } from './nexthops.js';
import { PinWatcher } from './pins.js';
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
  /** A worker forked ahead for the first apply (xvtep run forks it as it starts: src/cli/early-worker.ts). */
  worker?: ChildProcess;
}

/** How long the first apply waits for the cluster's first list, past the data path's load. */
const FIRST_VIEW_WAIT_MS = 1000;

const stderrLog: Log = (m) => process.stderr.write(`xvtep: ${m}\n`);

// Only forked, never imported here: the daemon itself never parses a config,
// so zod and yaml (~14 MB) stay out of its memory.
const applyWorker = fileURLToPath(new URL('./apply-worker.js', import.meta.url));

// stdout/stderr shared with the daemon, as a worker thread's were.
const forkWorker = () => fork(applyWorker, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });

/** How long "ready" waits for the cluster agent's first publish. */
const READY_PUBLISH_MS = 1000;

/** early: what a first apply says before its reply (EarlyMessage); an answer to 'view?' is sent back to it. */

function runApply(req: Omit<ApplyRequest, 'daemonPid'>, early?: (m: EarlyMessage, child: ChildProcess) => void, ahead?: ChildProcess): Promise<ApplyReply> {
  return new Promise((resolve, reject) => {
    // one forked ahead, unless it is gone already (its 'close' would never reach the listeners below)
    const child = ahead?.connected ? ahead : forkWorker();
    let reply: ApplyReply | undefined;
    let failed: Error | undefined;
    child.on('message', (m: ApplyReply | EarlyMessage) => {
      if ('early' in m) early?.(m, child);
      else reply = m;
    });
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
      // a signal: it ran and was killed, possibly between two map writes, with its journal
      reject(Object.assign(new ManagerError(message, 2), { killed: signal !== null }));
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

  // Cluster: the agent starts once the first apply's worker has parsed the
  // file; it publishes and applies only after that apply (the hold).
  let agent: ClusterAgent | undefined;
  let cfg!: Summary;
  let dp!: Datapath;
  /** The file as the last worker parsed it (cluster configs only): cluster views merge into it here. */
  let fileCfg: Config | null = null;
  let release!: (ok: boolean) => void;
  const hold = new Promise<void>((res, rej) => (release = (ok) => (ok ? res() : rej(new Error('the first apply failed')))));
  hold.catch(() => {});
  let sentView: ClusterView | null = null;
  // The agent publishes as soon as the first apply is done (a member
  // announces itself once its data path takes traffic); its applies wait
  // for the rest of the set-up below (the reload queue they join).
  let setUp!: (ok: boolean) => void;
  const setUpDone = new Promise<boolean>((res) => (setUp = res));
  // The agent's hands on the data path, once it is open: the ring of local
  // learning, and other members' new MACs written ahead of an apply.
  let fdbWriter: ClusterFdbWriter | undefined;
  const feedAgent = (a: ClusterAgent | undefined) => {
    if (!a || !dp) return;
    let learnFeed: ReturnType<Datapath['learnEvents']> | undefined;
    try {
      learnFeed = dp.learnEvents();
    } catch (e) {
      log(`cluster: learn events unavailable (${errMessage(e)}); the agent walks the FDB instead`);
    }
    const w = (fdbWriter ??= new ClusterFdbWriter(dp));
    a.useDatapath({ learnFeed, fdbAhead: (view) => w.write(view), generation: () => dp.gen.get(0) ?? 0 });
  };
  const startAgent = async (s: Summary, held?: Promise<void>) => {
    if (!s.cluster || !s.local) return;
    agent = await startClusterAgent({
      cluster: s.cluster, pinDir: s.pinDir, local: s.local, log, hold: held,
      learned: () => learnedLocal(dp, new Set(cfg.local?.vnis.map((v) => v.vni))),
      apply: (trigger, view) => setUpDone.then((ok) => ok && applyView(trigger, view)),
    });
    feedAgent(agent);
    log(`cluster: node ${s.cluster.nodeName}, etcd ${s.cluster.etcd.endpoints.join(', ')}, prefix ${s.cluster.prefix}, lease TTL ${s.cluster.leaseTtlSeconds} s`);
  };
  let starting: Promise<void> = Promise.resolve();
  const onEarly = (m: EarlyMessage, child: ChildProcess) => {
    if (m.early === 'parsed') {
      starting = startAgent(m.summary, hold);
      starting.catch(() => {}); // reported after the first apply
      return;
    }
    // Bounded: etcd slow to answer must not hold the data path back (the
    // worker then merges the previous run's view file, and the agent
    // applies the listed view as soon as it has it).
    void starting.then(() => (agent ? agent.firstView(FIRST_VIEW_WAIT_MS) : null), () => null).then((view) => {
      sentView = view;
      if (child.connected) child.send({ view } satisfies ViewAnswer, () => {});
    });
  };
  let first: ApplyReply;
  try {
    first = await runApply({ configPath: o.configPath, pinDir: o.pinDir, trigger: 'run', first: true, assumePeerNapi: o.assumePeerNapi, tcMode: o.tcMode, insecureConfigPerms: o.insecureConfigPerms, earlyCluster: true }, onEarly, o.worker);
    if (!first.ok) throw failure(first);
    await starting;
  } catch (e) {
    release(false);
    await starting.catch(() => {}); // an agent still being created is closed too
    await agent?.close();
    throw e;
  }
  for (const w of first.warnings) log(`warning: ${w}`);
  for (const n of first.notes) log(n);
  log(`applied ${o.configPath}${first.tookView ? ' with the cluster\'s view' : ''}: ${first.changes} map change(s)`);
  for (const c of first.conflicts) log(`cluster: conflict: ${c}`);
  cfg = first.summary;
  fileCfg = first.file;
  const pinDir = cfg.pinDir;
  dp = Datapath.open(pinDir);
  const pins = new PinWatcher(pinDir, dp, log);
  feedAgent(agent);
  if (first.tookView && sentView) agent?.applied(sentView);
  release(true);
  updateState(pinDir, (s) => {
    s.daemonPid = process.pid;
  });

  let server: Server | undefined;
  // Declared ahead of the metrics server, whose scrapes ask it for its counts from the start.
  let endpoints: EndpointWatcher | undefined;
  const startServer = async () => {
    if (!cfg.metrics.enabled) return;
    const { host, port } = cfg.metrics.listen;
    server = await startMetricsServer({ dp: () => dp, pinDir, state: () => withUnrecorded(readState(pinDir)), maxVniSeries: () => cfg.metrics.maxVniSeries, version: VERSION, extra: () => agent?.metrics() ?? '', endpoints: () => endpoints?.counts() }, host, port);
    log(`metrics on http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`);
  };
  try {
    await startServer();
  } catch (e) {
    setUp(false);
    await agent?.close();
    dp.close();
    throw new ManagerError(`metrics: cannot listen on ${cfg.metrics.listen.host}:${cfg.metrics.listen.port}: ${errMessage(e)}`, 2);
  }

  const clusterChanged = async (prev: Summary['cluster']) => {
    if (JSON.stringify(prev) !== JSON.stringify(cfg.cluster)) {
      await agent?.close();
      agent = undefined;
      await startAgent(cfg);
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
  // Reloads and cluster views share one queue and one bookkeeping.
  const queued = (trigger: string, once: () => Promise<boolean> | boolean): Promise<boolean> => {
    let seen = 0;
    const run = chain.then(() => {
      seen = readState(pinDir).reloads;
      return once();
    }).catch((e: unknown) => {
      lastFailure = errMessage(e);
      log(`reload: ${lastFailure}`);
      return false;
    }).then((ok) => {
      noteUnrecorded(seen, ok, trigger);
      return ok;
    });
    chain = run.then(() => endpoints?.sync());
    return run;
  };
  const reload = (trigger: string): Promise<boolean> => queued(trigger, () => reloadOnce(trigger));
  // Applies the state directory could not record (it was full or read-only):
  // the metrics count them here, and the next state write that succeeds folds them in.
  const unrecorded = { failures: 0, last: null as ManagerState['lastReload'] };
  let lastFailure = '';
  const withUnrecorded = (s: ManagerState): ManagerState => unrecorded.failures === 0 ? s
    : { ...s, reloads: s.reloads + unrecorded.failures, reloadFailures: s.reloadFailures + unrecorded.failures, lastReload: unrecorded.last };
  const noteUnrecorded = (seen: number, ok: boolean, trigger: string) => {
    if (!ok && readState(pinDir).reloads === seen) {
      unrecorded.failures++;
      unrecorded.last = { at: new Date().toISOString(), ok: false, trigger, changes: 0, error: lastFailure };
    } else if (ok && unrecorded.failures > 0) {
      try {
        updateState(pinDir, (s) => {
          s.reloads += unrecorded.failures;
          s.reloadFailures += unrecorded.failures;
        });
        unrecorded.failures = 0;
        unrecorded.last = null;
      } catch {
        // still full: kept for the next one
      }
    }
  };
  // A cluster view, in the same queue as the reloads and counted as they are.
  const applyView = (trigger: string, view: ClusterView): Promise<boolean> => queued(trigger, () => applyViewOnce(trigger, view));
  // The same reconcile as a worker's (validated, make-before-break, rollback),
  // on the file as last parsed: the view's entries are a few hundred KB, not
  // the file's parse, so this process keeps its size. The same refusals as a
  // worker's too: no pins (bpffs gone), no room to record the result.
  const applyViewOnce = (trigger: string, view: ClusterView): Promise<boolean> | boolean => {
    if (!fileCfg) return reloadOnce(trigger); // no parsed file here: a worker merges the view file
    const refused = pins.refusal();
    if (refused !== null) {
      lastFailure = refused;
      log(`reload (${trigger}) refused, still serving the previous config: ${lastFailure}`);
      return false;
    }
    const { config, conflicts } = mergeCluster(fileCfg, view);
    let res: ReturnType<typeof reconcileConfig>;
    try {
      assertStateWritable(pinDir);
      res = reconcileConfig(dp, config, { assumePeerNapi: o.assumePeerNapi, tolerateMissingEndpoints: true });
    } catch (e) {
      lastFailure = errMessage(e);
      recordQuietly(pinDir, { ok: false, trigger, changes: 0, error: lastFailure });
      log(`reload (${trigger}) failed, still serving the previous config: ${lastFailure}`);
      return false;
    }
    try {
      recordResult(pinDir, { ok: true, trigger, changes: res.changes }, o.configPath, res.endpointXdp);
    } catch (e) {
      log(`warning: applied, but the state file could not record it (${errMessage(e)}): status shows the previous apply until the next one`);
    }
    for (const w of res.warnings) log(`warning: ${w}`);
    for (const n of res.notes) log(n);
    log(`reload (${trigger}): ${res.changes} map change(s)`);
    pins.hold();
    for (const c of conflicts) log(`cluster: conflict: ${c}`);
    agent?.addConflicts(conflicts.length);
    return true;
  };
  const applyOnce = (trigger: string) => runApply({ configPath: o.configPath, pinDir: o.pinDir, trigger, first: false, expectPinDir: pinDir, assumePeerNapi: o.assumePeerNapi, tcMode: o.tcMode, insecureConfigPerms: o.insecureConfigPerms });
  const reloadOnce = async (asked: string): Promise<boolean> => {
    const refused = pins.refusal();
    if (refused !== null) {
      lastFailure = refused;
      log(`reload (${asked}) refused, still serving the previous config: ${lastFailure}`);
      return false;
    }
    let trigger = asked;
    let r: ApplyReply;
    try {
      r = await applyOnce(trigger);
    } catch (e) {
      // Killed mid-apply, the worker's rollback journal died with it: the
      // maps may hold part of the new file and all of the old. The apply is
      // a diff against the live maps, so running it once more completes it
      // (or fails cleanly and rolls back). Once: a kill that repeats (the
      // OOM killer) is reported, not looped on.
      if (!(e as { killed?: boolean }).killed) throw e;
      log(`reload (${trigger}): ${errMessage(e)}; the maps may be half-applied: applying the file again`);
      trigger = `${asked}, again after a killed apply`;
      r = await applyOnce(trigger);
    }
    if (!r.ok) {
      lastFailure = errMessage(failure(r));
      log(`reload (${trigger}) failed, still serving the previous config: ${lastFailure}`);
      return false;
    }
    for (const w of r.warnings) log(`warning: ${w}`);
    for (const n of r.notes) log(n);
    log(`reload (${trigger}): ${r.changes} map change(s)`);
    pins.hold();
    for (const c of r.conflicts) log(`cluster: conflict: ${c}`);
    agent?.addConflicts(r.conflicts.length);
    // an apply may replace or remove learned entries, which the data path reports no event for
    if (r.changes > 0) agent?.rescan();
    const next = r.summary;
    fileCfg = r.file;
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
  agent?.addConflicts(first.conflicts.length);
  setUp(true);
  process.off('SIGHUP', onEarlyHup);
  process.on('SIGHUP', () => void reload('SIGHUP'));

  // The others drop this node's frames until its record reached them (their
  // decap allow-list): containers that start at "ready" lost their first ARP
  // request to that (a 1 s retransmission). Bounded: without etcd, traffic
  // toward the members in the last view flows all the same.
  if (agent && !(await agent.published(READY_PUBLISH_MS))) log(`cluster: this node's records are not in etcd yet (${READY_PUBLISH_MS} ms); ready without them, published when etcd answers`);

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
        server?.close();
        if (pins.goneSince !== null) log(`${sig}: the pins are gone (since ${pins.goneSince}) and this process holds the last references: the data path stops with it`);
        shutdown(dp, pinDir, o.detachOnExit, sig, log);
        pins.close();
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
