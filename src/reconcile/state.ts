// The manager's own small state (config generation, reload counters and the
// last reload result). bpffs holds only BPF objects, so it lives in a JSON
// file under /run/xvtep named after a hash of the pin directory: one per
// instance, gone after a reboot exactly like the pins, removed by detach.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ReloadResult {
  at: string;
  ok: boolean;
  /** What asked: attach, run, reload (SIGHUP / file change), or a CLI edit. */
  trigger: string;
  /** Map entries written or removed. */
  changes: number;
  error?: string;
}

export interface ManagerState {
  pinDir: string;
  configPath: string | null;
  /** Successful config applies since attach. */
  generation: number;
  reloads: number;
  reloadFailures: number;
  lastReload: ReloadResult | null;
  /** pid of the running daemon, if any. */
  daemonPid: number | null;
  /** endpointXdp of each endpoint of the last applied file, by interface name (for status). */
  endpointXdp?: Record<string, string>;
}

export const STATE_DIR = process.env.XVTEP_STATE_DIR ?? '/run/xvtep';

export function statePath(pinDir: string): string {
  return join(STATE_DIR, `${createHash('sha256').update(pinDir).digest('hex').slice(0, 16)}.json`);
}

export function readState(pinDir: string): ManagerState {
  try {
    return { ...fresh(pinDir), ...(JSON.parse(readFileSync(statePath(pinDir), 'utf8')) as Partial<ManagerState>), pinDir };
  } catch {
    return fresh(pinDir);
  }
}

function fresh(pinDir: string): ManagerState {
  return { pinDir, configPath: null, generation: 0, reloads: 0, reloadFailures: 0, lastReload: null, daemonPid: null };
}

/** Atomic replace: a reader sees the old file or the new one. */
export function writeState(s: ManagerState): void {
  // Root's only, like the pins: it names the config file and the last error.
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  const path = statePath(s.pinDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

export function updateState(pinDir: string, fn: (s: ManagerState) => void): ManagerState {
  const s = readState(pinDir);
  fn(s);
  writeState(s);
  return s;
}

export function recordResult(pinDir: string, r: Omit<ReloadResult, 'at'>, configPath?: string | null, endpointXdp?: Record<string, string>): ManagerState {
  return updateState(pinDir, (s) => {
    s.reloads++;
    if (r.ok) s.generation++;
    else s.reloadFailures++;
    s.lastReload = { at: new Date().toISOString(), ...r };
    if (configPath !== undefined && r.ok) s.configPath = configPath;
    if (endpointXdp !== undefined && r.ok) s.endpointXdp = endpointXdp;
  });
}

export function removeState(pinDir: string): void {
  rmSync(statePath(pinDir), { force: true });
  rmSync(endpointStatesPath(pinDir), { force: true });
  // The cluster agent's view and status (src/cluster/store.ts names them the same way).
  for (const suffix of ['.cluster-view.json', '.cluster.json']) rmSync(statePath(pinDir).replace(/\.json$/, suffix), { force: true });
}

/**
 * What `xvtep run` knows about each endpoint interface of the file, kept in
 * its own file next to the state: only the daemon's main thread writes it,
 * while the state file is also written by the apply worker, and two writers
 * of one read-modify-write file would lose updates.
 */
export interface EndpointState {
  name: string;
  vni: number;
  /** attached: since the daemon started (or the file added it); reattached: came back after it was missing. */
  state: 'attached' | 'missing' | 'reattached';
  /** The interface index attached, null while missing. */
  ifindex: number | null;
  /** When it went missing, or came back (ISO time); null when attached from the start. */
  since: string | null;
  /** The index it had before it went missing. */
  lostIfindex: number | null;
}

export interface EndpointStates {
  daemonPid: number;
  /** Times an endpoint came back and was attached again, since the daemon started. */
  reattachments: number;
  endpoints: EndpointState[];
}

export function endpointStatesPath(pinDir: string): string {
  return statePath(pinDir).replace(/\.json$/, '.endpoints.json');
}

export function readEndpointStates(pinDir: string): EndpointStates | null {
  try {
    return JSON.parse(readFileSync(endpointStatesPath(pinDir), 'utf8')) as EndpointStates;
  } catch {
    return null;
  }
}

export function writeEndpointStates(pinDir: string, s: EndpointStates): void {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o755 });
  const path = endpointStatesPath(pinDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n');
  renameSync(tmp, path);
}
