// `ip -o monitor OBJECT`: netlink notifications of this netns as text lines,
// for the daemon's watchers. Restarted (at most every 5 s) when it exits,
// which is logged: until then the watcher's own periodic check is all there is.
// Runs under `setpriv --pdeathsig`: a SIGKILLed daemon must not leave it
// behind (it would only notice at its next write, and keep a deleted netns
// alive meanwhile).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Log } from './bringup.js';

const RESTART_MS = 5000;

export interface IpMonitor {
  close(): void;
}

/** onRestart: called after a restart, for events that went by while it was down. */
export function ipMonitor(object: 'link' | 'route' | 'link address', onLine: (line: string) => void, log: Log, meanwhile: string, onRestart: () => void): IpMonitor {
  let child: ChildProcess | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const start = () => {
    if (closed) return;
    const started = Date.now();
    const c = spawn('setpriv', ['--pdeathsig', 'TERM', '--', 'ip', '-o', 'monitor', ...object.split(' ')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let err = '';
    createInterface({ input: c.stdout! }).on('line', onLine);
    c.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-500)));
    c.on('error', (e) => log(`ip monitor ${object}: ${e.message}`));
    c.on('close', (code, signal) => {
      if (child !== c) return;
      child = null;
      if (closed) return;
      const wait = Math.max(0, RESTART_MS - (Date.now() - started));
      log(`ip monitor ${object} exited (${signal ?? `code ${code}`}${err.trim() ? `: ${err.trim()}` : ''}): ${meanwhile} until it restarts in ${(wait / 1000).toFixed(1)} s`);
      timer = setTimeout(() => {
        start();
        onRestart();
      }, wait);
      timer.unref();
    });
  };
  start();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      const c = child;
      child = null;
      if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    },
  };
}
