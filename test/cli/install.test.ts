// Installed like a tool: `npm pack` ships what runs and nothing else, `npm
// install -g --prefix DIR` builds the addon against the system libbpf, and
// the installed command attaches in a namespace lab from a directory that
// is not the checkout (it finds its BPF objects next to itself).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { root } from '../helpers/fixtures.js';
import { describeKernel } from '../helpers/kernel.js';
import { VtepLab } from '../helpers/vtep-lab.js';

const INSTALL_TIMEOUT = 600_000;

describeKernel('npm pack, npm install -g, the installed xvtep', () => {
  let L: VtepLab;
  let tmp: string;
  let tgz: string;
  let bin: string;
  const sh = (cmd: string, args: string[], opts: { cwd?: string; timeout?: number } = {}) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd ?? tmp, timeout: opts.timeout ?? 60_000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status ?? r.signal}: ${r.stderr}`);
    return r.stdout;
  };
  // npm pack and install take a minute or more: spawned, not spawnSync, so the
  // worker keeps answering vitest meanwhile
  const shAsync = (cmd: string, args: string[], opts: { cwd?: string; timeout?: number } = {}) => new Promise<string>((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: opts.cwd ?? tmp, timeout: opts.timeout ?? 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    p.once('error', reject);
    p.once('close', (code, sig) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code ?? sig}: ${err}`))));
  });
  const installed = (args: string[], ns = L.a) => spawnSync('ip', ['netns', 'exec', ns, bin, ...args], { encoding: 'utf8', cwd: tmp, timeout: 60_000 });

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'xvtep-install-'));
    L = new VtepLab('inst');
  });
  afterAll(() => {
    if (bin && existsSync(bin)) spawnSync(bin, ['detach', '--pin-dir', L.pinDir]);
    L?.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the tarball holds the compiled CLI, the BPF objects, the addon sources and the unit, and nothing else', async () => {
    await shAsync('npm', ['pack', '--pack-destination', tmp, '--loglevel=error'], { cwd: root, timeout: 300_000 });
    tgz = join(tmp, readdirSync(tmp).find((f) => f.endsWith('.tgz'))!);
    const files = sh('tar', ['tzf', tgz]).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    for (const f of ['bin/xvtep', 'bin/package.json', 'dist/bundle/xvtep.cjs', 'dist/bundle/xvtep.cjs.cache', 'dist/cli/main.js', 'dist/datapath/datapath.js', 'build/bpf/xvtep.bpf.o', 'build/bpf/count.bpf.o',
      'native/binding.gyp', 'native/src/addon.cc', 'native/src/probe_ops.cc', 'contrib/xvtep.service', 'package.json']) {
      expect(files).toContain(f);
    }
    const allowed = /^(bin\/xvtep|bin\/package\.json|dist\/bundle\/xvtep\.cjs(\.cache)?|dist\/.+\.js|build\/bpf\/[a-z]+\.bpf\.o|native\/binding\.gyp|native\/src\/.+\.(cc|h)|contrib\/xvtep\.service|package\.json|README\.md)$/;
    expect(files.filter((f) => !allowed.test(f))).toEqual([]);
    // no tests, benchmarks, sources or build leftovers
    expect(files.some((f) => /^(test|bench|src|scripts)\//.test(f) || f.endsWith('.map') || f.startsWith('native/build'))).toBe(false);
  }, 300_000);

  it('installs into a prefix, building the addon against the system libbpf', async () => {
    const prefix = join(tmp, 'prefix');
    await shAsync('npm', ['install', '-g', '--prefix', prefix, tgz, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { timeout: INSTALL_TIMEOUT });
    bin = join(prefix, 'bin', 'xvtep');
    expect(existsSync(join(prefix, 'lib', 'node_modules', 'xvtep', 'native', 'build', 'Release', 'xvtep_native.node'))).toBe(true);
    const v = spawnSync(bin, ['--version'], { encoding: 'utf8', cwd: tmp });
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  }, INSTALL_TIMEOUT);

  it('the installed doctor and attach work from another directory: traffic crosses, status and detach too', () => {
    const d = installed(['doctor', '-j', '--pin-dir', L.pinDir]);
    expect(d.stderr).toBe('');
    expect((JSON.parse(d.stdout) as Array<{ status: string }>).filter((c) => c.status === 'fail')).toEqual([]);
    expect(d.status).toBe(0);
    const a = installed(['attach', '--underlay', 'ua', '--address', '192.0.2.1', '--vni', '42', '--endpoint', 'epa', '--peer', '192.0.2.2', '--pin-dir', L.pinDir]);
    expect(a.status, a.stderr).toBe(0);
    expect(L.lab.ping(L.c, '198.51.100.2', 3)).toBe(true);
    // the edit commands run the bundle (docs/cli.md), installed like the rest
    const add = installed(['fdb', 'add', '02:00:00:00:1e:01', 'vni', '42', 'dst', '192.0.2.2', '--pin-dir', L.pinDir]);
    expect(add.status, add.stderr).toBe(0);
    expect(installed(['fdb', 'show', 'vni', '42', '--pin-dir', L.pinDir]).stdout).toContain('02:00:00:00:1e:01 vni 42 dst 192.0.2.2 static');
    const s = JSON.parse(installed(['status', '-j', '--pin-dir', L.pinDir]).stdout) as { underlay: { iface: string } };
    expect(s.underlay.iface).toBe('ua');
    const det = installed(['detach', '--pin-dir', L.pinDir]);
    expect(det.status, det.stderr).toBe(0);
    expect(L.lab.ping(L.c, '198.51.100.2', 1)).toBe(false);
  }, 120_000);
});
