// One config apply (the daemon's start and every reload) in a short-lived
// child process. Parsing and diffing 100k FDB entries allocates a few
// hundred MB of short-lived objects; neither the daemon's heap nor a worker
// thread's (its malloc arena outlives the thread) gives those pages back, so
// the daemon stayed at ~200 MB after one reload. A process returns all of it
// on exit, and the daemon keeps only the small summary it is sent. The child
// opens the pinned maps itself (fds are per process, pins are shared) and
// inherits the daemon's network and mount namespaces.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, type Config } from '../config/index.js';
import { assertStateWritable, faultPoint, ManagerError, openPinned, reconcileConfig, loadForApply, readState, recordResult, claimDaemon, errMessage, withPinDir, sweepIntervalMs } from '../reconcile/index.js';
import { alive } from './alive.js';
import { withTcMode } from '../reconcile/index.js';
import { bringUp, recordQuietly } from './bringup.js';
import type { WatchedEndpoint } from './endpoints.js';
import type { UnderlayConfigured } from './underlay.js';
import { mergeCluster, readClusterView, type ClusterView, type LocalNode } from '../cluster/index.js';
import { LAYOUT_VERSION } from '../datapath/index.js';
import { hostResolver, ZERO_MAC } from '../reconcile/index.js';
import { VERSION } from '../version.js';

export interface ApplyRequest {
  configPath: string;
  pinDir?: string;
  trigger: string;
  /** The first apply may load and pin the data path; reloads only adopt it. */
  first: boolean;
  /** For reloads: the pin dir the daemon serves (it cannot move). */
  expectPinDir?: string;
  /** The daemon asking: another live daemon on the pin dir is refused, this one is not. */
  daemonPid: number;
  assumePeerNapi?: boolean;
  insecureConfigPerms?: boolean;
  /** --tc-mode, over the file's underlay.tcMode. */
  tcMode?: string;
  /** `run`'s first apply: send EarlyMessages (the daemon answers view requests). */
  earlyCluster?: boolean;
}

export interface Summary {
  pinDir: string;
  metrics: Config['metrics'];
  ageing: Array<[number, number]>;
  sweepMs: number;
  /** Endpoint interfaces the file names, for the endpoint watcher. */
  endpoints: WatchedEndpoint[];
  /** The underlay as the file names it, for the underlay watcher. */
  underlay: UnderlayConfigured;
  cluster: Config['cluster'];
  /** What this node publishes to the cluster (from the file alone, never what the cluster added). */
  local: LocalNode | null;
}

export type ApplyReply =
  | {
    ok: true; changes: number; warnings: string[]; notes: string[]; summary: Summary; conflicts: string[];
    /** With a cluster: the file as applied before the cluster's merge, for the daemon's in-process cluster applies. */
    file: Config | null;
    /** The first apply: whether it merged the view the daemon sent (else the view file's, if any). */
    tookView: boolean;
  }
  | { ok: false; kind: 'config'; source: string; issues: ConfigError['issues'] }
  | { ok: false; kind: 'other'; message: string; exitCode: 1 | 2 };

/**
 * Messages a first apply of `run` sends before its reply: the file's
 * summary once parsed (the daemon starts its cluster agent then, while the
 * data path loads), and a request for the cluster's first view, answered
 * with a ViewAnswer.
 */
export type EarlyMessage = { early: 'parsed'; summary: Summary } | { early: 'view?' };
export interface ViewAnswer {
  view: ClusterView | null;
}

/** Asks the daemon for the cluster's first view (null: it has none yet). */
function askView(): Promise<ClusterView | null> {
  return new Promise((resolve) => {
    const on = (m: ViewAnswer) => {
      process.off('message', on);
      resolve(m.view);
    };
    process.on('message', on);
    process.send!({ early: 'view?' } satisfies EarlyMessage);
  });
}

function localNode(c: Config): LocalNode | null {
  if (!c.cluster) return null;
  const address = c.underlay.address ?? hostResolver.underlayAddress(c.underlay.interface, c.underlay.family);
  return {
    address, family: address.includes(':') ? 6 : 4, port: c.underlay.port, software: VERSION, layout: LAYOUT_VERSION, fdbCapacity: c.capacity.fdb,
    vnis: c.vnis.map((v) => ({
      vni: v.vni,
      macs: v.fdb.flatMap((f) => (f.kind === 'local' && f.mac !== ZERO_MAC ? [f.mac] : [])),
      neighbors: v.neighbors.map((n) => ({ ip: n.ip, mac: n.mac })),
    })),
  };
}

function summary(c: Config): Summary {
  return {
    pinDir: c.state.pinDir, metrics: c.metrics, ageing: c.vnis.map((v) => [v.vni, v.ageingSeconds]), sweepMs: sweepIntervalMs(c),
    endpoints: c.vnis.flatMap((v) => v.endpoints.map((name) => ({ name, vni: v.vni }))),
    underlay: { iface: c.underlay.interface, address: c.underlay.address, mtu: c.underlay.mtu },
    cluster: c.cluster, local: localNode(c),
  };
}

/**
 * With a cluster: section, the last view the daemon's cluster agent wrote is
 * merged in (the file wins conflicts). Every apply does it, the daemon's
 * first included: a restarted daemon keeps the cluster's entries from its
 * previous run instead of removing them until etcd answers.
 */
