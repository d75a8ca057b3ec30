#!/usr/bin/env node
// The CLI's fast start (docs/cli.md): dist/cli/main.js and what it imports,
// commander included, bundled by esbuild into one CommonJS file,
// dist/bundle/xvtep.cjs, plus V8's code cache for it. A single
// `xvtep fdb replace` then reads two files instead of resolving ~60 ES
// modules and compiles almost nothing. zod, yaml and prom-client stay outside
// (required only by the commands that need them). bin/xvtep runs the bundle
// for the edit commands, -batch and completion only: the daemon forks
// dist/daemon/apply-worker.js by its path, so `run` and the rest run dist/.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const dir = 'dist/bundle', out = `${dir}/xvtep.cjs`;

// Built-in modules a single edit never calls, or calls late, but whose
// loading costs milliseconds at start (commander requires child_process at
// its top; node:net brings node:stream; node:crypto hashes state file names): in the bundle each is a
// module of forwarders that requires the real one on first call.
const LAZY = /^node:(child_process|crypto|net|http|readline)$/;
const require = createRequire(import.meta.url);
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: LAZY }, (a) => ({ path: a.path.slice('node:'.length), namespace: 'lazy-builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (a) => {
      const real = require(a.path);
      const fns = Object.keys(real).filter((k) => typeof real[k] === 'function' && /^[A-Za-z_$][\w$]*$/.test(k));
      return {
        loader: 'js',
        contents: `let m;\nconst load = () => (m ??= require(${JSON.stringify(a.path)}));\n` +
          fns.map((k) => `export function ${k}(...a) { return new.target ? Reflect.construct(load().${k}, a, new.target) : load().${k}.apply(this, a); }`).join('\n'),
      };
    });
  },
};
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: out,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // etcd3 finds its .proto files next to its own code: bundled, it looks in dist/
  external: ['zod', 'yaml', 'prom-client', 'etcd3'],
  plugins: [lazyBuiltins],
  // less to read and hash at every start; names stay for stack traces
  minifyWhitespace: true,
  minifySyntax: true,
  // the modules find build/ and package.json from their own URL
  define: { 'import.meta.url': '__xvtepUrl' },
  banner: { js: "const __xvtepUrl = require('node:url').pathToFileURL(__filename).href;" },
});

// The code cache holds what a run compiled: record one edit, as an operator
// would run it (it fails at the missing pin directory, after parsing).
const tmp = `${out}.cache.tmp`;
const r = spawnSync(process.execPath, ['bin/xvtep', 'fdb', 'replace', '02:00:00:00:00:01', 'vni', '1', 'dst', '192.0.2.1', '--pin-dir', '/nonexistent/xvtep-code-cache'], {
  env: { ...process.env, XVTEP_CODE_CACHE_OUT: tmp }, encoding: 'utf8',
});
if (r.status !== 2 || !/no xvtep state pinned here/.test(r.stderr)) {
  process.stderr.write(`bundle-cli: the recording run did not end as expected (exit ${r.status}): ${r.stderr}`);
  process.exit(1);
}
renameSync(tmp, `${out}.cache`);
