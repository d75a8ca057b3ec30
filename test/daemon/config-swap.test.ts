// xvtep run and the config file's trust (issue 15): a config reached through
// a symlink that is swapped atomically (a Kubernetes ConfigMap volume:
// xvtep.json -> ..data/xvtep.json, ..data -> ..<timestamp>) is reloaded like
// an in-place edit; a file that turns group-writable is refused at the next
// reload (reported, the running state kept); the state directory the daemon
// finds with loose modes is tightened to 0700 and its files are 0600.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { VtepLab, waitFor } from '../helpers/vtep-lab.js';

interface Status {
  config: { generation: number; reloads: number; reloadFailures: number; lastReload: { ok: boolean; trigger: string; error?: string } | null };
}
const mode = (p: string) => statSync(p).mode & 0o7777;

describeKernel('config through an atomically swapped symlink (ConfigMap)', () => {
  let L: VtepLab;
  let cm = '', stateDir = '';
  const savedStateDir = process.env.XVTEP_STATE_DIR;
  const status = () => L.json<Status>('status');
  const doc = (extraMac?: string) => L.config({
    vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'], fdb: extraMac ? [{ mac: extraMac, remote: '192.0.2.9' }] : [] }],
  });
  // what kubelet's atomic writer does: a new timestamped directory, a new ..data link renamed over the old one
  let version = 0;
  const publish = (content: unknown, fileMode = 0o644) => {
    const dir = join(cm, `..2026_12_06_${++version}`);
    mkdirSync(dir, { mode: 0o755 });
    writeFileSync(join(dir, 'xvtep.json'), JSON.stringify(content));
    chmodSync(join(dir, 'xvtep.json'), fileMode);
    symlinkSync(`..2026_12_06_${version}`, join(cm, '..data_tmp'));
    renameSync(join(cm, '..data_tmp'), join(cm, '..data'));
    return dir;
  };

  beforeAll(() => {
    // a state directory that exists with loose modes, as a careless package would leave it
    stateDir = join(mkdtempSync(join(tmpdir(), 'xvtep-swap-')), 'state');
    mkdirSync(stateDir, { mode: 0o755 });
    chmodSync(stateDir, 0o755);
    process.env.XVTEP_STATE_DIR = stateDir;
    L = new VtepLab('swp', { ipv6: false });
    cm = join(L.tmp, 'configmap');
    mkdirSync(cm, { mode: 0o755 });
    publish(doc());
    symlinkSync('..data/xvtep.json', join(cm, 'xvtep.json'));
  });
  afterAll(() => {
    L?.destroy();
    rmSync(join(stateDir, '..'), { recursive: true, force: true });
    if (savedStateDir === undefined) delete process.env.XVTEP_STATE_DIR;
    else process.env.XVTEP_STATE_DIR = savedStateDir;
  });

  it('a swap of ..data reloads; the state directory was tightened to 0700 and holds 0600 files', async () => {
    await L.daemon(join(cm, 'xvtep.json'));
    expect(mode(stateDir)).toBe(0o700);
    const files = readdirSync(stateDir);
    expect(files.length).toBeGreaterThanOrEqual(2); // the manager state and the endpoint watcher's
    for (const f of files) expect(mode(join(stateDir, f)), f).toBe(0o600);

    const g = status().config.generation;
    publish(doc('02:15:00:00:00:01'));
    await waitFor(() => status().config.generation > g, 10_000, () => `no reload after the swap: ${JSON.stringify(status().config)}`);
    expect(status().config.lastReload).toMatchObject({ ok: true, trigger: 'file change' });
    expect(L.ok('fdb', 'show', 'vni', '42')).toMatch(/^02:15:00:00:00:01 vni 42 dst 192\.0\.2\.9 static$/m);
  });

  it('a published file others can write is refused at the reload, reported, and the running state is kept', async () => {
    const before = status().config;
    // group-writable, as a ConfigMap with defaultMode 0664 would publish it
    publish(doc('02:15:00:00:00:02'), 0o664);
    await waitFor(() => status().config.reloadFailures > before.reloadFailures, 10_000, () => `not refused: ${JSON.stringify(status().config)}`);
    const s = status().config;
    expect(s.lastReload?.ok).toBe(false);
    expect(s.lastReload?.error).toMatch(/writable by group \(mode 0664\): chmod go-w .*xvtep\.json \(or --insecure-config-perms in a lab\)/);
    expect(s.generation).toBe(before.generation);
    const fdb = L.ok('fdb', 'show', 'vni', '42');
    expect(fdb).toMatch(/02:15:00:00:00:01/);
    expect(fdb).not.toMatch(/02:15:00:00:00:02/);
  });
});
