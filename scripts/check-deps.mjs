#!/usr/bin/env node
// The fresh-machine self-check (run by .ci/run before the tests): every system
// file the builds read and every command the code, tests, benchmarks and demo
// run must come from a Debian package that scripts/ensure-deps.sh installs
// (with its dependencies) or from the base system. A machine with something
// installed by hand otherwise hides the gap until a fresh machine meets it.
//
// Headers come from the compilers themselves (clang/g++ -M: full lists, system
// headers included, not -MMD's). Commands come from the sources: every quoted
// single word in JS/TS and every word of the shell scripts and Makefile that
// names an executable on PATH; Python imports from the Python files. Each is
// owned by a package (dpkg -S), and that package must be in the allowed set.
//
// No package does this: dpkg/apt answer "who owns this file" and "what does
// this depend on"; what the project reads and runs only the project knows.
//
// Usage: node scripts/check-deps.mjs [--drop PKG]... [--extra-source FILE]... [-v]
//   --drop PKG          check as if ensure-deps.sh did not list PKG (shows the check bites)
//   --extra-source FILE also read this C file's headers (compiled like a BPF program)
// Exit 0 when every file and command is covered, 1 otherwise (one line each).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, existsSync, realpathSync, accessSync, constants } from 'node:fs';
import { join, dirname, delimiter, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

const args = process.argv.slice(2);
const drop = new Set();
const extraSources = [];
let verbose = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--drop' && args[i + 1]) drop.add(args[++i]);
  else if (a === '--extra-source' && args[i + 1]) extraSources.push(args[++i]);
  else if (a === '-v') verbose = true;
  else { console.error(`check-deps: unknown argument '${a}' (see the header of scripts/check-deps.mjs)`); process.exit(1); }
}

// Prerequisites the README names and ensure-deps.sh checks but does not install.
const PREREQUISITES = new Set(['nodejs']);
// Quoted words in the sources that are also names of executables but are not
// run as commands (config values, field names). Each needs its reason.
const NOT_COMMANDS = new Map([
]);

function sh(cmd, argv, opts = {}) {
  return execFileSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

// ---- what ensure-deps.sh installs, and everything that pulls in ----
function ensureDepsPackages() {
  const text = readFileSync('scripts/ensure-deps.sh', 'utf8');
  const m = /PKGS=\(([^)]*)\)/.exec(text);
  if (!m) { console.error('check-deps: no PKGS=(...) list in scripts/ensure-deps.sh'); process.exit(1); }
  return m[1].split(/\s+/).filter(Boolean);
}

