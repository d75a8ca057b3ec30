// The state directory on a full filesystem during a reload (issue 15,
// faults): XVTEP_STATE_DIR on a 256 KiB tmpfs, filled with a file. A reload
// (SIGHUP, the file watcher) and `xvtep attach` are refused before any map
// changes, in one line naming the directory and ENOSPC; the metrics count
// the failure although the state file cannot; the maps still equal the old
// file; once space returns the next reload applies the new file, and the
// failure is folded into the state file's counters. A stream c -> b in the
// VNI both files keep loses nothing meanwhile.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { metricValue } from '../helpers/prom.js';
import { startStream } from '../helpers/stream.js';
import { VtepLab, waitFor } from '../helpers/vtep-lab.js';
import { recordSummary } from '../reliability/summary.js';

interface Status {
  config: { reloads: number; reloadFailures: number; lastReload: { ok: boolean; trigger: string; error?: string } | null };
}

const PPS = 500;
const mac = (vni: number, i: number) => `02:${vni.toString(16).padStart(2, '0')}:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const bulk = (vni: number, from: number, n: number) => Array.from({ length: n }, (_, i) => ({ mac: mac(vni, from + i), remote: '192.0.2.2' }));

describeKernel('the state directory on a full filesystem during a reload', () => {
  let L: VtepLab;
  let log: () => string;
  let daemonPid = 0;
  let stateDir = '';
  const savedStateDir = process.env.XVTEP_STATE_DIR;
  const port = 20000 + ((process.pid + 11) % 20000);
  let cfgPath = '', fileA = '', fileB = '';
  const rows: Array<Record<string, unknown>> = [];
  const scrape = () => L.lab.exec(L.a, 'curl', '-sf', `http://127.0.0.1:${port}/metrics`);
  const fill = () => spawnSync('dd', ['if=/dev/zero', `of=${join(stateDir, 'filler')}`, 'bs=4096'], { encoding: 'utf8' });

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'xvtep-full-'));
    spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', stateDir], { stdio: 'inherit' });
    process.env.XVTEP_STATE_DIR = stateDir; // the daemon, its apply children and the CLI
    L = new VtepLab('sfl', { ipv6: false });
    L.endpoint('epa2', 'ca2');
    const base = L.config({ metricsPort: port });
    fileA = JSON.stringify({ ...base, vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'], fdb: bulk(42, 0, 200) }] });
    fileB = JSON.stringify({ ...base, vnis: [
      { vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'], fdb: bulk(42, 100, 200) },
      { vni: 43, endpoints: ['epa2'], peers: ['192.0.2.2'], fdb: bulk(43, 0, 50) },
    ] });
    cfgPath = L.file('xvtep.json', fileA);
    L.file('a.json', fileA);
    L.file('b.json', fileB);
    const d = await L.daemon(cfgPath);
    log = d.log;
    daemonPid = d.proc.pid!;
  });
  afterAll(() => {
    recordSummary('state-full', rows);
    L?.destroy();
    spawnSync('umount', [stateDir]);
    rmSync(stateDir, { recursive: true, force: true });
    if (savedStateDir === undefined) delete process.env.XVTEP_STATE_DIR;
    else process.env.XVTEP_STATE_DIR = savedStateDir;
  });

  it('a reload is refused before any map change, reported in one line and in the metrics; the next one after space returns applies', async () => {
    const s = await startStream(L.c, L.b, '198.51.100.2', 5311, 100_000, PPS, { idleSeconds: 4 });
    await new Promise((r) => setTimeout(r, 500));
    const before = L.json<Status>('status').config;
    expect(fill().stderr).toMatch(/No space left on device/);

    writeFileSync(cfgPath, fileB);
    process.kill(daemonPid, 'SIGHUP');
    const refused = /reload \((SIGHUP|file change)\) failed, still serving the previous config: state directory \S+: cannot write \S+ \(ENOSPC: [^)]*\): refused before any map change, the maps keep the running config; free space there and apply again/;
    await waitFor(() => refused.test(log()), 15_000, () => `no refusal: ${log().split('\n').slice(-5).join('\n')}`);
    await new Promise((r) => setTimeout(r, 1000)); // both triggers done
    // the maps are the old file's, entry for entry
    expect(L.ok('config', 'diff', join(L.tmp, 'a.json'))).toBe('no changes\n');
    // the state file could not say it; the metrics do
    const m = scrape();
    expect(metricValue(m, 'xvtep_config_last_reload_successful')).toBe(0);
    const failedNow = metricValue(m, 'xvtep_config_reload_failures_total')!;
    expect(failedNow).toBeGreaterThan(before.reloadFailures);
    expect(L.json<Status>('status').config.reloads).toBe(before.reloads);
    // attach from the command line: the same line, exit 2, nothing applied
    const at = L.cli(['attach', '-c', join(L.tmp, 'b.json')]);
    expect(at.code).toBe(2);
    expect(at.stderr.trim().split('\n')).toHaveLength(1);
    expect(at.stderr).toMatch(/state directory \S+: cannot write \S+ \(ENOSPC: [^)]*\): refused before any map change/);
    expect(L.ok('config', 'diff', join(L.tmp, 'a.json'))).toBe('no changes\n');
    // no partial temporary file left behind to hold space
    expect(readdirSync(stateDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    rmSync(join(stateDir, 'filler'));
    process.kill(daemonPid, 'SIGHUP');
    await waitFor(() => /reload \(SIGHUP\): \d+ map change/.test(log()), 15_000, () => `no reload after space returned: ${log().split('\n').slice(-5).join('\n')}`);
    expect(L.ok('config', 'diff', join(L.tmp, 'b.json'))).toBe('no changes\n');
    const after = L.json<Status>('status').config;
    expect(after.lastReload?.ok).toBe(true);
    // the unrecorded failures are counted in the state file now, as in the metrics
    expect(after.reloadFailures).toBe(failedNow);
    expect(metricValue(scrape(), 'xvtep_config_reload_failures_total')).toBe(failedNow);
    expect(metricValue(scrape(), 'xvtep_config_last_reload_successful')).toBe(1);

    s.stop();
    const r = await s.done;
    rows.push({ refusedReloads: failedNow - before.reloadFailures, sent: r.sent, received: r.received, lost: r.sent - r.received });
    expect(r.received).toBeGreaterThan(PPS);
    expect(r.sent - r.received).toBe(0);
  }, 120_000);
});
