// Teardown of a bench/lib/topo.mjs lab in a test: every handle closed (one
// that throws does not stop the rest), the namespaces removed, and none of
// this lab's left behind.
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';
import { closeAll } from '../../bench/lib/topo.mjs';

interface Closable { close(): void }

/* eslint-disable @typescript-eslint/no-explicit-any */
export function destroyBenchLab(env: any, prefix: string, handles: (Closable | undefined)[]): void {
  closeAll(handles.filter((h): h is Closable => !!h).map((h) => () => h.close()).reverse());
  env?.lab.destroy();
  const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith(`${prefix}-`));
  expect(left).toEqual([]);
}
