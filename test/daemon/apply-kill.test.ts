// The apply child of `xvtep run` SIGKILLed mid-apply (issue 15, faults): at
// each chosen step of a reload (XVTEP_TEST_KILL_AT, src/reconcile/fault.ts)
// the worker dies with its rollback journal, the daemon says so in one line
// and applies the file once more, which converges the maps from wherever the
// kill left them: afterwards `config diff` finds nothing to change, every
// pinned hook is live and no xvtep link is left attached without a pin.
// Meanwhile a 500 datagram/s stream c -> b in the VNI both files keep loses
// nothing (sent - received at the sockets).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { BIN, VtepLab, exited, waitFor } from '../helpers/vtep-lab.js';
import { forcedTcMode, withTcModeArgs } from '../helpers/tcmode.js';
import { TcFilter, ifindexOf } from '../../src/bpf/index.js';
import { Datapath, TC_HANDLE } from '../../src/datapath/index.js';
import { tcPriority } from '../../src/reconcile/index.js';
import { startStream } from '../helpers/stream.js';
import { recordSummary } from '../reliability/summary.js';

interface Status {
  interfaces: Array<{ iface: string; hook: string; attached: boolean }>;
  config: { reloadFailures: number; lastReload: { ok: boolean; trigger: string; error?: string } | null };
}

