// The bpffs under a running `xvtep run` unmounted (issue 15, faults): the
// pins go with it, and a bpf_link whose last pin goes is detached unless a
// process holds it. The daemon holds an fd on every hook, so the data path
// keeps forwarding (a stream c -> b loses nothing); it says so in one line;
// reloads are refused in one line, and the CLI (which can only reach the
// data path through the pins) says who serves the pin directory and how to
// get it back. Once a bpffs is mounted there again the daemon pins it all
// again within a second and everything works as before.
//
// `ip netns exec` gives the daemon a mount namespace of its own (a copy):
// the bpffs is unmounted in both, so its superblock and the pins really go,
// and mounted again in the daemon's, where the CLI runs too (nsenter).
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { startStream } from '../helpers/stream.js';
import { BIN, VtepLab, waitFor } from '../helpers/vtep-lab.js';
import { recordSummary } from '../reliability/summary.js';

const PPS = 500;

describeKernel('the bpffs unmounted under xvtep run', () => {
  let L: VtepLab;
  let log: () => string;
  let pid = 0;
  const rows: Array<Record<string, unknown>> = [];
  /** The CLI in the daemon's mount and network namespaces. */
  const cli = (...args: string[]) => {
    const r = spawnSync('nsenter', ['-t', String(pid), '-m', '-n', process.execPath, BIN, ...args, '--pin-dir', L.pinDir], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const inDaemonNs = (...args: string[]) => spawnSync('nsenter', ['-t', String(pid), '-m', ...args], { encoding: 'utf8' });

  beforeAll(async () => {
    L = new VtepLab('bfg', { ipv6: false });
    const d = await L.daemon(L.file('xvtep.json', L.config()));
    log = d.log;
    pid = d.proc.pid!;
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
  });
  afterAll(() => {
    recordSummary('bpffs-gone', rows);
    L?.destroy();
  });

  it('the data path keeps forwarding, the daemon and the CLI say what happened, and a remount gets the pins back', async () => {
    expect(cli('status').code).toBe(0);
    const s = await startStream(L.c, L.b, '198.51.100.2', 5321, 100_000, PPS, { idleSeconds: 4 });
    const streamStart = Date.now();
    await new Promise((r) => setTimeout(r, 500));

    expect(spawnSync('umount', [L.bpffs.dir]).status).toBe(0);
    expect(inDaemonNs('umount', L.bpffs.dir).status).toBe(0);
    const t0 = Date.now();
    const gone = new RegExp(`pin directory ${L.pinDir} is gone \\(its bpffs unmounted\\?\\): the data path keeps forwarding on the daemon's own references \\(the maps, \\d+ hook\\(s\\)\\); reloads and the CLI cannot reach it until a bpffs is mounted there again \\(mount -t bpf bpf ${L.bpffs.dir}\\), then the daemon pins it all again`);
    await waitFor(() => gone.test(log()), 3000, () => `no line: ${log().split('\n').slice(-4).join('\n')}`);
    rows.push({ noticedMs: Date.now() - t0 });
    expect(log().match(/is gone \(its bpffs/g)).toHaveLength(1);

    // the CLI: one line naming the daemon and the fix, exit 2
    for (const args of [['status'], ['fdb', 'add', '02:00:00:00:00:99', 'dst', '192.0.2.2', 'vni', '42']]) {
      const r = cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`${L.pinDir}: nothing pinned here, but xvtep run \\(pid ${pid}\\) serves this pin directory: was its bpffs unmounted\\? mount -t bpf bpf ${L.bpffs.dir} and the daemon pins it again within a second`));
    }
    // a reload: refused in one line, the running config kept
    process.kill(pid, 'SIGHUP');
    await waitFor(() => /reload \(SIGHUP\) refused, still serving the previous config: the pin directory \S+ is gone since \S+ \(bpffs unmounted\?\); mount -t bpf bpf \S+ and the daemon pins it again/.test(log()), 5000, () => `no refusal: ${log().split('\n').slice(-3).join('\n')}`);
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);

    // mounted again: pinned again, the CLI and reloads work
    expect(inDaemonNs('mount', '-t', 'bpf', 'bpf', L.bpffs.dir).status).toBe(0);
    const t1 = Date.now();
    await waitFor(() => new RegExp(`pin directory ${L.pinDir} is back: the maps, programs and \\d+ hook\\(s\\) pinned again`).test(log()), 3000, () => `not re-pinned: ${log().split('\n').slice(-3).join('\n')}`);
    rows.push({ repinnedMs: Date.now() - t1 });
    const st = JSON.parse(cli('status', '-j').stdout) as { interfaces: Array<{ iface: string; hook: string; attached: boolean }> };
    expect(st.interfaces.length).toBeGreaterThanOrEqual(2);
    expect(st.interfaces.every((h) => h.attached), JSON.stringify(st.interfaces)).toBe(true);
    const add = cli('fdb', 'add', '02:00:00:00:00:99', 'dst', '192.0.2.2', 'vni', '42');
    expect(add.code, add.stderr).toBe(0);
    expect(cli('fdb', 'show', 'vni', '42').stdout).toMatch(/02:00:00:00:00:99/);
    process.kill(pid, 'SIGHUP');
    await waitFor(() => /reload \(SIGHUP\): \d+ map change/.test(log()), 10_000, () => `no reload: ${log().split('\n').slice(-3).join('\n')}`);

    // the stream covers the whole outage and at least 3 s in all, however fast the steps went
    await new Promise((r) => setTimeout(r, Math.max(0, 3000 - (Date.now() - streamStart))));
    s.stop();
    const r = await s.done;
    rows.push({ sent: r.sent, received: r.received, lost: r.sent - r.received });
    expect(r.received).toBeGreaterThan(PPS * 2);
    expect(r.sent - r.received).toBe(0);
  }, 120_000);
});
