// TC hooks as tcx links or netlink clsact filters (kernels without tcx):
// auto picks by probing (the test hook XVTEP_TEST_PROBE_NO_TCX=1 stands in
// for a 6.1 kernel), the flag wins over the file, a netlink attach carries
// traffic, is adopted by the next attach without a reload or a counter
// reset, and detach removes xvtep's filters and nothing else. The other
// netlink-mode cases (adopt after SIGKILL, endpoint re-create, two
// instances, the labs) are the TC-attaching suites run a second time with
// XVTEP_TC_MODE=netlink (Makefile `test`).
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTcx } from '../../src/bpf/index.js';
import { TC_HANDLE } from '../../src/datapath/index.js';
import { tcPriority } from '../../src/reconcile/index.js';
import { describeKernel } from '../helpers/kernel.js';
import { BIN, VtepLab } from '../helpers/vtep-lab.js';

interface Status {
  interfaces: Array<{ iface: string; hook: string; progId: number; attached: boolean; tcKind: string | null }>;
  tc: { kinds: string[]; netlink: { handle: number; priority: number } | null };
}
interface TcFilter { kind: string; pref?: number; options?: { handle?: string; bpf_name?: string; prog?: { id: number } } }

describeKernel('TC hooks: tcx or netlink clsact filters', () => {
  let L: VtepLab;
  const run = (args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync('ip', ['netns', 'exec', L.a, process.execPath, BIN, ...args, '--pin-dir', L.pinDir],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const ok = (args: string[], env: Record<string, string> = {}) => {
    const r = run(args, env);
    if (r.code !== 0) throw new Error(`xvtep ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r;
  };
  const status = () => JSON.parse(ok(['status', '-j']).stdout) as Status;
  const filters = (dev: string): TcFilter[] => {
    const r = spawnSync('ip', ['netns', 'exec', L.a, 'tc', '-j', 'filter', 'show', 'dev', dev, 'ingress'], { encoding: 'utf8' });
    return r.stdout.trim() ? (JSON.parse(r.stdout) as TcFilter[]).filter((f) => f.options) : [];
  };
  const quick = ['--underlay', 'ua', '--address', '192.0.2.1', '--vni', '42', '--endpoint', 'epa', '--peer', '192.0.2.2'];
  const noTcx = { XVTEP_TEST_PROBE_NO_TCX: '1' };

  beforeAll(() => {
    L = new VtepLab('tcmode');
  });
  afterAll(() => L?.destroy());

  it('the probe finds tcx on this kernel; the test hook hides it', () => {
    expect(hasTcx()).toBe(true);
    const r = spawnSync(process.execPath, ['--input-type=module', '-e',
      `const { hasTcx } = await import(${JSON.stringify(new URL('../../dist/bpf/index.js', import.meta.url).href)}); console.log(hasTcx())`],
    { encoding: 'utf8', env: { ...process.env, ...noTcx } });
    expect(r.stdout.trim()).toBe('false');
  });

  it('auto attaches tcx links where the kernel has tcx', () => {
    ok(['attach', ...quick]);
    const s = status();
    expect(s.tc).toEqual({ kinds: ['tcx'], netlink: null });
    // ua's TC hook (the GRO hand-off's half) is there only where the kernel allows the hand-off
    const tc = s.interfaces.filter((i) => i.hook !== 'xdp');
    expect(tc.map((i) => i.iface)).toContain('epa');
    for (const i of tc) expect(i).toMatchObject({ hook: 'tcx-ingress', tcKind: 'tcx', attached: true });
    expect(filters('epa')).toEqual([]);
    ok(['detach']);
  });

  describe('netlink (auto on a kernel without tcx)', () => {
    let before: Status;

    it('tcMode tcx where the probe finds no tcx fails before attaching anything, naming tcx and 6.6', () => {
      const r = run(['attach', '--tc-mode', 'tcx', ...quick], noTcx);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/tcx \(linux 6\.6\)/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(filters('epa')).toEqual([]);
      expect(run(['status', '-j']).code).toBe(2); // nothing pinned
    });

    it('auto attaches clsact filters at xvtep\'s handle and this instance\'s priority; traffic crosses', () => {
      expect(ok(['attach', ...quick], noTcx).stderr).toMatch(/^xvtep: TC hooks attach as netlink clsact filters: this kernel has no tcx \(linux 6\.6\)$/m);
      const s = status();
      const prio = tcPriority(L.pinDir);
      expect(s.tc).toEqual({ kinds: ['netlink'], netlink: { handle: TC_HANDLE, priority: prio } });
      const tc = s.interfaces.filter((i) => i.hook !== 'xdp');
      expect(tc.map((i) => i.iface)).toContain('epa');
      for (const i of tc) expect(i).toMatchObject({ hook: 'tc-ingress', tcKind: 'netlink', attached: true });
      for (const dev of tc.map((i) => i.iface)) {
        const f = filters(dev);
        expect(f).toHaveLength(1);
        expect(f[0]).toMatchObject({ kind: 'bpf', pref: prio, options: { handle: `0x${TC_HANDLE.toString(16)}` } });
        expect(f[0]!.options!.prog!.id).toBe(tc.find((i) => i.iface === dev)!.progId);
      }
      expect(ok(['status']).stdout).toMatch(/^tc hooks:\s+netlink clsact filters \(handle 0x7876, priority 0x[0-9a-f]+\)$/m);
      expect(L.lab.ping(L.c, '198.51.100.2', 3)).toBe(true);
      before = s;
    });

    it('a second attach adopts the filters: same programs, no new filter, counters go on', () => {
      const stats = () => (JSON.parse(ok(['stats', '-j']).stdout) as { vnis: Array<{ tx: { packets: number } }> }).vnis[0]!.tx.packets;
      const tx = stats();
      expect(tx).toBeGreaterThanOrEqual(3);
      // without the test hook: auto now means tcx, but live netlink filters are adopted, not doubled
      const r = ok(['attach', ...quick]);
      expect(r.stderr).toMatch(/0 map change/);
      const s = status();
      expect(s.interfaces.map((i) => `${i.iface} ${i.hook} ${i.progId}`)).toEqual(before.interfaces.map((i) => `${i.iface} ${i.hook} ${i.progId}`));
      expect(filters('epa')).toHaveLength(1);
      expect(filters('ua')).toHaveLength(before.interfaces.filter((i) => i.iface === 'ua' && i.hook !== 'xdp').length);
      expect(stats()).toBeGreaterThanOrEqual(tx);
      expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
      expect(stats()).toBeGreaterThanOrEqual(tx + 2);
    });

    it('--tc-mode netlink wins over the file\'s tcMode tcx; an explicit mode other than the live one is said, not silently ignored', () => {
      ok(['detach']);
      const cfg = L.file('tcx.json', L.config({ underlay: { tcMode: 'tcx' } }));
      ok(['attach', '-c', cfg, '--tc-mode', 'netlink']);
      expect(status().tc.kinds).toEqual(['netlink']);
      const r = ok(['attach', '-c', cfg]);
      expect(r.stderr).toMatch(/endpoint epa: kept its live netlink hook although tcMode is tcx/);
      expect(run(['attach', '-c', cfg, '--tc-mode', 'bogus']).code).toBe(1);
    });

    it('detach removes xvtep\'s filters only: another filter on the same hook stays', () => {
      L.lab.exec(L.a, 'tc', 'filter', 'add', 'dev', 'epa', 'ingress', 'pref', '7', 'protocol', 'ip', 'u32', 'match', 'ip', 'dst', '203.0.113.99/32', 'flowid', '1:1');
      const kinds = () => [...new Set(filters('epa').map((f) => `${f.kind} ${f.pref}`))].sort();
      expect(kinds()).toEqual([`bpf ${tcPriority(L.pinDir)}`, 'u32 7']);
      ok(['detach']);
      expect(kinds()).toEqual(['u32 7']);
      expect(filters('ua')).toEqual([]);
    });
  });

  it('two pin dirs get two priorities (two instances never share a filter)', () => {
    expect(tcPriority('/sys/fs/bpf/xvtep')).not.toBe(tcPriority('/sys/fs/bpf/xvtep-b'));
    for (const p of ['/a', '/sys/fs/bpf/xvtep', '/run/x']) expect(tcPriority(p)).toBeGreaterThanOrEqual(0xc000);
  });
});
