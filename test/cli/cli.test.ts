// Every command end to end in a namespace lab (host a: xvtep, host b: the
// kernel's vxlan), text and JSON, with the exit codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Datapath } from '../../src/datapath/datapath.js';
import { describeKernel } from '../helpers/kernel.js';
import { VtepLab } from '../helpers/vtep-lab.js';
import { nativeUnderlayHooks } from '../helpers/tcmode.js';

interface Status {
  pinDir: string;
  underlay: { iface: string; address: string; port: number } | null;
  interfaces: Array<{ iface: string; role: string; hook: string; progId: number; attached: boolean; xdpMode: string | null }>;
  vnis: Array<{ vni: number; statsSlot: number; endpoints: string[]; peers: string[]; learning: boolean; proxyArp: boolean }>;
  maps: Array<{ map: string; entries: number; capacity: number }>;
  config: { generation: number; reloads: number; reloadFailures: number; lastReload: { ok: boolean; trigger: string } | null; path: string | null };
}
interface FdbRow { mac: string; vni: number; dst?: string; dev?: string; type: string }

describeKernel('xvtep CLI', () => {
  let L: VtepLab;
  beforeAll(() => {
    L = new VtepLab('cli');
    L.endpoint('epa2', 'ca2');
  });
  afterAll(() => L?.destroy());

  describe('attach (quick form) and status', () => {
    it('attaches and traffic crosses to the kernel vxlan on host b', () => {
      L.ok('attach', '--underlay', 'ua', '--vni', '42', '--endpoint', 'epa', '--peer', '192.0.2.2', '--address', '192.0.2.1');
      expect(L.lab.ping(L.c, '198.51.100.2', 3)).toBe(true);
    });

    it('status shows roles, program ids, the XDP mode in use, VNIs and map fill', () => {
      const s = L.json<Status>('status');
      expect(s.pinDir).toBe(L.pinDir);
      expect(s.underlay).toMatchObject({ iface: 'ua', address: '192.0.2.1', port: 4789 });
      const ua = s.interfaces.find((i) => i.iface === 'ua' && i.hook === 'xdp')!;
      expect(ua).toMatchObject({ role: 'underlay', xdpMode: 'driver', attached: true });
      expect(ua.progId).toBeGreaterThan(0);
      // native mode: the tcx half of the GRO hand-off on the same device, where the kernel runs it
      expect(s.interfaces.filter((i) => i.iface === 'ua').map((i) => i.hook).sort()).toEqual(nativeUnderlayHooks);
      expect(s.interfaces.find((i) => i.iface === 'epa')).toMatchObject({ role: 'endpoint', hook: 'tcx-ingress', attached: true });
      expect(s.vnis).toEqual([expect.objectContaining({ vni: 42, statsSlot: 1, endpoints: ['epa'], peers: ['192.0.2.2'] })]);
      expect(s.maps.find((m) => m.map === 'xv_vni')).toEqual({ map: 'xv_vni', entries: 1, capacity: 4096 });
      expect(s.config).toMatchObject({ generation: 1, lastReload: { ok: true, trigger: 'attach' } });
      const text = L.ok('status');
      expect(text).toMatch(/ua\s+\d+\s+underlay\s+xdp\s+\d+\s+\d+\s+driver\s+attached/);
    });

    it('stats counts the pings per VNI, as a table and as JSON', () => {
      const j = L.json<{ vnis: Array<{ vni: number; rx: { packets: number }; tx: { packets: number }; drops: Record<string, number> }>; global: { drops: Record<string, number> } }>('stats');
      expect(j.vnis[0]!.vni).toBe(42);
      expect(j.vnis[0]!.rx.packets).toBeGreaterThanOrEqual(3);
      expect(j.vnis[0]!.tx.packets).toBeGreaterThanOrEqual(3);
      expect(Object.keys(j.global.drops)).toContain('unknown_vni');
      expect(L.ok('stats', '--vni', '42')).toMatch(/^VNI\s+RX PKTS/);
      expect(L.cli(['stats', '--vni', '7', '--pin-dir', L.pinDir]).code).toBe(1);
    });
  });

  describe('fdb', () => {
    it('add, show (text + JSON), replace, del', () => {
      L.ok('fdb', 'add', '02:00:00:00:00:aa', 'vni', '42', 'dst', '192.0.2.2');
      L.ok('fdb', 'add', '02:00:00:00:00:bb', 'vni', '42', 'dev', 'epa');
      let rows = L.json<FdbRow[]>('fdb', 'show', 'vni', '42');
      expect(rows).toContainEqual({ mac: '02:00:00:00:00:aa', vni: 42, dst: '192.0.2.2', type: 'static' });
      expect(rows).toContainEqual({ mac: '02:00:00:00:00:bb', vni: 42, dev: 'epa', type: 'static' });
      expect(rows).toContainEqual({ mac: '00:00:00:00:00:00', vni: 42, dst: '192.0.2.2', type: 'flood (peer)' });
      expect(L.ok('fdb', 'show')).toContain('02:00:00:00:00:aa vni 42 dst 192.0.2.2 static');
      const dup = L.cli(['fdb', 'add', '02:00:00:00:00:aa', 'vni', '42', 'dst', '192.0.2.2', '--pin-dir', L.pinDir]);
      expect(dup.code).toBe(2);
      expect(dup.stderr).toMatch(/EEXIST/);
      expect(dup.stderr.trim().split('\n')).toHaveLength(1);
      L.ok('fdb', 'replace', '02:00:00:00:00:aa', 'vni', '42', 'dst', '192.0.2.9');
      rows = L.json<FdbRow[]>('fdb', 'show');
      expect(rows).toContainEqual({ mac: '02:00:00:00:00:aa', vni: 42, dst: '192.0.2.9', type: 'static' });
      L.ok('fdb', 'del', '02:00:00:00:00:aa', 'vni', '42');
      expect(L.json<FdbRow[]>('fdb', 'show').some((r) => r.mac === '02:00:00:00:00:aa')).toBe(false);
      const gone = L.cli(['fdb', 'del', '02:00:00:00:00:aa', 'vni', '42', '--pin-dir', L.pinDir]);
      expect(gone.code).toBe(2);
      expect(gone.stderr).toMatch(/ENOENT/);
    });

    it('append/del 00:00:00:00:00:00 edits the flood list like the kernel', () => {
      L.ok('fdb', 'append', '00:00:00:00:00:00', 'vni', '42', 'dst', '192.0.2.77');
      expect(L.json<FdbRow[]>('fdb', 'show')).toContainEqual({ mac: '00:00:00:00:00:00', vni: 42, dst: '192.0.2.77', type: 'flood' });
      const peerDel = L.cli(['fdb', 'del', '00:00:00:00:00:00', 'vni', '42', 'dst', '192.0.2.2', '--pin-dir', L.pinDir]);
      expect(peerDel.code).toBe(1);
      expect(peerDel.stderr).toMatch(/peer del/);
      L.ok('fdb', 'del', '00:00:00:00:00:00', 'vni', '42', 'dst', '192.0.2.77');
      expect(L.json<FdbRow[]>('fdb', 'show').some((r) => r.dst === '192.0.2.77')).toBe(false);
    });

    it('flush removes learned entries by default and static ones on request', () => {
      expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
      expect(L.json<FdbRow[]>('fdb', 'show').some((r) => r.type === 'learned')).toBe(true);
      // Traffic still in flight (ARP reconfirmation, the kernel vxlan's own
      // frames) may learn a MAC again right after the flush: what must not be
      // there is an entry the flush left behind, i.e. one stamped before it.
      const beforeFlush = Number(process.hrtime.bigint()); // CLOCK_MONOTONIC, as the data path's stamps
      L.ok('fdb', 'flush', 'vni', '42');
      const dp = Datapath.open(L.pinDir);
      try {
        const survivors = dp.fdb.list().filter((r) => !r.static && r.updatedNs < beforeFlush);
        expect(survivors).toEqual([]);
      } finally {
        dp.close();
      }
      const rows = L.json<FdbRow[]>('fdb', 'show');
      expect(rows.some((r) => r.type === 'static')).toBe(true);
      L.ok('fdb', 'flush', 'static');
      expect(L.json<FdbRow[]>('fdb', 'show').some((r) => r.type === 'static')).toBe(false);
      expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
    });

    it('rejects bad input with exit 1 and one line naming it', () => {
      for (const args of [
        ['fdb', 'add', 'zz:00:00:00:00:01', 'vni', '42', 'dst', '192.0.2.2'],
        ['fdb', 'add', '02:00:00:00:00:01', 'vni', '0', 'dst', '192.0.2.2'],
        ['fdb', 'add', '02:00:00:00:00:01', 'vni', '42'],
        ['fdb', 'add', '01:00:5e:00:00:01', 'vni', '42', 'dst', '192.0.2.2'],
        ['fdb', 'add', '02:00:00:00:00:01', 'vni', '42', 'dst', '2001:db8::1'],
        ['fdb', 'add', '02:00:00:00:00:01', 'vni', '43', 'dst', '192.0.2.2'],
        ['fdb', 'append', '02:00:00:00:00:01', 'vni', '42', 'dst', '192.0.2.2'],
        ['fdb', 'add', '02:00:00:00:00:01', 'vni', '42', 'bogus', 'x'],
      ]) {
        const r = L.cli([...args, '--pin-dir', L.pinDir]);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
        expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
        expect(r.stderr).toMatch(/^xvtep: /);
      }
    });
  });

  describe('vni, peer, neigh', () => {
    it('vni add attaches the endpoint; vni show; vni del detaches it', () => {
      L.ok('vni', 'add', '43', 'endpoint', 'epa2', 'learning', 'off', 'proxy', 'on');
      const v = L.json<Array<{ vni: number; statsSlot: number; learning: boolean; proxyArp: boolean; endpoints: string[] }>>('vni', 'show');
      expect(v.find((x) => x.vni === 43)).toMatchObject({ statsSlot: 2, learning: false, proxyArp: true, endpoints: ['epa2'] });
      expect(L.json<Status>('status').interfaces.find((i) => i.iface === 'epa2')).toMatchObject({ role: 'endpoint', attached: true });
      expect(L.cli(['vni', 'add', '43', '--pin-dir', L.pinDir]).code).toBe(2);
      const taken = L.cli(['vni', 'add', '44', 'endpoint', 'epa', '--pin-dir', L.pinDir]);
      expect(taken.code).toBe(1);
      expect(taken.stderr).toMatch(/already belongs to VNI 42/);
    });

    it('peer add/show/del keeps the flood list in step', () => {
      L.ok('peer', 'add', '192.0.2.3', 'vni', '43');
      expect(L.json<Array<{ vni: number; address: string }>>('peer', 'show', 'vni', '43')).toEqual([{ vni: 43, address: '192.0.2.3' }]);
      expect(L.json<FdbRow[]>('fdb', 'show', 'vni', '43')).toContainEqual({ mac: '00:00:00:00:00:00', vni: 43, dst: '192.0.2.3', type: 'flood (peer)' });
      expect(L.ok('peer', 'show')).toContain('192.0.2.3 vni 43');
      L.ok('peer', 'del', '192.0.2.3', 'vni', '43');
      expect(L.json<unknown[]>('peer', 'show', 'vni', '43')).toEqual([]);
      expect(L.json<FdbRow[]>('fdb', 'show', 'vni', '43')).toEqual([]);
      expect(L.cli(['peer', 'del', '192.0.2.3', 'vni', '43', '--pin-dir', L.pinDir]).code).toBe(2);
    });

    it('neigh add/show/replace/del', () => {
      L.ok('neigh', 'add', '203.0.113.5', 'lladdr', '02:00:00:00:00:05', 'vni', '43');
      L.ok('neigh', 'add', '2001:db8:1::5', 'lladdr', '02:00:00:00:00:06', 'vni', '43');
      expect(L.json('neigh', 'show', 'vni', '43')).toEqual([
        { vni: 43, ip: '2001:db8:1::5', mac: '02:00:00:00:00:06' },
        { vni: 43, ip: '203.0.113.5', mac: '02:00:00:00:00:05' },
      ]);
      expect(L.cli(['neigh', 'add', '203.0.113.5', 'lladdr', '02:00:00:00:00:07', 'vni', '43', '--pin-dir', L.pinDir]).code).toBe(2);
      L.ok('neigh', 'replace', '203.0.113.5', 'lladdr', '02:00:00:00:00:07', 'vni', '43');
      expect(L.ok('neigh', 'show')).toContain('203.0.113.5 lladdr 02:00:00:00:00:07 vni 43');
      L.ok('neigh', 'del', '203.0.113.5', 'vni', '43');
      expect(L.json<unknown[]>('neigh', 'show', 'vni', '43')).toHaveLength(1);
    });

    it('vni del removes the VNI with everything of it', () => {
      L.ok('vni', 'del', '43');
      expect(L.json<Array<{ vni: number }>>('vni', 'show').map((v) => v.vni)).toEqual([42]);
      expect(L.json<unknown[]>('neigh', 'show')).toEqual([]);
      expect(L.json<Status>('status').interfaces.some((i) => i.iface === 'epa2')).toBe(false);
    });
  });

  describe('config check, config diff, attach -c: the file wins over live edits', () => {
    it('config check accepts a good file (text and JSON)', () => {
      const f = L.file('good.json', L.config());
      expect(L.cli(['config', 'check', f]).stdout).toMatch(/: ok \(1 VNI/);
      expect(JSON.parse(L.cli(['config', 'check', f, '-j']).stdout)).toMatchObject({ ok: true, vnis: 1 });
    });

    it('config diff lists what a reload would change, including removing CLI-added entries', () => {
      L.ok('fdb', 'add', '02:00:00:00:00:cc', 'vni', '42', 'dst', '192.0.2.2');
      const f = L.file('two.json', L.config({
        vnis: [
          { vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'], fdb: [{ mac: '02:00:00:00:00:dd', remote: '192.0.2.2' }] },
          { vni: 44, endpoints: ['epa2'] },
        ],
      }));
      const d = JSON.parse(L.cli(['config', 'diff', f, '-j']).stdout) as { changes: number; lines: Array<{ op: string; map: string; text: string }> };
      expect(d.lines).toContainEqual({ op: '-', map: 'xv_fdb', text: '02:00:00:00:00:cc vni 42 dst 192.0.2.2 static' });
      expect(d.lines).toContainEqual({ op: '+', map: 'xv_fdb', text: '02:00:00:00:00:dd vni 42 dst 192.0.2.2 static' });
      expect(d.lines.some((l) => l.op === '+' && l.map === 'xv_vni' && l.text.startsWith('vni 44 '))).toBe(true);
      expect(d.lines.some((l) => l.op === '~' && l.map === 'xv_config')).toBe(false);
      expect(L.cli(['config', 'diff', f]).stdout).toMatch(/^- xv_fdb 02:00:00:00:00:cc/m);
      // attach -c is a reload: afterwards the maps are the file
      L.ok('attach', '-c', f);
      const rows = L.json<FdbRow[]>('fdb', 'show');
      expect(rows.some((r) => r.mac === '02:00:00:00:00:cc')).toBe(false);
      expect(rows).toContainEqual({ mac: '02:00:00:00:00:dd', vni: 42, dst: '192.0.2.2', type: 'static' });
      expect(L.cli(['config', 'diff', f]).stdout).toBe('no changes\n');
      const s = L.json<Status>('status');
      expect(s.config).toMatchObject({ generation: 2, path: f });
      expect(s.vnis.map((v) => v.vni)).toEqual([42, 44]);
      expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
    });

    it('commands find the pins through -c FILE', () => {
      const f = L.file('two-again.json', L.config({ vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'] }] }));
      const r = L.cli(['vni', 'show', '-c', f, '-j']);
      expect(r.code).toBe(0);
      expect((JSON.parse(r.stdout) as Array<{ vni: number }>).map((v) => v.vni)).toEqual([42, 44]);
    });

    it('usage errors exit 1, missing state exits 2', () => {
      expect(L.cli(['attach']).code).toBe(1);
      expect(L.cli(['frobnicate']).code).toBe(1);
      expect(L.cli(['attach', '-c', '/nonexistent.yaml']).code).toBe(1);
      const none = L.cli(['status', '--pin-dir', L.bpffs.path('nothing')]);
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/no xvtep state pinned here/);
      const notBpffs = L.cli(['attach', '--underlay', 'ua', '--vni', '5', '--endpoint', 'epa', '--pin-dir', '/tmp/xvtep-not-bpffs/x']);
      expect(notBpffs.code).toBe(2);
      expect(notBpffs.stderr).toMatch(/not a bpffs/);
      const noIf = L.cli(['attach', '--underlay', 'nope0', '--vni', '5', '--endpoint', 'epa', '--pin-dir', L.bpffs.path('other')]);
      expect(noIf.code).toBe(2);
      expect(noIf.stderr).toMatch(/nope0/);
      expect(L.cli(['status', '--pin-dir', L.bpffs.path('other')]).code).toBe(2); // a failed first attach leaves nothing
    });
  });

  describe('detach', () => {
    it('removes every program and pin; traffic stops', () => {
      L.ok('detach');
      expect(L.cli(['status', '--pin-dir', L.pinDir]).code).toBe(2);
      expect(L.lab.tryExec(L.a, 'ip', '-d', 'link', 'show', 'ua').out).not.toMatch(/prog\/xdp/);
      expect(L.lab.ping(L.c, '198.51.100.2', 1)).toBe(false);
    });
  });
});
