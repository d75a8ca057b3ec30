// xvtep -batch end to end in a namespace lab (host a: xvtep, host b: the
// kernel's vxlan): all or nothing, -force, comments, stdin, shows identical
// to the single commands, and a stream that crosses a 10,000-line batch.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { BIN, VtepLab } from '../helpers/vtep-lab.js';
import { snapshotMaps } from '../helpers/snapshot.js';
import { startStream } from '../helpers/stream.js';

interface FdbRow { mac: string; vni: number; dst?: string; dev?: string; type: string }

const mac = (i: number) => `02:${[(i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255, 0x5b].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
const fdbLines = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `fdb add ${mac(from + i)} vni 42 dst 192.0.2.2`);

describeKernel('xvtep -batch', () => {
  let L: VtepLab;
  let cfg: string;
  const batch = (lines: string[] | string, ...args: string[]) => {
    const p = L.file(`b${Math.random().toString(36).slice(2)}.txt`, Array.isArray(lines) ? lines.join('\n') + '\n' : lines);
    return { path: p, ...L.cli(['-batch', p, ...args, '--pin-dir', L.pinDir]) };
  };
  const staticMacs = () => L.json<FdbRow[]>('fdb', 'show').filter((r) => r.type === 'static').map((r) => r.mac);

  beforeAll(() => {
    // no IPv6 chatter: the maps must stay still between two snapshots
    L = new VtepLab('bat', { ipv6: false });
    cfg = L.file('x.json', L.config({ capacity: { fdb: 65536 } }));
    L.ok('attach', '-c', cfg);
  });
  afterAll(() => L?.destroy());

  describe('all or nothing without -force', () => {
    it('a bad line 9,999 of 10,000 leaves every map byte for byte as it was', () => {
      const lines = fdbLines(10_000);
      lines[9998] = 'fdb add 02:00:00:00:zz:01 vni 42 dst 192.0.2.2';
      const before = snapshotMaps(L.pinDir);
      const r = batch(lines);
      expect(r.code).toBe(1);
      const errs = r.stderr.trim().split('\n');
      expect(errs.filter((l) => /:\d+: /.test(l))).toEqual([`xvtep: ${r.path}:9999: fdb add: "02:00:00:00:zz:01" is not a MAC address (aa:bb:cc:dd:ee:ff)`]);
      expect(errs.at(-1)).toBe('xvtep: 1 of 10000 command(s) failed; nothing applied (-force applies the others)');
      expect(snapshotMaps(L.pinDir)).toEqual(before);
    });

    it('a line the maps refuse (EEXIST, unknown VNI) stops the batch too, each named by its line', () => {
      L.ok('fdb', 'add', '02:00:00:00:aa:01', 'vni', '42', 'dst', '192.0.2.2');
      const before = snapshotMaps(L.pinDir);
      const r = batch([
        'fdb add 02:00:00:00:aa:02 vni 42 dst 192.0.2.2',
        'fdb add 02:00:00:00:aa:01 vni 42 dst 192.0.2.2',
        'fdb add 02:00:00:00:aa:03 vni 7 dst 192.0.2.2',
        'neigh add 198.51.100.9 lladdr 02:00:00:00:aa:09 vni 42',
        'frob add 1',
      ]);
      expect(r.code).toBe(1);
      const errs = r.stderr.trim().split('\n');
      expect(errs[0]).toBe(`xvtep: ${r.path}:2: fdb 02:00:00:00:aa:01 vni 42: EEXIST (already exists): use \`xvtep fdb replace\``);
      expect(errs[1]).toBe(`xvtep: ${r.path}:3: VNI 7 is not configured (xvtep vni add 7 ...)`);
      expect(errs[2]).toMatch(new RegExp(`^xvtep: ${r.path}:5: unknown command 'frob'`));
      expect(errs).toHaveLength(4);
      expect(snapshotMaps(L.pinDir)).toEqual(before);
      L.ok('fdb', 'del', '02:00:00:00:aa:01', 'vni', '42');
    });

    it('a batch the loaded maps cannot hold is refused before any write', () => {
      const before = snapshotMaps(L.pinDir);
      const r = batch(fdbLines(65_537));
      expect(r.code).toBe(1);
      const have = L.json<FdbRow[]>('fdb', 'show').filter((x) => x.mac !== '00:00:00:00:00:00').length;
      expect(r.stderr).toBe(`xvtep: ${r.path}: the batch leaves ${have + 65_537} fdb entries but the loaded map holds 65536; nothing applied (detach and attach with a larger capacity.fdb)\n`);
      expect(snapshotMaps(L.pinDir)).toEqual(before);
    });

    it('10,000 good lines all apply, checked against what the batch itself added', () => {
      const lines = [...fdbLines(10_000), `fdb replace ${mac(5)} vni 42 dst 192.0.2.3`, `fdb del ${mac(6)} vni 42`];
      const r = batch(lines);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const rows = L.json<FdbRow[]>('fdb', 'show').filter((x) => x.type === 'static');
      expect(rows).toHaveLength(9_999);
      expect(rows).toContainEqual({ mac: mac(5), vni: 42, dst: '192.0.2.3', type: 'static' });
      expect(rows.some((x) => x.mac === mac(6))).toBe(false);
      expect(batch(fdbLines(10_000).map((l) => l.replace('fdb add', 'fdb del').replace(' dst 192.0.2.2', '')).filter((l) => !l.includes(mac(6)))).code).toBe(0);
      expect(staticMacs()).toEqual([]);
    });
  });

  describe('VNIs and peers', () => {
    it('a VNI, its endpoint, peer and entries in one batch, attached as vni add attaches; vni del in another', () => {
      L.endpoint('epa3', 'ca3');
      const r = batch([
        'vni add 43 endpoint epa3 learning off',
        'peer add 192.0.2.7 vni 43',
        'fdb add 02:00:00:00:43:01 vni 43 dev epa3',
        'fdb add 02:00:00:00:43:02 vni 43 dst 192.0.2.7',
        'fdb append 00:00:00:00:00:00 vni 43 dst 192.0.2.8',
        'vni show -j',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const vnis = JSON.parse(r.stdout) as Array<{ vni: number; learning: boolean; endpoints: string[]; peers: string[] }>;
      expect(vnis.find((v) => v.vni === 43)).toMatchObject({ learning: false, endpoints: ['epa3'], peers: ['192.0.2.7'] });
      const status = L.json<{ interfaces: Array<{ iface: string; role: string; attached: boolean }> }>('status');
      expect(status.interfaces.find((i) => i.iface === 'epa3')).toMatchObject({ role: 'endpoint', attached: true });
      const rows = L.json<FdbRow[]>('fdb', 'show', 'vni', '43');
      expect(rows).toEqual(expect.arrayContaining([
        { mac: '02:00:00:00:43:01', vni: 43, dev: 'epa3', type: 'static' },
        { mac: '02:00:00:00:43:02', vni: 43, dst: '192.0.2.7', type: 'static' },
        { mac: '00:00:00:00:00:00', vni: 43, dst: '192.0.2.7', type: 'flood (peer)' },
        { mac: '00:00:00:00:00:00', vni: 43, dst: '192.0.2.8', type: 'flood' },
      ]));
      // the VNI is gone with everything of it, and a line after it may not use it
      const bad = batch(['vni del 43', 'fdb add 02:00:00:00:43:03 vni 43 dst 192.0.2.7']);
      expect(bad.code).toBe(1);
      expect(bad.stderr.split('\n')[0]).toBe(`xvtep: ${bad.path}:2: VNI 43 is not configured (xvtep vni add 43 ...)`);
      expect(L.json<Array<{ vni: number }>>('vni', 'show').map((v) => v.vni)).toContain(43);
      expect(batch(['vni del 43']).code).toBe(0);
      expect(L.json<Array<{ vni: number }>>('vni', 'show').map((v) => v.vni)).toEqual([42]);
      expect(L.json<{ interfaces: Array<{ iface: string }> }>('status').interfaces.some((i) => i.iface === 'epa3')).toBe(false);
    });
  });

  describe('-force', () => {
    it('applies the good lines, names the bad ones, exits 1', () => {
      const r = batch([
        'fdb add 02:00:00:00:bb:01 vni 42 dst 192.0.2.2',
        'fdb add 02:00:00:00:bb:02 vni 42',
        'fdb add 02:00:00:00:bb:03 vni 42 dst 192.0.2.2',
        'fdb add 02:00:00:00:bb:01 vni 42 dst 192.0.2.2',
        'neigh add 198.51.100.20 lladdr 02:00:00:00:bb:20 vni 42',
        'fdb show --pin-dir /elsewhere',
      ], '-force');
      expect(r.code).toBe(1);
      const errs = r.stderr.trim().split('\n');
      expect(errs).toEqual([
        `xvtep: ${r.path}:2: fdb add: give exactly one of "dst IP" (remote VTEP) or "dev IFACE" (local endpoint)`,
        `xvtep: ${r.path}:4: fdb 02:00:00:00:bb:01 vni 42: EEXIST (already exists): use \`xvtep fdb replace\``,
        `xvtep: ${r.path}:6: fdb show: --pin-dir applies to the whole batch: give it on the command line`,
        'xvtep: 3 of 6 command(s) failed; the others were applied',
      ]);
      expect(staticMacs().sort()).toEqual(['02:00:00:00:bb:01', '02:00:00:00:bb:03']);
      expect(L.ok('neigh', 'show')).toContain('198.51.100.20 lladdr 02:00:00:00:bb:20 vni 42');
      L.ok('fdb', 'flush', 'static');
      L.ok('neigh', 'del', '198.51.100.20', 'vni', '42');
    });
  });

  describe('syntax and input', () => {
    it('takes # comments, blank lines and quotes; line numbers count them', () => {
      const r = batch('# a comment\n\n   \nfdb add 02:00:00:00:cc:01 vni "42" dst 192.0.2.2 # why\n\t# indented comment\nfdb add 02:00:00:00:cc:02 vni 42 dst nowhere\n');
      expect(r.code).toBe(1);
      expect(r.stderr.split('\n')[0]).toBe(`xvtep: ${r.path}:6: fdb add: "nowhere" is not an IP address`);
      const ok = batch('# a comment\n\nfdb add 02:00:00:00:cc:01 vni "42" dst 192.0.2.2 # why\n');
      expect(ok.code).toBe(0);
      expect(staticMacs()).toEqual(['02:00:00:00:cc:01']);
      L.ok('fdb', 'del', '02:00:00:00:cc:01', 'vni', '42');
    });

    it('reads standard input with -batch -', () => {
      const run = (input: string) => spawnSync('ip', ['netns', 'exec', L.a, process.execPath, BIN, '--pin-dir', L.pinDir, '-batch', '-'], { input, encoding: 'utf8' });
      const r = run('fdb add 02:00:00:00:dd:01 vni 42 dst 192.0.2.2\nfdb show vni 42\n');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('02:00:00:00:dd:01 vni 42 dst 192.0.2.2 static');
      const bad = run('\nfdb del 02:00:00:00:dd:99 vni 42\n');
      expect(bad.status).toBe(1);
      expect(bad.stderr.split('\n')[0]).toBe('xvtep: stdin:2: fdb 02:00:00:00:dd:99 vni 42: ENOENT (no such entry)');
      L.ok('fdb', 'del', '02:00:00:00:dd:01', 'vni', '42');
    });

    it('-c FILE names the instance for every line, as --pin-dir does', () => {
      const p = L.file('c.txt', 'fdb add 02:00:00:00:dd:02 vni 42 dst 192.0.2.2\nfdb show vni 42\n');
      const r = L.cli(['-c', cfg, '-batch', p]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('02:00:00:00:dd:02 vni 42 dst 192.0.2.2 static');
      L.ok('fdb', 'del', '02:00:00:00:dd:02', 'vni', '42');
    });

    it('usage errors of the batch itself exit 1 in one line', () => {
      for (const args of [['-batch'], ['-batch', '/nonexistent/x'], ['-batch', '-', '--frob']]) {
        const r = L.cli([...args, '--pin-dir', L.pinDir]);
        expect(r.code, args.join(' ')).toBe(1);
        expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      }
    });
  });

  describe('show commands', () => {
    it('print exactly what the single commands print, text and JSON (-j on the line or for the batch)', () => {
      L.ok('fdb', 'add', '02:00:00:00:ee:01', 'vni', '42', 'dst', '192.0.2.2');
      L.ok('fdb', 'add', '02:00:00:00:ee:02', 'vni', '42', 'dev', 'epa');
      L.ok('neigh', 'add', '198.51.100.30', 'lladdr', '02:00:00:00:ee:30', 'vni', '42');
      const shows = [['fdb', 'show'], ['fdb', 'show', 'vni', '42'], ['vni', 'show'], ['peer', 'show'], ['neigh', 'show', 'vni', '42']];
      const single = shows.map((s) => L.ok(...s)).join('') + shows.map((s) => L.ok(...s, '-j')).join('');
      const r = batch([...shows.map((s) => s.join(' ')), ...shows.map((s) => `${s.join(' ')} -j`)]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(single);
      const json = batch(shows.map((s) => s.join(' ')), '-j');
      expect(json.stdout).toBe(shows.map((s) => L.ok(...s, '-j')).join(''));
    });

    it('a show sees the edits of the lines before it', () => {
      const without = L.ok('fdb', 'show', 'vni', '42');
      const r = batch(['fdb add 02:00:00:00:ee:03 vni 42 dst 192.0.2.2', 'fdb show vni 42', 'fdb del 02:00:00:00:ee:03 vni 42', 'fdb show vni 42']);
      expect(r.code).toBe(0);
      expect(r.stdout.endsWith(without)).toBe(true);
      const first = r.stdout.slice(0, -without.length);
      expect(first.split('\n').filter((l) => l !== '02:00:00:00:ee:03 vni 42 dst 192.0.2.2 static').join('\n')).toBe(without);
      L.ok('fdb', 'flush', 'static');
      L.ok('neigh', 'del', '198.51.100.30', 'vni', '42');
    });
  });

  describe('live traffic', () => {
    it('a stream across the tunnel loses nothing while a batch of 10,000 edits applies', async () => {
      // b's vxlan0 is the stream's destination: the batch rewrites its entry too
      const bMac = JSON.parse(L.lab.exec(L.b, 'ip', '-j', 'link', 'show', 'vxlan0'))[0].address as string;
      expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
      const stream = await startStream(L.c, L.b, '198.51.100.2', 5190, 12_000, 2000);
      await new Promise((r) => setTimeout(r, 1000));
      const lines = [...fdbLines(9_999, 100_000), `fdb replace ${bMac} vni 42 dst 192.0.2.2`];
      const p = L.file('live.txt', lines.join('\n') + '\n');
      await L.okAsync('-batch', p);
      expect(stream.running()).toBe(true);
      const res = await stream.done;
      expect(res.sent).toBe(12_000);
      expect(res.missing).toBe(0);
      expect(res.received).toBe(12_000);
      expect(L.json<FdbRow[]>('fdb', 'show')).toContainEqual({ mac: bMac, vni: 42, dst: '192.0.2.2', type: 'static' });
      expect(staticMacs()).toHaveLength(10_000);
    }, 90_000);
  });
});
