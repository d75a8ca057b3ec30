// Runs an ES module snippet in a separate Node process against the built
// binding (dist/), to prove state survives or is shared across processes.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { root } from './fixtures.js';

export function runChild(code: string, timeoutMs = 30_000): unknown {
  const prelude = `import * as bpf from ${JSON.stringify(join(root, 'dist', 'bpf', 'index.js'))};\n`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', prelude + code], { encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`child failed (${r.status ?? r.signal}): ${r.stderr.trim()}`);
  const last = r.stdout.trim().split('\n').pop() ?? 'null';
  return JSON.parse(last);
}

/**
 * Same, with every capability dropped (setpriv from util-linux). The uid
 * stays 0 so the checkout stays readable wherever CI cloned it.
 */
export function runChildUnprivileged(code: string, timeoutMs = 30_000): unknown {
  const prelude = `import * as bpf from ${JSON.stringify(join(root, 'dist', 'bpf', 'index.js'))};\n`;
  const r = spawnSync('setpriv', ['--bounding-set=-all', '--inh-caps=-all', '--ambient-caps=-all',
    process.execPath, '--input-type=module', '-e', prelude + code], { encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`child failed (${r.status ?? r.signal}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? 'null');
}
