// attach -c and config diff with a file that has a cluster: section do what
// xvtep run's applies do: merge the last view of the cluster the daemon
// wrote for that pin dir (the file winning conflicts), and say so in one
// line; with no view, they say the cluster's entries are not part of it.
// No etcd is needed: neither command talks to it.
import { rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { statePath } from '../../src/reconcile/index.js';
import { describeKernel } from '../helpers/kernel.js';
import { VtepLab } from '../helpers/vtep-lab.js';

interface Diff { changes: number; lines: Array<{ op: string; map: string; text: string }>; cluster?: { note: string; conflicts: string[] } }

describeKernel('config diff and attach -c with a cluster: section', () => {
  let L: VtepLab;
  let f: string;
  let viewPath: string;
  beforeAll(() => {
    L = new VtepLab('ccv');
    viewPath = statePath(L.pinDir).replace(/\.json$/, '.cluster-view.json');
    f = L.file('cluster.json', {
      ...L.config({ vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'], fdb: [{ mac: '02:00:00:00:00:aa', remote: '192.0.2.2' }] }] }),
      cluster: { etcd: { endpoints: ['http://192.0.2.254:2379'] }, nodeName: 'a' },
    });
  });
  afterAll(() => {
    rmSync(viewPath, { force: true });
    L?.destroy();
  });

  it('with no view yet: attach applies the file alone and says the cluster is not part of it', () => {
    rmSync(viewPath, { force: true });
    const r = L.cli(['attach', '-c', f, '--pin-dir', L.pinDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/cluster: no view of the cluster in \S+ \(xvtep run writes one\): the cluster's entries are not part of this/);
    expect(L.cli(['config', 'diff', f, '--pin-dir', L.pinDir]).stdout).toBe('no changes\n');
  });

  it('config diff shows what run would apply: the last view merged, the file winning a conflict', () => {
    writeFileSync(viewPath, JSON.stringify({
      vnis: { 42: { peers: ['192.0.2.5'], fdb: [{ mac: '02:00:00:00:05:01', remote: '192.0.2.5' }, { mac: '02:00:00:00:00:aa', remote: '192.0.2.5' }], neighbors: [] } },
    }));
    const d = L.json<Diff>('config', 'diff', f);
    expect(d.lines).toContainEqual({ op: '+', map: 'xv_fdb', text: '02:00:00:00:05:01 vni 42 dst 192.0.2.5 static' });
    expect(d.lines.some((l) => l.op === '+' && l.map !== 'xv_fdb' && l.text.includes('192.0.2.5'))).toBe(true); // the peer
    expect(d.lines.some((l) => l.text.startsWith('02:00:00:00:00:aa'))).toBe(false); // the file's entry stays
    expect(d.cluster?.note).toMatch(/^cluster: merged the last view xvtep run wrote \(1 peer\(s\), 2 FDB entries, 0 neighbour\(s\), written \d+ s ago; /);
    expect(d.cluster?.conflicts).toEqual(['VNI 42 MAC 02:00:00:00:00:aa: the cluster says 192.0.2.5, the file 192.0.2.2; the file wins']);
    const text = L.cli(['config', 'diff', f, '--pin-dir', L.pinDir]);
    expect(text.stderr).toMatch(/^xvtep: cluster: conflict: VNI 42 MAC 02:00:00:00:00:aa: .* the file wins$/m);
    expect(text.stdout).toMatch(/^\+ xv_fdb 02:00:00:00:05:01 vni 42 dst 192.0.2.5 static$/m);
  });

  it('attach -c applies the file and the view; the view gone, diff shows the cluster entries going', () => {
    const r = L.cli(['attach', '-c', f, '--pin-dir', L.pinDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/cluster: merged the last view/);
    const rows = L.json<Array<{ mac: string; vni: number; dst?: string; type: string }>>('fdb', 'show');
    expect(rows).toContainEqual({ mac: '02:00:00:00:05:01', vni: 42, dst: '192.0.2.5', type: 'static' });
    expect(rows).toContainEqual({ mac: '02:00:00:00:00:aa', vni: 42, dst: '192.0.2.2', type: 'static' });
    expect(L.cli(['config', 'diff', f, '--pin-dir', L.pinDir]).stdout).toBe('no changes\n');
    rmSync(viewPath);
    const d = L.json<Diff>('config', 'diff', f);
    expect(d.lines).toContainEqual({ op: '-', map: 'xv_fdb', text: '02:00:00:00:05:01 vni 42 dst 192.0.2.5 static' });
    expect(d.cluster?.note).toMatch(/no view of the cluster/);
  });
});
