// xvtep doctor against real trouble: each check made to warn or fail by
// breaking the real thing (a pin dir outside bpffs, capabilities dropped
// with setpriv, an MTU too small, a peer's GRO off, a veth underlay peer
// offloading checksums, a taken metrics port), with the exit codes, and
// that doctor itself changed nothing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { BIN, VtepLab, waitFor } from '../helpers/vtep-lab.js';

interface Check { check: string; status: 'ok' | 'warn' | 'fail'; message: string; fix?: string }

describeKernel('xvtep doctor', () => {
  let L: VtepLab;
  let cfg: string;
  const PORT = 9591;
  const doctor = (args: string[], opts: { ns?: string | null; prefix?: string[] } = {}) => {
    const cmd = [...(opts.prefix ?? []), process.execPath, BIN, 'doctor', '-j', ...args];
    const ns = opts.ns === undefined ? L.a : opts.ns;
    const r = ns ? spawnSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', timeout: 60_000 })
      : spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: 60_000 });
    const checks = r.stdout.trim() ? (JSON.parse(r.stdout) as Check[]) : [];
    return { code: r.status, checks, stderr: r.stderr, get: (re: RegExp) => checks.filter((c) => re.test(c.check)) };
  };
  const one = (r: ReturnType<typeof doctor>, re: RegExp) => {
    const m = r.get(re);
    expect(m, `checks matching ${re}: ${JSON.stringify(r.checks)}`).toHaveLength(1);
    return m[0]!;
  };

  beforeAll(() => {
    L = new VtepLab('doc');
    cfg = L.file('doctor.json', L.config({ metricsPort: PORT }));
  });
  afterAll(() => L?.destroy());

  it('reports every check as ok/warn/fail, a fix on each that is not ok; exit 0 when nothing fails', () => {
    L.lab.exec(L.b, 'ethtool', '-K', 'ub', 'tx', 'off');
    const r = doctor(['-c', cfg]);
    expect(r.stderr).toBe('');
    expect(JSON.stringify(r.checks.filter((c) => c.status === 'fail'))).toBe('[]');
    expect(r.code).toBe(0);
    for (const c of r.checks) {
      expect(['ok', 'warn', 'fail']).toContain(c.status);
      expect(c.fix === undefined).toBe(c.status === 'ok');
    }
    expect(one(r, /^privileges: CAP_BPF$/).status).toBe('ok');
    expect(one(r, /^privileges: CAP_NET_ADMIN$/).status).toBe('ok');
    expect(one(r, /^kernel$/).message).toMatch(/^linux \d+\.\d+/);
    expect(one(r, /tcx/)).toMatchObject({ status: 'ok', message: 'present (linux 6.6)' });
    expect(one(r, /^pin dir$/).status).toBe('ok');
    expect(one(r, /^instance$/).message).toMatch(/nothing attached/);
    expect(one(r, /^underlay ua$/)).toMatchObject({ status: 'ok', message: expect.stringMatching(/exists, up, driver veth, mtu 1500/) });
    expect(one(r, /native XDP/)).toMatchObject({ status: 'ok', message: 'driver veth has native XDP' });
    expect(one(r, /MTU headroom/).status).toBe('ok');
    expect(one(r, /veth peer checksums/)).toMatchObject({ status: 'ok' });
    expect(one(r, /^endpoint epa: peer GRO$/).status).toBe('ok');
    expect(one(r, /^metrics port$/)).toMatchObject({ status: 'ok', message: `127.0.0.1:${PORT} is free` });
    // the text form: one line per check
    const text = spawnSync('ip', ['netns', 'exec', L.a, process.execPath, BIN, 'doctor', '-c', cfg], { encoding: 'utf8' });
    expect(text.stdout).toMatch(/^ok +privileges: CAP_BPF: CAP_BPF held$/m);
  });

  it('a veth underlay whose peer offloads checksums: warn, with the ethtool line', () => {
    L.lab.exec(L.b, 'ethtool', '-K', 'ub', 'tx', 'on');
    const c = one(doctor(['-c', cfg]), /veth peer checksums/);
    expect(c.status).toBe('warn');
    expect(c.fix).toBe(`ip netns exec ${L.b} ethtool -K ub tx off, or set underlay.xdpMode: skb`);
    L.lab.exec(L.b, 'ethtool', '-K', 'ub', 'tx', 'off');
  });

  it('an endpoint peer with GRO off: warn, and doctor leaves it off (attach would turn it on)', () => {
    L.lab.exec(L.c, 'ethtool', '-K', 'ca', 'gro', 'off');
    try {
      const c = one(doctor(['-c', cfg]), /^endpoint epa: peer GRO$/);
      expect(c.status).toBe('warn');
      expect(c.fix).toBe(`ip netns exec ${L.c} ethtool -K ca gro on`);
      expect(L.lab.exec(L.c, 'ethtool', '-k', 'ca')).toMatch(/^generic-receive-offload: off/m);
    } finally {
      L.lab.exec(L.c, 'ethtool', '-K', 'ca', 'gro', 'on');
    }
  });

  it('an underlay MTU too small for an endpoint plus 50 bytes of VXLAN: fail, exit 2', () => {
    L.lab.exec(L.a, 'ip', 'link', 'set', 'ua', 'mtu', '1400');
    try {
      const r = doctor(['-c', cfg]);
      const c = one(r, /MTU headroom/);
      expect(c.status).toBe('fail');
      expect(c.message).toMatch(/underlay MTU 1400 leaves less than the 50 bytes of VXLAN over IPv4 for epa \(mtu 1450 on its peer ca\)/);
      expect(c.fix).toMatch(/to 1350, or raise the underlay MTU to 1500/);
      expect(r.code).toBe(2);
    } finally {
      L.lab.exec(L.a, 'ip', 'link', 'set', 'ua', 'mtu', '1500');
    }
  });

  it('a taken metrics port: fail, exit 2', async () => {
    let holder: ChildProcess | undefined;
    try {
      holder = spawn('ip', ['netns', 'exec', L.a, 'timeout', '30', 'python3', '-c',
        `import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1",${PORT}))\ns.listen()\nprint("up",flush=True)\ntime.sleep(30)`], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      holder.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => out.includes('up'), 10_000, () => 'the port holder did not start');
      const r = doctor(['-c', cfg]);
      const c = one(r, /^metrics port$/);
      expect(c).toMatchObject({ status: 'fail', message: `127.0.0.1:${PORT} cannot be bound: EADDRINUSE` });
      expect(c.fix).toMatch(/ss -ltnp/);
      expect(r.code).toBe(2);
    } finally {
      holder?.kill('SIGKILL');
    }
  });

  it('a pin dir outside any bpffs: fail, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xvtep-doctor-'));
    try {
      const r = doctor(['--pin-dir', join(dir, 'pins')], { ns: null });
      expect(one(r, /^pin dir$/)).toMatchObject({ status: 'fail', message: `${join(dir, 'pins')}: ${dir} is not on a bpffs, so it cannot hold pins` });
      expect(r.code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('CAP_BPF, CAP_SYS_ADMIN and CAP_NET_ADMIN dropped (setpriv): both privilege checks and the probes fail, exit 2', () => {
    const r = doctor(['--pin-dir', L.pinDir], { ns: null, prefix: ['setpriv', '--bounding-set=-bpf,-sys_admin,-net_admin', '--inh-caps=-all'] });
    expect(one(r, /^privileges: CAP_BPF$/).status).toBe('fail');
    expect(one(r, /^privileges: CAP_NET_ADMIN$/).status).toBe('fail');
    expect(one(r, /^kernel features$/)).toMatchObject({ status: 'fail', message: 'cannot probe (EPERM)' });
    expect(r.code).toBe(2);
  });

  it('an attached instance is reported with its TC kind; --probe-attach tries native XDP for real', () => {
    L.ok('attach', '-c', cfg);
    try {
      const r = doctor(['-c', cfg]);
      expect(one(r, /^instance$/)).toMatchObject({ status: 'ok', message: expect.stringMatching(/an instance is attached from .*: \d+ live hook\(s\) \(TC: tcx\), no daemon/) });
      L.ok('detach');
      const p = doctor(['-c', cfg, '--probe-attach']);
      expect(one(p, /native XDP/)).toMatchObject({ status: 'ok', message: 'a trial XDP_PASS attach in driver mode worked (detached again)' });
      expect(L.lab.exec(L.a, 'ip', 'link', 'show', 'dev', 'ua')).not.toMatch(/xdp/);
    } finally {
      L.cli(['detach', '--pin-dir', L.pinDir]);
    }
  });

  it('a bad flag is a usage error: exit 1', () => {
    const r = spawnSync(process.execPath, [BIN, 'doctor', '--bogus'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
