// xvtep run: the worker process of its first apply (src/daemon/apply-worker.ts),
// forked as the command starts, so that node's start and the worker's module
// loading overlap the loading of the daemon's own modules (0.13-0.17 s at a
// load of 6) instead of following it. The daemon sends it the first apply's
// request (DaemonOptions.worker) and forks every later worker itself. A run
// that stops before (a usage error) leaves it nothing to do: it exits when
// its channel closes. Forked here, not in src/daemon: importing the daemon
// is the module loading this overlaps.
import type { ChildProcess } from 'node:child_process';

let early: ChildProcess | undefined;

export async function forkEarlyWorker(): Promise<void> {
  const { fork } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  // the file and stdio daemon.ts forks every apply worker with
  early = fork(fileURLToPath(new URL('../daemon/apply-worker.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  early.on('error', () => {}); // a worker that cannot start: the daemon forks its own (runApply)
}

/** The worker forked ahead, once. */
export function takeEarlyWorker(): ChildProcess | undefined {
  const w = early;
  early = undefined;
  return w;
}