function withCluster(file: Config, sent: ClusterView | null = null): { cfg: Config; conflicts: string[] } {
  if (!file.cluster) return { cfg: file, conflicts: [] };
  const view = sent ?? readClusterView(file.state.pinDir);
  if (!view) return { cfg: file, conflicts: [] };
  const m = mergeCluster(file, view);
  return { cfg: m.config, conflicts: m.conflicts };
}

async function apply(r: ApplyRequest): Promise<ApplyReply> {
  let cfg: Config;
  try {
    cfg = withTcMode(withPinDir(await loadForApply(r.configPath, { insecurePerms: r.insecureConfigPerms }), r.pinDir), r.tcMode);
    if (r.expectPinDir !== undefined && cfg.state.pinDir !== r.expectPinDir) {
      throw new ConfigError(r.configPath, [{ path: 'state.pinDir', message: `cannot change while running (${r.expectPinDir} -> ${cfg.state.pinDir}); restart xvtep run` }]);
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      if (!r.first && r.expectPinDir) recordQuietly(r.expectPinDir, { ok: false, trigger: r.trigger, changes: 0, error: errMessage(e) });
      return { ok: false, kind: 'config', source: e.source, issues: e.issues };
    }
    throw e;
  }
  const notes: string[] = [];
  const log = (m: string) => notes.push(m);
  const file = cfg;
  const keep = file.cluster ? file : null;
  if (r.first && r.earlyCluster && file.cluster) process.send!({ early: 'parsed', summary: summary(file) } satisfies EarlyMessage);
  let { cfg: merged, conflicts } = withCluster(file);
  cfg = merged;
  if (r.first) {
    const other = readState(cfg.state.pinDir).daemonPid;
    if (other !== r.daemonPid && alive(other)) throw new ManagerError(`${cfg.state.pinDir}: xvtep run is already running (pid ${other})`, 2);
    // two daemons started at once both pass the check above: the claim decides
    let owner: number | null = null;
    try {
      owner = claimDaemon(cfg.state.pinDir, r.daemonPid, alive);
    } catch (e) {
      // without write access to the state directory: bringUp fails next, naming the privilege
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EPERM') throw e;
    }
    if (owner !== null) {
      throw new ManagerError(`${cfg.state.pinDir}: xvtep run is already running${owner > 0 ? ` (pid ${owner})` : ' (another one is starting)'}`, 2);
    }
    // A missing endpoint is not the daemon's failure: it is watched for (endpoints.ts).
    // The cluster's first view, listed by the daemon's agent while the data
    // path loaded, goes into this same apply: one apply, not two.
    let tookView = false;
    const prepare = r.earlyCluster && file.cluster ? async () => {
      const view = await askView();
      if (!view) return cfg;
      tookView = true;
      ({ cfg: merged, conflicts } = withCluster(file, view));
      return merged;
    } : undefined;
    const { dp, result } = await bringUp(cfg, r.configPath, r.trigger, log, { assumePeerNapi: r.assumePeerNapi, tolerateMissingEndpoints: true, prepare });
    dp.close();
    // bringUp already reported its warnings ("warning: ...") and notes through log, in order: once each.
    return { ok: true, changes: result.changes, warnings: [], notes, summary: summary(file), conflicts, file: keep, tookView };
  }
  let dp: ReturnType<typeof openPinned>;
  try {
    dp = openPinned(cfg.state.pinDir);
  } catch (e) {
    recordQuietly(cfg.state.pinDir, { ok: false, trigger: r.trigger, changes: 0, error: errMessage(e) });
    throw e;
  }
  try {
    assertStateWritable(cfg.state.pinDir);
    const res = reconcileConfig(dp, cfg, { assumePeerNapi: r.assumePeerNapi, tolerateMissingEndpoints: true });
    faultPoint('record');
    const warnings = [...res.warnings];
    try {
      recordResult(cfg.state.pinDir, { ok: true, trigger: r.trigger, changes: res.changes }, r.configPath, res.endpointXdp);
    } catch (e) {
      // the space went between the check and now: the maps are the file's, only the record is missing
      warnings.push(`applied, but the state file could not record it (${errMessage(e)}): status shows the previous apply until the next one`);
    }
    return { ok: true, changes: res.changes, warnings, notes: res.notes, summary: summary(file), conflicts, file: keep, tookView: false };
  } catch (e) {
    recordQuietly(cfg.state.pinDir, { ok: false, trigger: r.trigger, changes: 0, error: errMessage(e) });
    throw e;
  } finally {
    dp.close();
  }
}

// Forked by runApply() as the main module: one request in, one reply out, then
// exit (whatever handle an apply might leave open). Imported anywhere else, nothing.
if (process.send && process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // A stop meant for the daemon reaches its whole group too (systemd's
  // control-group kill, Ctrl-C): an apply cut short there would skip its
  // rollback. The daemon waits for the apply before it exits; SIGKILL still ends it.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => {});
  const send = (reply: ApplyReply) => process.send!(reply, () => process.exit(0));
  // A worker forked ahead (the daemon keeps one with a cluster) whose daemon
  // goes away before asking anything has nothing to do.
  let asked = false;
  process.once('disconnect', () => {
    if (!asked) process.exit(0);
  });
  process.once('message', (req: ApplyRequest) => {
    asked = true;
    apply(req).then(send, (e: unknown) => send({
      ok: false, kind: 'other', message: errMessage(e),
      exitCode: e instanceof ManagerError ? e.exitCode : e instanceof ConfigError ? 1 : 2,
    }));
  });
}
