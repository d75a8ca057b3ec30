// Under a running sequence-numbered UDP stream in both directions, hot
// updates (reloads, live edits, flushes) and a SIGKILLed daemon lose nothing,
// and the counters never go backwards.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { renameSync, writeFileSync } from 'node:fs';
import { Datapath } from '../../src/datapath/datapath.js';
import { describeKernel } from '../helpers/kernel.js';
import { VtepLab, exited, waitFor } from '../helpers/vtep-lab.js';
import { startStream } from '../helpers/stream.js';

const mac = (i: number) => `02:10:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}:01`;

describeKernel('no loss under hot updates and daemon restarts', () => {
  let L: VtepLab;
  let cfgPath: string;
  let bMac: string;
  const save = (doc: unknown) => {
    writeFileSync(`${cfgPath}.tmp`, JSON.stringify(doc));
    renameSync(`${cfgPath}.tmp`, cfgPath);
  };
  const generation = () => L.json<{ config: { generation: number; lastReload: { ok: boolean; error?: string } } }>('status').config;
  const reload = async (doc: unknown) => {
    const g = generation().generation;
    save(doc);
    await waitFor(() => {
      const c = generation();
      if (!c.lastReload.ok) throw new Error(`reload failed: ${c.lastReload.error}`);
      return c.generation > g;
    }, 20_000, () => 'reload did not happen');
  };
  const base = (extra: unknown[] = [], v42: Record<string, unknown> = {}) => L.config({
    vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'], ...v42 }, { vni: 44, endpoints: ['epa2'] }, ...extra],
  });

  beforeAll(() => {
    L = new VtepLab('hot', { ipv6: false });
    L.endpoint('epa2', 'ca2');
    L.endpoint('epa3', 'ca3');
    L.endpoint('epa4', 'ca4');
    bMac = (JSON.parse(L.lab.exec(L.b, 'ip', '-j', 'link', 'show', 'vxlan0')) as Array<{ address: string }>)[0]!.address;
    cfgPath = L.file('xvtep.json', base());
  });
  afterAll(() => L?.destroy());

  it('reloads and live edits during two sequence-numbered streams drop and duplicate nothing', async () => {
    await L.daemon(cfgPath);
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
    expect(L.lab.ping(L.b, '198.51.100.1', 2)).toBe(true);
    // Streams long enough to outlast every edit below; stopped once they are done.
    const up = await startStream(L.c, L.b, '198.51.100.2', 5001, 60_000, 1000);
    const down = await startStream(L.b, L.c, '198.51.100.1', 5002, 60_000, 1000);

    const bulk = (n: number, vni: number) => Array.from({ length: n }, (_, i) => ({ mac: mac(vni * 1000 + i), remote: '192.0.2.3' }));
    await reload(base([{ vni: 45, endpoints: ['epa3'], peers: ['192.0.2.3', '192.0.2.4'], fdb: bulk(200, 45) }]));
    await reload(base([{ vni: 45, endpoints: ['epa3'], peers: ['192.0.2.3'], fdb: bulk(100, 45) }], {
      peers: ['192.0.2.2', '192.0.2.3'], allowUnknownPeers: true, fdb: [{ mac: bMac, remote: '192.0.2.2' }, ...bulk(500, 42)],
    }));
    L.ok('fdb', 'add', '02:20:00:00:00:01', 'vni', '42', 'dst', '192.0.2.3');
    L.ok('fdb', 'replace', '02:20:00:00:00:01', 'vni', '42', 'dst', '192.0.2.4');
    L.ok('fdb', 'del', '02:20:00:00:00:01', 'vni', '42');
    L.ok('neigh', 'add', '198.51.100.9', 'lladdr', '02:20:00:00:00:09', 'vni', '42');
    L.ok('peer', 'add', '192.0.2.5', 'vni', '42');
    L.ok('vni', 'add', '46', 'endpoint', 'epa4');
    L.ok('fdb', 'flush', 'vni', '42');
    L.ok('vni', 'del', '46');
    L.ok('peer', 'del', '192.0.2.5', 'vni', '42');
    await reload(base([], { learning: false }));
    await reload(base());
    await new Promise((r) => setTimeout(r, 500));
    // every edit happened while both streams were flowing
    expect(up.running() && down.running()).toBe(true);
    up.stop();
    down.stop();

    const [u, d] = await Promise.all([up.done, down.done]);
    expect(u).toMatchObject({ missing: 0, duplicates: 0 });
    expect(d).toMatchObject({ missing: 0, duplicates: 0 });
    expect(u.received).toBeGreaterThan(2000);
    expect(d.received).toBeGreaterThan(2000);
  });

  it('SIGKILL of the daemon under traffic and a restart: no loss, same programs, counters never go backwards', async () => {
    const before = L.json<{ interfaces: Array<{ progId: number }>; daemon: { pid: number } }>('status');
    const dp = Datapath.open(L.pinDir);
    const slot = dp.vnis.get(42)!.statsSlot;
    const samples: Array<[number, number]> = [];
    const sample = () => {
      const s = dp.readStats(slot);
      samples.push([s.rxPackets, s.txPackets]);
    };
    const timer = setInterval(sample, 100);
    try {
      const up = await startStream(L.c, L.b, '198.51.100.2', 5003, 60_000, 1000);
      const down = await startStream(L.b, L.c, '198.51.100.1', 5004, 60_000, 1000);
      await new Promise((r) => setTimeout(r, 800));
      const old = [...L.daemons][0]!;
      old.kill('SIGKILL');
      await exited(old);
      await new Promise((r) => setTimeout(r, 500));
      const d = await L.daemon(cfgPath);
      expect(d.log()).toMatch(/applied .*: 0 map change\(s\)/);
      await new Promise((r) => setTimeout(r, 1000));
      expect(up.running() && down.running()).toBe(true); // the kill and the restart happened mid-stream
      up.stop();
      down.stop();
      const [u, dn] = await Promise.all([up.done, down.done]);
      expect(u).toMatchObject({ missing: 0, duplicates: 0 });
      expect(dn).toMatchObject({ missing: 0, duplicates: 0 });
      expect(Math.min(u.received, dn.received)).toBeGreaterThan(2000);
    } finally {
      clearInterval(timer);
    }
    sample();
    const after = L.json<{ interfaces: Array<{ progId: number }>; daemon: { pid: number } }>('status');
    expect(after.interfaces.map((i) => i.progId)).toEqual(before.interfaces.map((i) => i.progId));
    expect(after.daemon.pid).not.toBe(before.daemon.pid);
    for (let i = 1; i < samples.length; i++) {
      expect(samples[i]![0]).toBeGreaterThanOrEqual(samples[i - 1]![0]);
      expect(samples[i]![1]).toBeGreaterThanOrEqual(samples[i - 1]![1]);
    }
    expect(samples.at(-1)![0] - samples[0]![0]).toBeGreaterThan(2000);
    expect(samples.at(-1)![1] - samples[0]![1]).toBeGreaterThan(2000);
    dp.close();
  });
});
