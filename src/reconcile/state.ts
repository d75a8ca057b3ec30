// The manager's own small state (config generation, reload counters and the
// last reload result). bpffs holds only BPF objects, so it lives in a JSON
// file under /run/xvtep named after a hash of the pin directory: one per
// instance, gone after a reboot exactly like the pins, removed by detach.
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { system } from './errors.js';
import { errMessage } from './text.js';

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

/**
 * The state directory, root's only like the pins (the files name the config
 * and the last error): created 0700, and an existing one with looser modes
 * tightened to 0700 (mkdir leaves an existing directory as it is). One
 * owned by another user is refused: it could hold files we did not write.
 */
export function ensureStateDir(): void {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  const st = statSync(STATE_DIR);
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== 0 && st.uid !== uid) {
    throw new Error(`${STATE_DIR} is owned by uid ${st.uid}, not root or the user xvtep runs as: remove it or chown root ${STATE_DIR}`);
  }
  if ((st.mode & 0o077) !== 0) chmodSync(STATE_DIR, 0o700);
}

/**
 * Atomic replace: a reader sees the old file or the new one. A write that
 * fails (a full filesystem) removes its partial temporary file: left there,
 * it would hold the space the next write needs.
 */
function writeAtomic(path: string, text: string): void {
  ensureStateDir();
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function writeState(s: ManagerState): void {
  writeAtomic(statePath(s.pinDir), JSON.stringify(s, null, 2) + '\n');
}

/**
 * Before an apply touches a map: the state file must be writable (the apply
 * ends by recording its result there). Rewriting it now, unchanged, finds a
 * full or read-only state directory while refusing still leaves the maps as
 * they are, instead of after the maps have changed.
 */
export function assertStateWritable(pinDir: string): void {
  try {
    updateState(pinDir, () => {});
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw system(`state directory ${STATE_DIR}: cannot write ${statePath(pinDir)} (${code}: ${errMessage(e).replace(/^\w+: /, '')}): refused before any map change, the maps keep the running config; free space there and apply again`, e);
  }
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
  rmSync(underlayStatePath(pinDir), { force: true });
  rmSync(statePath(pinDir).replace(/\.json$/, '.daemon.lock'), { force: true });
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
  writeAtomic(endpointStatesPath(pinDir), JSON.stringify(s, null, 2) + '\n');
}

/**
 * What `xvtep run` last saw of the underlay NIC (src/daemon/underlay.ts), in
 * its own file: only the daemon's main thread writes it.
 */
export interface UnderlayState {
  daemonPid: number;
  iface: string;
  /** up/down: the link's operational state; gone: no interface of that name; renamed: ours, under another name. */
  state: 'up' | 'down' | 'gone' | 'renamed';
  ifindex: number | null;
  renamedTo: string | null;
  mtu: number | null;
  addresses: string[];
  /** When state last changed (ISO time). */
  since: string;
  /** Edges seen since the daemon started, by kind. */
  changes: Record<UnderlayChange, number>;
}

export type UnderlayChange = 'down' | 'up' | 'gone' | 'renamed' | 'recreated' | 'mtu' | 'address';
export const UNDERLAY_CHANGES: readonly UnderlayChange[] = ['down', 'up', 'gone', 'renamed', 'recreated', 'mtu', 'address'];

export function underlayStatePath(pinDir: string): string {
  return statePath(pinDir).replace(/\.json$/, '.underlay.json');
}

export function readUnderlayState(pinDir: string): UnderlayState | null {
  try {
    return JSON.parse(readFileSync(underlayStatePath(pinDir), 'utf8')) as UnderlayState;
  } catch {
    return null;
  }
}

export function writeUnderlayState(pinDir: string, s: UnderlayState): void {
  writeAtomic(underlayStatePath(pinDir), JSON.stringify(s, null, 2) + '\n');
}

/**
 * The daemon's claim on a pin directory: a file created with O_EXCL holding
 * its pid, so two `xvtep run` started at the same instant cannot both pass
 * the "already running?" check (the state file's daemonPid is written too
 * late for that). A claim whose pid is dead is stale and taken over.
 * Returns null when claimed (or already ours), else the live owner's pid.
 */
export function claimDaemon(pinDir: string, pid: number, isAlive: (pid: number) => boolean): number | null {
  ensureStateDir();
  const path = statePath(pinDir).replace(/\.json$/, '.daemon.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeFileSync(fd, `${pid}\n`);
      } finally {
        closeSync(fd);
      }
      return null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner: number;
    try {
      owner = Number(readFileSync(path, 'utf8').trim());
    } catch {
      continue; // removed meanwhile: try again
    }
    if (owner === pid) return null;
    if (owner > 0 && isAlive(owner)) return owner;
    // stale (its daemon died without removing it), or not yet written by a racing claimant: only a dead pid is taken over
    if (owner > 0) rmSync(path, { force: true });
    else return -1;
  }
  return -1;
}

/** Gives the claim up (on exit), if it is still ours. */
export function releaseDaemon(pinDir: string, pid: number): void {
  const path = statePath(pinDir).replace(/\.json$/, '.daemon.lock');
  try {
    if (Number(readFileSync(path, 'utf8').trim()) === pid) unlinkSync(path);
  } catch {
    // gone already
  }
}