const PPS = 500;
const mac = (vni: number, i: number) => `02:${vni.toString(16).padStart(2, '0')}:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const bulk = (vni: number, from: number, n: number) => Array.from({ length: n }, (_, i) => ({ mac: mac(vni, from + i), remote: '192.0.2.2' }));

describeKernel('the apply child killed mid-apply', () => {
  let L: VtepLab;
  let log: () => string;
  let daemonPid = 0;
  let daemon: ChildProcess;
  let armFile = '';
  // A: VNI 42 with 300 statics. B: 150 of them, 150 others, and VNI 43 on a second endpoint.
  let fileA = '', fileB = '', cfgPath = '';
  const rows: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    L = new VtepLab('akl', { ipv6: false });
    L.endpoint('epa2', 'ca2');
    const base = L.config();
    fileA = JSON.stringify({ ...base, vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'], fdb: bulk(42, 0, 300) }] });
    fileB = JSON.stringify({ ...base, vnis: [
      { vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'], fdb: bulk(42, 150, 300) },
      { vni: 43, endpoints: ['epa2'], peers: ['192.0.2.2'], fdb: bulk(43, 0, 100) },
    ] });
    cfgPath = L.file('xvtep.json', fileA);
    armFile = join(L.tmp, 'kill-at');
    process.env.XVTEP_TEST_KILL_AT = armFile; // the daemon and its apply children inherit it
    try {
      const d = await L.daemon(cfgPath);
      log = d.log;
      daemon = d.proc;
      daemonPid = d.proc.pid!;
    } finally {
      delete process.env.XVTEP_TEST_KILL_AT;
    }
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
  });
  afterAll(() => {
    recordSummary('apply-kill', rows);
    L?.destroy();
  });

  /** Program ids of this instance (pinned under progs/), which no other instance shares. */
  const ourProgIds = () => new Set(readdirSync(join(L.pinDir, 'progs')).map((p) =>
    (JSON.parse(spawnSync('bpftool', ['-j', 'prog', 'show', 'pinned', join(L.pinDir, 'progs', p)], { encoding: 'utf8' }).stdout) as { id: number }).id));
  const ourLinks = () => {
    const ids = ourProgIds();
    return (JSON.parse(spawnSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' }).stdout) as Array<{ prog_id: number }>).filter((l) => ids.has(l.prog_id)).length;
  };

  // Alternately towards B and back to A. 'pin links': epa2's new links exist
  // but are not pinned yet, so it comes on the way to B (which attaches epa2).
  const filterOn = (iface: string) => L.lab.in(L.a, () => {
    try {
      return TcFilter.query(ifindexOf(iface), 'ingress', TC_HANDLE, tcPriority(L.pinDir));
    } catch {
      return 0; // no clsact
    }
  });
  const points = ['xv_vni (add/change)', 'detach', 'pin links', 'xv_fdb (add/change)', 'attach', 'xv_fdb (remove)', 'xv_vni (remove)', 'record'];

  it(`killed at each of ${points.length} steps of a reload: the daemon re-applies, the maps equal the file, no link leaked, the stream loses nothing`, async () => {
    const s = await startStream(L.c, L.b, '198.51.100.2', 5301, 100_000, PPS, { idleSeconds: 4 });
    await new Promise((r) => setTimeout(r, 500));
    let useB = false;
    for (const [i, point] of points.entries()) {
      useB = !useB;
      writeFileSync(cfgPath, useB ? fileB : fileA);
      const before = (log().match(/again after a killed apply\): \d+ map change/g) ?? []).length;
      writeFileSync(armFile, point);
      process.kill(daemonPid, 'SIGHUP');
      // the file change may trigger a reload of its own first: wait for the one that was killed and re-applied
      await waitFor(() => (log().match(/again after a killed apply\): \d+ map change/g) ?? []).length > before, 30_000,
        () => `no re-apply after a kill at ${point}: ${log().split('\n').slice(-8).join('\n')}`);
      expect(existsSync(armFile)).toBe(false);
      expect(log()).toMatch(new RegExp(`config apply worker exited with signal SIGKILL and no answer; the maps may be half-applied: applying the file again`));
      // wait for whatever reload the file change queued, then the maps must equal the file
      await new Promise((r) => setTimeout(r, 700));
      const diff = L.ok('config', 'diff', cfgPath);
      expect(diff, `after a kill at ${point}`).toBe('no changes\n');
      const st = L.json<Status>('status');
      expect(st.config.lastReload?.ok).toBe(true);
      const hooks = st.interfaces.filter((h) => h.hook !== 'tc-ingress');
      expect(hooks.every((h) => h.attached), JSON.stringify(st.interfaces)).toBe(true);
      expect(st.interfaces.some((h) => h.iface === 'epa2')).toBe(useB);
      // every xvtep link attached is pinned (status lists it): none leaked by the killed child
      expect(ourLinks(), `links after a kill at ${point}`).toBe(hooks.length);
      // netlink filters outlive the process that adds them: epa2 has ours exactly while the file names it
      expect(filterOn('epa2') !== 0, `epa2's filter after a kill at ${point}`).toBe(useB && forcedTcMode === 'netlink');
      rows.push({ point, to: useB ? 'B' : 'A', links: hooks.length, step: i });
    }
    s.stop();
    const r = await s.done;
    rows.push({ stream: { sent: r.sent, received: r.received, lost: r.sent - r.received } });
    expect(r.received).toBeGreaterThan(PPS * 3);
    expect(r.sent - r.received).toBe(0);
  }, 180_000);

  it('killed during the daemon\'s first apply (start-up, fresh pins): xvtep run exits 2 in one line; the next start converges', async () => {
    process.kill(daemonPid, 'SIGTERM');
    await exited(daemon);
    L.ok('detach');
    writeFileSync(cfgPath, fileB);
    for (const point of ['xv_fdb (add/change)', 'pin links']) {
      writeFileSync(armFile, point);
      const proc = spawn('ip', ['netns', 'exec', L.a, process.execPath, BIN, ...withTcModeArgs(['run', '-c', cfgPath])], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XVTEP_TEST_KILL_AT: armFile } });
      L.daemons.add(proc);
      let out = '';
      proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const code = await exited(proc);
      expect(code, out).toBe(2);
      expect(existsSync(armFile)).toBe(false);
      expect(out.trim().split('\n').pop()).toMatch(/^xvtep: config apply worker exited with signal SIGKILL and no answer$/);
      const again = await L.daemon(cfgPath);
      expect(L.ok('config', 'diff', cfgPath), `after a kill at start-up at ${point}`).toBe('no changes\n');
      const st = L.json<Status>('status');
      const hooks = st.interfaces.filter((h) => h.hook !== 'tc-ingress');
      expect(hooks.every((h) => h.attached), JSON.stringify(st.interfaces)).toBe(true);
      expect(ourLinks()).toBe(hooks.length);
      expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
      rows.push({ point: `start-up: ${point}`, links: hooks.length });
      again.proc.kill('SIGTERM');
      await exited(again.proc);
      L.ok('detach');
    }
  }, 120_000);

  it('killed while pinning a fresh data path (before xv_config, pinned last): the next start clears the partial pins and starts afresh', async () => {
    // the state such a kill leaves: maps and programs pinned, xv_config not (and a few others missing)
    const dp = await Datapath.load({ sizes: { fdb: 4096 } });
    try {
      dp.pin(L.pinDir);
    } finally {
      dp.close();
    }
    for (const p of ['maps/xv_config', 'maps/xv_fdb', 'progs/xv_tc_endpoint']) rmSync(join(L.pinDir, p));
    expect(Datapath.isPinned(L.pinDir)).toBe(false);
    const d = await L.daemon(cfgPath);
    expect(d.log()).toMatch(new RegExp(`${L.pinDir}: removed \\d+ pin\\(s\\) of an interrupted start \\(no xv_config\\), pinning afresh`));
    expect(L.ok('config', 'diff', cfgPath)).toBe('no changes\n');
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
    d.proc.kill('SIGTERM');
    await exited(d.proc);
  }, 60_000);
});
