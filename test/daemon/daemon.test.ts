// xvtep run: metrics (promtool-clean), reload on file change (saved by
// rename) and SIGHUP, a broken file keeps the old state and is reported,
// ageing, SIGTERM leaves the data path, a restart adopts it (same programs,
// counters continue), --detach-on-exit removes it.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { VtepLab, exited, waitFor } from '../helpers/vtep-lab.js';
import { metricValue } from '../helpers/prom.js';

interface Status {
  interfaces: Array<{ iface: string; progId: number; linkId: number }>;
  vnis: Array<{ vni: number }>;
  config: { generation: number; reloads: number; reloadFailures: number; lastReload: { ok: boolean; trigger: string; error?: string } };
  daemon: { pid: number | null };
}


/** The daemon's config-apply children (it also runs `ip monitor` watchers). */
function applyChildren(pid: number): number[] {
  const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return kids.filter((k) => {
    try {
      return readFileSync(`/proc/${k}/cmdline`, 'utf8').includes('apply-worker');
    } catch {
      return false; // gone
    }
  });
}

describeKernel('xvtep run', () => {
  let L: VtepLab;
  let cfgPath: string;
  const port = 20000 + (process.pid % 20000);
  const scrape = () => L.lab.exec(L.a, 'curl', '-sf', `http://127.0.0.1:${port}/metrics`);
  const saveByRename = (doc: unknown) => {
    const tmp = `${cfgPath}.swp`;
    writeFileSync(tmp, typeof doc === 'string' ? doc : JSON.stringify(doc));
    renameSync(tmp, cfgPath);
  };
  const status = () => L.json<Status>('status');
  const waitStatus = (pred: (s: Status) => boolean, what: string) => waitFor(() => pred(status()), 15_000, () => `timed out waiting for ${what}: ${JSON.stringify(status().config)}`);

  beforeAll(() => {
    L = new VtepLab('dmn');
    L.endpoint('epa2', 'ca2');
    cfgPath = L.file('xvtep.json', L.config({ metricsPort: port }));
  });
  afterAll(() => L?.destroy());

  let firstProgIds: number[] = [];
  let rxBefore = 0;
  let first: { log: () => string } | undefined;

  it('attaches, serves metrics that promtool accepts, and counts per VNI', async () => {
    const d = await L.daemon(cfgPath);
    first = d;
    expect(L.lab.ping(L.c, '198.51.100.2', 3)).toBe(true);
    const m = scrape();
    expect(metricValue(m, 'xvtep_vni_receive_packets_total', 'vni="42"')).toBeGreaterThanOrEqual(3);
    expect(metricValue(m, 'xvtep_vni_transmit_packets_total', 'vni="42"')).toBeGreaterThanOrEqual(3);
    expect(metricValue(m, 'xvtep_drop_packets_total', 'reason="unknown_vni"')).toBe(0);
    expect(metricValue(m, 'xvtep_config_last_reload_successful')).toBe(1);
    expect(metricValue(m, 'xvtep_config_reloads_total')).toBe(1);
    expect(metricValue(m, 'xvtep_map_capacity', 'map="xv_fdb"')).toBe(65536);
    expect(metricValue(m, 'xvtep_vni_series_limit')).toBe(4096);
    expect(m).toMatch(/^xvtep_build_info\{version="[^"]+",layout_version="2",nodejs="v\d+/m);
    expect(m).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(m).not.toMatch(/_total_total/);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: m, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const s = status();
    expect(s.daemon.pid).toBe(d.proc.pid);
    const second = L.cli(['run', '-c', cfgPath]);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/already running \(pid \d+\)/);
    firstProgIds = s.interfaces.map((i) => i.progId);
  });

  it('reloads when the file is replaced by rename (editor save), debounced', async () => {
    saveByRename(L.config({ metricsPort: port, vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'] }, { vni: 44, endpoints: ['epa2'] }] }));
    await waitStatus((s) => s.vnis.some((v) => v.vni === 44), 'VNI 44');
    const s = status();
    expect(s.config).toMatchObject({ generation: 2, lastReload: { ok: true, trigger: 'file change' } });
    // a second save through the same directory watch still works
    saveByRename(L.config({ metricsPort: port }));
    await waitStatus((x) => !x.vnis.some((v) => v.vni === 44), 'VNI 44 removed');
    expect(status().interfaces.some((i) => i.iface === 'epa2')).toBe(false);
  });

  it('reloads on SIGHUP', async () => {
    const before = status().config.reloads;
    const pid = status().daemon.pid!;
    process.kill(pid, 'SIGHUP');
    await waitStatus((s) => s.config.reloads === before + 1 && s.config.lastReload.trigger === 'SIGHUP', 'SIGHUP reload');
  });

  it('a config apply process that dies is reported as a failed reload, and the daemon applies the file once more (the kill took the rollback journal)', async () => {
    const before = status().config;
    const pid = status().daemon.pid!;
    const logFrom = first!.log().length;
    // Each apply runs in a child of the daemon: kill it as soon as it exists.
    const children = () => applyChildren(pid);
    process.kill(pid, 'SIGHUP');
    let child: number | undefined;
    await waitFor(() => (child = children()[0]) !== undefined, 10_000, () => 'no apply process appeared after SIGHUP');
    process.kill(child!, 'SIGKILL');
    await waitFor(() => /reload \(SIGHUP\): config apply worker exited with signal SIGKILL and no answer; the maps may be half-applied: applying the file again/.test(first!.log().slice(logFrom)), 15_000, () => `no report of the lost apply: ${first!.log().slice(logFrom)}`);
    await waitStatus((x) => x.config.reloads === before.reloads + 2, 'the apply after the killed one');
    // the killed apply counts as failed, the one after it succeeded
    expect(status().config).toMatchObject({ reloadFailures: before.reloadFailures + 1, generation: before.generation + 1, lastReload: { ok: true, trigger: 'SIGHUP, again after a killed apply' } });
    expect(metricValue(scrape(), 'xvtep_config_reload_failures_total')).toBe(before.reloadFailures + 1);
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
    process.kill(pid, 'SIGHUP');
    await waitStatus((x) => x.config.reloads === before.reloads + 3 && x.config.lastReload.ok, 'the next reload');
    expect(status().config.reloadFailures).toBe(before.reloadFailures + 1);
  });

  it('a running apply finishes through SIGTERM, SIGINT and SIGHUP (a stop sent to the whole group)', async () => {
    const before = status().config;
    const pid = status().daemon.pid!;
    const children = () => applyChildren(pid);
    // Signals it handles (SigCgt bit n-1). Node itself catches SIGINT and SIGTERM from its first
    // instruction; SIGHUP only once the apply process installed its handlers, before any map write.
    const catches = (p: number, sig: number) => {
      try {
        const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? '0';
        return (BigInt(`0x${mask}`) >> BigInt(sig - 1)) & 1n ? true : false;
      } catch {
        return false; // gone
      }
    };
    // 20,000 entries: an apply long enough to be signalled while it runs
    const hex = (n: number) => n.toString(16).padStart(2, '0');
    const fdb = Array.from({ length: 20_000 }, (_, i) => ({ mac: `02:ee:00:${hex(i >> 8)}:${hex(i & 255)}:01`, remote: '192.0.2.2' }));
    saveByRename(L.config({ metricsPort: port, vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'], fdb }] }));
    let child: number | undefined;
    await waitFor(() => (child = children()[0]) !== undefined, 10_000, () => 'no apply process appeared after the file changed');
    const end = Date.now() + 10_000;
    while (!catches(child!, 1) && Date.now() < end) await new Promise((r) => setTimeout(r, 1));
    expect(catches(child!, 1), 'the apply process never got past start-up').toBe(true);
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.kill(child!, sig);
    await waitStatus((x) => x.config.reloads === before.reloads + 1, 'the reload');
    const after = status().config;
    expect(after, after.lastReload.error).toMatchObject({ reloadFailures: before.reloadFailures, generation: before.generation + 1, lastReload: { ok: true, trigger: 'file change' } });
    expect(metricValue(scrape(), 'xvtep_fdb_entries', 'type="static"')).toBeGreaterThanOrEqual(20_000);
    saveByRename(L.config({ metricsPort: port }));
    await waitStatus((x) => x.config.reloads === before.reloads + 2 && x.config.lastReload.ok, 'the default config again');
  });

  it('a broken file is refused, reported in status and metrics, and the old state keeps serving', async () => {
    const before = status().config;
    saveByRename('{"underlay": {"interface": "ua"}, "vnis": [{"vni": 0, "endpoints": ["epa"]}]}');
    await waitStatus((s) => s.config.reloadFailures === before.reloadFailures + 1, 'a failed reload');
    const s = status();
    expect(s.config.lastReload).toMatchObject({ ok: false, trigger: 'file change' });
    expect(s.config.lastReload.error).toMatch(/vnis\[0\]\.vni/);
    expect(s.config.generation).toBe(before.generation);
    const m = scrape();
    expect(metricValue(m, 'xvtep_config_last_reload_successful')).toBe(0);
    expect(metricValue(m, 'xvtep_config_reload_failures_total')).toBe(before.reloadFailures + 1);
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
    saveByRename(L.config({ metricsPort: port }));
    await waitStatus((x) => x.config.lastReload.ok, 'a good reload');
    expect(metricValue(scrape(), 'xvtep_config_last_reload_successful')).toBe(1);
  });

  it('ages learned entries out after the VNI\'s ageingSeconds', async () => {
    saveByRename(L.config({ metricsPort: port, vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'], ageingSeconds: 1 }] }));
    await waitStatus((s) => s.config.lastReload.ok && s.config.generation >= 4, 'ageing config');
    expect(L.lab.ping(L.c, '198.51.100.2', 1)).toBe(true);
    const learned = () => L.json<Array<{ type: string }>>('fdb', 'show').filter((r) => r.type === 'learned').length;
    expect(learned()).toBeGreaterThan(0);
    await waitFor(() => learned() === 0, 10_000, () => 'learned entries did not age out');
  });

  it('SIGTERM leaves the data path running; a new daemon adopts it without reload or counter reset', async () => {
    saveByRename(L.config({ metricsPort: port }));
    await waitStatus((s) => s.config.lastReload.ok && s.config.generation >= 5, 'default config');
    const pid = status().daemon.pid!;
    rxBefore = metricValue(scrape(), 'xvtep_vni_receive_packets_total', 'vni="42"')!;
    const proc = [...L.daemons][0]!;
    process.kill(pid, 'SIGTERM');
    expect(await exited(proc)).toBe(0);
    expect(status().daemon.pid).toBe(null);
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
    await L.daemon(cfgPath);
    const s = status();
    expect(s.interfaces.map((i) => i.progId)).toEqual(firstProgIds);
    const rx = metricValue(scrape(), 'xvtep_vni_receive_packets_total', 'vni="42"')!;
    expect(rx).toBeGreaterThanOrEqual(rxBefore + 2);
  });

  it('caps per-VNI series at metrics.maxVniSeries and reports the cap', async () => {
    saveByRename(L.config({ metrics: { enabled: true, listen: `127.0.0.1:${port}`, maxVniSeries: 1 }, vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'] }, { vni: 44, endpoints: ['epa2'] }] }));
    await waitStatus((s) => s.vnis.some((v) => v.vni === 44), 'VNI 44');
    // The maps (and so status) change inside the reload; the new cap applies when it completes.
    let m = scrape();
    for (let i = 0; i < 50 && metricValue(m, 'xvtep_vni_series_limit') !== 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
      m = scrape();
    }
    expect(metricValue(m, 'xvtep_vni_receive_packets_total', 'vni="42"')).toBeDefined();
    expect(metricValue(m, 'xvtep_vni_receive_packets_total', 'vni="44"')).toBeUndefined();
    expect(metricValue(m, 'xvtep_vni_receive_packets_total', 'vni="other"')).toBe(0);
    expect(metricValue(m, 'xvtep_vnis_over_series_limit')).toBe(1);
    expect(metricValue(m, 'xvtep_vni_series_limit')).toBe(1);
  });

  it('--detach-on-exit removes the data path on SIGTERM', async () => {
    const old = [...L.daemons][0]!;
    old.kill('SIGTERM');
    await exited(old);
    const d = await L.daemon(cfgPath, ['--detach-on-exit']);
    d.proc.kill('SIGTERM');
    const code = await exited(d.proc);
    expect(code, `exit ${code}, signal ${d.proc.signalCode}: ${d.log()}`).toBe(0);
    expect(L.cli(['status', '--pin-dir', L.pinDir]).code).toBe(2);
    expect(L.lab.tryExec(L.a, 'ip', '-d', 'link', 'show', 'ua').out).not.toMatch(/prog\/xdp/);
  });
});