const installed = new Map(); // name → { essential, priority, depends: string[][], provides: string[] }
for (const line of sh('dpkg-query', ['-W', '-f', '${Package}\t${db:Status-Abbrev}\t${Essential}\t${Priority}\t${Pre-Depends}, ${Depends}\t${Provides}\n']).split('\n')) {
  if (!line) continue;
  const [name, status, essential, priority, deps, provides] = line.split('\t');
  if (!status.startsWith('ii')) continue;
  const alts = deps.split(',').map((d) => d.trim()).filter(Boolean)
    .map((d) => d.split('|').map((x) => x.trim().split(/[\s(:]/)[0]).filter(Boolean));
  installed.set(name, { essential: essential === 'yes', priority, depends: alts, provides: provides.split(',').map((p) => p.trim().split(/[\s(]/)[0]).filter(Boolean) });
}
const providers = new Map();
for (const [name, p] of installed) for (const v of p.provides) (providers.get(v) ?? providers.set(v, []).get(v)).push(name);

function closure(names) {
  const seen = new Set();
  const todo = [...names];
  while (todo.length) {
    const n = todo.pop();
    const real = installed.has(n) ? [n] : (providers.get(n) ?? []);
    for (const r of real) {
      if (seen.has(r)) continue;
      seen.add(r);
      for (const alt of installed.get(r).depends) {
        // "a | b": whichever of them is installed satisfies it.
        const hit = alt.find((x) => installed.has(x) || providers.has(x));
        if (hit) todo.push(hit);
      }
    }
  }
  return seen;
}

const listed = ensureDepsPackages().filter((p) => !drop.has(p));
const base = [...installed].filter(([, p]) => p.essential || p.priority === 'required').map(([n]) => n);
const allowed = closure([...listed, ...base, ...PREREQUISITES]);
// A dropped package stays allowed only if something else still pulls it in.

// ---- who owns a path ----
const ownerCache = new Map();
function owner(path) {
  if (ownerCache.has(path)) return ownerCache.get(path);
  const candidates = new Set([path]);
  try { candidates.add(realpathSync(path)); } catch { /* keep the path as given */ }
  // usrmerge: dpkg knows some files under /bin, /sbin, /lib only.
  for (const c of [...candidates]) {
    if (/^\/usr\/(s?bin|lib)\//.test(c)) candidates.add(c.slice(4));
    else if (/^\/(s?bin|lib)\//.test(c)) candidates.add('/usr' + c);
  }
  let pkgs = null;
  for (const c of candidates) if (!pkgs && dpkgFiles.has(c)) pkgs = dpkgFiles.get(c);
  for (const c of pkgs ? [] : candidates) {
    const r = spawnSync('dpkg-query', ['-S', c], { encoding: 'utf8' });
    if (r.status === 0) {
      // "pkg1, pkg2:amd64: /path" — diversions print other lines; take the owner lines.
      const line = r.stdout.split('\n').find((l) => l.endsWith(`: ${c}`) && !l.startsWith('diversion'));
      if (line) { pkgs = line.slice(0, line.length - c.length - 2).split(',').map((p) => p.trim().replace(/:.*$/, '')); break; }
    }
  }
  ownerCache.set(path, pkgs);
  return pkgs;
}

// One dpkg-query for many paths (a call each costs ~70 ms); owner() asks
// again, one by one, only for what this did not answer.
const dpkgFiles = new Map();
function prefetchOwners(paths) {
  const all = new Set();
  for (const p of paths) { all.add(p); try { all.add(realpathSync(p)); } catch { /* as given */ } }
  const r = spawnSync('dpkg-query', ['-S', ...all], { encoding: 'utf8', maxBuffer: 64 << 20 });
  for (const line of r.stdout.split('\n')) {
    const i = line.lastIndexOf(': /');
    if (i < 0 || line.startsWith('diversion')) continue;
    dpkgFiles.set(line.slice(i + 2), line.slice(0, i).split(',').map((x) => x.trim().replace(/:.*$/, '')));
  }
}

// ---- headers the builds read ----
const problems = [];
const checked = { headers: 0, commands: 0, modules: 0 };
function checkFile(path, what) {
  const pkgs = owner(path);
  if (!pkgs) { problems.push(`${path} (${what}): no Debian package owns it; install it from ensure-deps.sh or stop using it`); return; }
  if (!pkgs.some((p) => allowed.has(p))) {
    problems.push(`${path} (${what}) comes from ${pkgs.join(' or ')}, which scripts/ensure-deps.sh does not install (add it to PKGS)`);
  }
}

function depList(cmd, argv, opts = {}) {
  let out;
  try { out = sh(cmd, argv, opts); } catch (e) {
    const why = String(e.stderr ?? e.message).split('\n').find((l) => /error/.test(l)) ?? String(e.message).split('\n')[0];
    problems.push(`${cmd} -M ${argv.find((a) => /\.(c|cc)$/.test(a))}: ${why.trim()}`);
    return [];
  }
  return out.replace(/\\\n/g, ' ').split(/\s+/).filter((w) => w.startsWith('/') && !w.endsWith(':'));
}

const multiarch = sh('gcc', ['-dumpmachine']).trim();
const bpfFlags = ['-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-I', 'bpf/include', '-I', `/usr/include/${multiarch}`, '-M'];
function walk(dir, pred) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) { if (e.name !== 'node_modules' && e.name !== 'build' && !e.name.startsWith('.')) out.push(...walk(p, pred)); }
    else if (pred(p)) out.push(p);
  }
  return out;
}
const bpfSources = [...['bpf', 'test/fixtures', 'bench/bpf'].flatMap((d) => existsSync(d) ? walk(d, (p) => p.endsWith('.bpf.c')) : []), ...extraSources];
const headers = new Map();
for (const src of bpfSources) for (const h of depList('clang', [...bpfFlags, src])) if (!headers.has(h)) headers.set(h, src);

// The addon: node-gyp's own compile lines, with -M instead of -MMD, so system
// headers are listed too. Needs a configured native/build (make addon).
const depsDir = 'native/build/Release/.deps';
if (!existsSync(depsDir)) { console.error('check-deps: native/build is not configured; run `make addon` first'); process.exit(1); }
for (const d of walk(depsDir, (p) => p.endsWith('.o.d'))) {
  const first = readFileSync(d, 'utf8').split('\n')[0];
  const m = /^cmd_\S+ := (g\+\+|cc|gcc|c\+\+) (.*)$/.exec(first);
  if (!m) continue;
  const argv = m[2].match(/'[^']*'|\S+/g).map((a) => a.replace(/^'(.*)'$/, '$1'));
  const keep = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '-o' || argv[i] === '-MF') { i++; continue; }
    if (argv[i] === '-MMD' || argv[i] === '-c') continue;
    keep.push(argv[i]);
  }
  for (const h of depList(m[1], [...keep, '-M'].filter(Boolean), { cwd: 'native/build' })) {
    if (!headers.has(h)) headers.set(h, relative(root, d));
  }
}
prefetchOwners([...headers.keys()]);
for (const [h, from] of headers) {
  if (h.startsWith(root + '/') || h.startsWith(realpathSync(root) + '/')) continue;
  checked.headers++;
  checkFile(h, `read building ${from}`);
}

