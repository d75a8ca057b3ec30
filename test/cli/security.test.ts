// Issue 6, security defaults, each against the kernel with a config that
// leaves the setting out: the decap allow-list is on, metrics listen on
// 127.0.0.1 only, pin and state directories are root's alone (0700, files
// 0600), and an unprivileged user is told which privilege is missing.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { statePath } from '../../src/reconcile/state.js';
import { describeKernel } from '../helpers/kernel.js';
import { BIN, VtepLab, exited, waitFor } from '../helpers/vtep-lab.js';
import { snapshotMaps } from '../helpers/snapshot.js';

const mode = (p: string) => statSync(p).mode & 0o777;

describeKernel('security defaults', () => {
  let L: VtepLab;
  let stateDir = '';
  const savedStateDir = process.env.XVTEP_STATE_DIR;

  beforeAll(() => {
    // A state directory xvtep has to create, so its mode is xvtep's doing.
    stateDir = join(mkdtempSync(join(tmpdir(), 'xvtep-sec-')), 'state');
    process.env.XVTEP_STATE_DIR = stateDir;
    L = new VtepLab('sec', { ipv6: false });
  });
  afterAll(() => {
    L?.destroy();
    rmSync(join(stateDir, '..'), { recursive: true, force: true });
    if (savedStateDir === undefined) delete process.env.XVTEP_STATE_DIR;
    else process.env.XVTEP_STATE_DIR = savedStateDir;
  });

  it('decap allow-list on by default: VXLAN from a VTEP that is not a peer is dropped and counted, never delivered', async () => {
    // b (192.0.2.2) is not a peer; the file says nothing about allowUnknownPeers.
    L.ok('attach', '-c', L.file('no-b.json', L.config({ vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.3'] }] })));
    const bMac = (JSON.parse(L.lab.exec(L.b, 'ip', '-j', 'link', 'show', 'vxlan0')) as Array<{ address: string }>)[0]!.address;
    const stats = () => L.json<{ vnis: Array<{ vni: number; drops: Record<string, number> }> }>('stats').vnis.find((v) => v.vni === 42)!;
    // what reaches the container from b (host a's own IPv6 chatter on epa is not b's)
    const cap = spawn('ip', ['netns', 'exec', L.c, 'tcpdump', '-nn', '-e', '-l', '-i', 'ca', 'ether', 'src', bMac], { stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '', capErr = '';
    cap.stdout.on('data', (b: Buffer) => (seen += b.toString()));
    cap.stderr.on('data', (b: Buffer) => (capErr += b.toString()));
    try {
      await waitFor(() => capErr.includes('listening on'), 10_000, () => `tcpdump did not start: ${capErr}`);
      const before = stats().drops.unknown_peer;
      expect(L.lab.ping(L.b, '198.51.100.1', 3)).toBe(false);
      expect(stats().drops.unknown_peer).toBeGreaterThan(before!); // b's ARP requests (one a second while it resolves)
      await new Promise((r) => setTimeout(r, 300));
      expect(seen).toBe('');
      // the same traffic from a peer is delivered: the drops above were the allow-list
      L.ok('peer', 'add', '192.0.2.2', 'vni', '42');
      L.lab.exec(L.b, 'ip', 'neigh', 'flush', 'dev', 'vxlan0'); // b's failed ARP entry would hold back the next try
      expect(L.lab.ping(L.b, '198.51.100.1', 3)).toBe(true);
      await waitFor(() => seen.includes(bMac), 5_000, () => `nothing from b captured: ${seen}`);
    } finally {
      cap.kill();
    }
  });

  it('metrics listen on 127.0.0.1:9469 by default, not on the underlay', async () => {
    const cfg = L.config({ vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'] }] });
    delete cfg.metrics;
    const d = await L.daemon(L.file('default-metrics.json', cfg));
    try {
      const listening = L.lab.exec(L.a, 'ss', '-Hltn').split('\n').map((l) => l.trim().split(/\s+/)[3]).filter((x): x is string => !!x && x.endsWith(':9469'));
      expect(listening).toEqual(['127.0.0.1:9469']);
      expect(L.lab.tryExec(L.a, 'curl', '-sf', 'http://127.0.0.1:9469/metrics').out).toMatch(/^xvtep_build_info/m);
      // from host b, across the underlay: refused
      const far = L.lab.tryExec(L.b, 'curl', '-s', '--max-time', '3', 'http://192.0.2.1:9469/metrics');
      expect(far.ok).toBe(false);
    } finally {
      d.proc.kill('SIGTERM');
      await exited(d.proc);
    }
  });

  it('pin directories are mode 0700 and pins 0600; the state file is 0600 in a 0700 directory', () => {
    expect(mode(L.pinDir)).toBe(0o700);
    for (const sub of ['maps', 'progs', 'links']) {
      expect(mode(join(L.pinDir, sub)), sub).toBe(0o700);
      const pins = readdirSync(join(L.pinDir, sub));
      expect(pins.length).toBeGreaterThan(0);
      for (const p of pins) expect(mode(join(L.pinDir, sub, p)), `${sub}/${p}`).toBe(0o600);
    }
    expect(mode(stateDir)).toBe(0o700);
    const state = join(stateDir, basename(statePath(L.pinDir)));
    expect(JSON.parse(readFileSync(state, 'utf8'))).toMatchObject({ pinDir: L.pinDir });
    expect(mode(state)).toBe(0o600);
  });

  it('commands run as an unprivileged user exit 2 with one line naming the privilege, and change nothing', () => {
    // nobody must be able to read the config and reach node; the pins stay root's
    const open = mkdtempSync(join(tmpdir(), 'xvtep-sec-open-'));
    chmodSync(open, 0o755);
    const cfg = join(open, 'xvtep.json');
    writeFileSync(cfg, JSON.stringify(L.config()));
    chmodSync(cfg, 0o644);
    const fresh = L.bpffs.path('fresh');
    // No traffic from here on (ARP probes would refresh learned entries' timestamps).
    for (const ns of [L.b, L.c]) L.lab.exec(ns, 'ip', 'neigh', 'flush', 'all');
    L.ok('fdb', 'flush');
    const before = snapshotMaps(L.pinDir);
    try {
      const cases: Array<[string[], RegExp]> = [
        [['status', '--pin-dir', L.pinDir], /run as root \(needs CAP_BPF and CAP_NET_ADMIN\)/],
        [['stats', '--pin-dir', L.pinDir], /run as root \(needs CAP_BPF and CAP_NET_ADMIN\)/],
        [['fdb', 'add', '02:00:00:00:00:77', 'vni', '42', 'dst', '192.0.2.9', '--pin-dir', L.pinDir], /run as root \(needs CAP_BPF and CAP_NET_ADMIN\)/],
        [['attach', '--underlay', 'ua', '--vni', '42', '--endpoint', 'epa', '--pin-dir', L.pinDir], /run as root \(needs CAP_BPF and CAP_NET_ADMIN\)/],
        [['attach', '--underlay', 'ua', '--vni', '42', '--endpoint', 'epa', '--pin-dir', fresh], /needs CAP_BPF and CAP_NET_ADMIN/],
        [['run', '-c', cfg], /run as root \(needs CAP_BPF and CAP_NET_ADMIN\)/],
        [['run', '-c', cfg, '--pin-dir', fresh], /needs CAP_BPF and CAP_NET_ADMIN/],
        [['detach', '--pin-dir', L.pinDir], /run as root \(needs CAP_BPF and CAP_NET_ADMIN\)/],
      ];
      for (const [args, names] of cases) {
        const r = spawnSync('ip', ['netns', 'exec', L.a, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all',
          process.execPath, BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
        const what = `xvtep ${args.join(' ')}: ${r.stderr}`;
        expect(r.status, what).toBe(2);
        expect(r.stdout, what).toBe('');
        expect(r.stderr.trim().split('\n'), what).toHaveLength(1);
        expect(r.stderr, what).toMatch(names);
        expect(r.stderr, what).toMatch(/root|CAP_BPF/);
      }
      expect(snapshotMaps(L.pinDir)).toEqual(before);
      expect(() => statSync(fresh)).toThrow(/ENOENT/);
      // root can still do all of it
      expect(L.ok('status')).toMatch(/pin dir:/);
    } finally {
      rmSync(open, { recursive: true, force: true });
    }
  });
});