// ---- commands the code, tests, benchmarks and demo run ----
const PATH_DIRS = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
function onPath(word) {
  for (const d of PATH_DIRS) {
    const p = join(d, word);
    try { if (statSync(p).isFile()) { accessSync(p, constants.X_OK); return p; } } catch { /* next */ }
  }
  return null;
}
const codeFiles = ['src', 'test', 'bench', 'scripts', 'bin'].filter(existsSync)
  .flatMap((d) => walk(d, (p) => /\.(ts|mjs|js|cjs)$/.test(p) || p === 'bin/xvtep'));
const shellFiles = [...walk('scripts', (p) => p.endsWith('.sh')), '.ci/run'].filter(existsSync);
const words = new Map(); // word → first file it was seen in
const note = (w, f) => { if (/^[A-Za-z0-9][\w.+-]*$/.test(w) && !words.has(w)) words.set(w, f); };
// A shell line: the command words are the first of each pipeline stage, and
// what wrappers (ip netns exec NS, timeout N, setpriv ... --, env X=Y) run.
function shellCommands(line, f) {
  for (const stage of line.split(/&&|\|\||[;|(]|\$\(|`/)) {
    const w = stage.trim().split(/\s+/).filter((x) => !/^\w+=/.test(x));
    let i = 0;
    for (;;) {
      if (w[i] === 'ip' && w[i + 1] === 'netns' && w[i + 2] === 'exec') { note('ip', f); i += 4; continue; }
      if (w[i] === 'timeout') { i += 2; while (w[i]?.startsWith('-')) i++; continue; }
      if (['exec', 'sudo', 'nohup', 'command', 'env', 'time', 'then', 'do', 'else', '!'].includes(w[i])) { i++; continue; }
      if (w[i] === 'setpriv' || w[i] === 'taskset') { note(w[i], f); const dd = w.indexOf('--', i); if (dd < 0) break; i = dd + 1; continue; }
      break;
    }
    if (w[i]) note(w[i].replace(/^["']|["']$/g, ''), f);
  }
}
for (const f of codeFiles) {
  const text = readFileSync(f, 'utf8').replace(/^\s*\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
  // spawn('cmd', …), execFileSync('cmd', …), sh('cmd', …), run('cmd', …)
  for (const m of text.matchAll(/\b(?:spawn|spawnSync|execFile|execFileSync|sh|run)\(\s*(['"])([^'"]+)\1/g)) note(m[2], f);
  // exec-style calls take a shell line
  for (const m of text.matchAll(/\b(?:exec|execSync)\(\s*(['"`])([^'"`]+)\1/g)) shellCommands(m[2], f);
  // argument vectors that hand on to another command: 'exec', ns, 'cmd' / 'timeout', n, 'cmd' / '--', 'cmd'
  for (const m of text.matchAll(/['"](?:exec|timeout)['"],\s*[^,\]]+,\s*['"]([^'"]+)['"]/g)) note(m[1], f);
  for (const m of text.matchAll(/['"]--['"],\s*['"]([^'"]+)['"]/g)) note(m[1], f);
  // vectors spread into a spawn: ['ip', 'netns', …] and [cmd, ...] tables: a string first in an array
  for (const m of text.matchAll(/\[\s*(['"])([a-z][\w.+-]*)\1\s*,/g)) note(m[2], f);
}
for (const f of shellFiles) {
  const text = readFileSync(f, 'utf8');
  for (const line of text.split('\n')) { const l = line.replace(/(^|\s)#.*$/, ''); if (l.trim()) shellCommands(l, f); }
}
// Makefile: recipe lines, $(shell …), and tools named in variables (CLANG ?= clang)
if (existsSync('Makefile')) {
  const mk = readFileSync('Makefile', 'utf8');
  for (const line of mk.split('\n')) {
    if (line.startsWith('\t')) shellCommands(line.slice(1).replace(/^[@-]+/, '').replace(/\$\([A-Z_]+\)/g, ''), 'Makefile');
    for (const m of line.matchAll(/\$\(shell ([^)]*)\)/g)) shellCommands(m[1], 'Makefile');
    const v = /^[A-Z_]+\s*[?:]?=\s*([a-z][\w.+-]*)\s*$/.exec(line);
    if (v) note(v[1], 'Makefile');
  }
}
prefetchOwners([...words.keys()].map(onPath).filter(Boolean));
for (const [w, f] of words) {
  if (NOT_COMMANDS.has(w)) continue;
  let p = onPath(w);
  if (!p) continue;
  // npm's own bin directory (first on PATH under `npm exec`/`npx`): the locked
  // npm modules ensure-deps.sh installs, not a Debian package
  if (p.startsWith(join(root, 'node_modules') + '/')) continue;
  // The image's own interpreters (pyenv's python3) come first on PATH; Debian's
  // copy, which ensure-deps.sh installs, is what a machine without them runs.
  if (!owner(p) && ['/usr/bin/', '/usr/sbin/'].some((d) => existsSync(d + w))) p = ['/usr/bin/', '/usr/sbin/'].map((d) => d + w).find(existsSync);
  checked.commands++;
  checkFile(p, `command '${w}' run by ${f}`);
}

// ---- Python modules the helpers import ----
for (const f of ['test', 'bench', 'scripts'].filter(existsSync).flatMap((d) => walk(d, (p) => p.endsWith('.py')))) {
  const text = readFileSync(f, 'utf8');
  const mods = new Set();
  for (const m of text.matchAll(/^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w., ]+))/gm)) {
    for (const name of (m[1] ?? m[2]).split(',')) mods.add(name.trim().split(/[.\s]/)[0]);
  }
  for (const mod of mods) {
    const r = spawnSync('/usr/bin/python3', ['-c', `import ${mod}, sys; print(getattr(${mod}, '__file__', None) or '')`], { encoding: 'utf8' });
    if (r.status !== 0) { problems.push(`python module '${mod}' (imported by ${f}) is not installed`); continue; }
    const file = r.stdout.trim();
    if (!file) continue; // built into the interpreter
    checked.modules++;
    checkFile(file, `python module '${mod}' imported by ${f}`);
  }
}

for (const p of problems) console.error(`check-deps: ${p}`);
const summary = `check-deps: ${checked.headers} system headers, ${checked.commands} commands, ${checked.modules} python modules; ` +
  `${listed.length} packages from ensure-deps.sh${drop.size ? ` (dropped: ${[...drop].join(', ')})` : ''}`;
if (problems.length) { console.error(`${summary}: ${problems.length} not covered`); process.exit(1); }
console.log(`${summary}: all covered`);
if (verbose) for (const [w, f] of words) { const p = onPath(w); if (p && !NOT_COMMANDS.has(w)) console.log(`  ${w}\t${p}\t${(owner(p) ?? ['?']).join(',')}\t${f}`); }
