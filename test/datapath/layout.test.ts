import { afterAll, beforeAll, expect, it } from 'vitest';
import { raw } from '../../src/bpf/index.js';
import {
  Datapath, addrKeyCodec, bumCodec, configCodec, epInfoCodec, fdbEntryCodec, fdbKeyCodec, fdbKeyOf, fdbValueOf, neighValCodec, peerValCodec,
  statsCodec, vniInfoCodec, type FdbRecord, type VtepSettings,
} from '../../src/datapath/index.js';
import { describeKernel } from '../helpers/kernel.js';

const settings: VtepSettings = {
  underlayIfindex: 1, port: 4789, localAddress: '192.0.2.1', underlayMtu: 1500, srcPortMin: 32768, srcPortMax: 61000,
  ttl: 64, tos: 0, tosInherit: false, df: 'unset', udp6ZeroChecksum: false, udp6ZeroChecksumRx: false, fdbRefreshMs: 1000,
  epChecksumComplete: false, nhCacheMs: 0, learnMaxTotal: 5000, learnEvents: true,
};

describeKernel('data path layout and tables', () => {
  let dp: Datapath;
  beforeAll(async () => {
    dp = await Datapath.load({ sizes: { fdb: 1000 } });
  });
  afterAll(() => dp?.close());

  it('every codec has the size the kernel gave the map (from the object BTF)', () => {
    const sizes: Array<[{ info: { keySize: number; valueSize: number } }, number, number]> = [
      [dp.config, 4, configCodec.size], [dp.vnis.map, 4, vniInfoCodec.size], [dp.endpoints.map, 4, epInfoCodec.size],
      [dp.fdb.map, fdbKeyCodec.size, fdbEntryCodec.size], [dp.peers.map, addrKeyCodec.size, peerValCodec.size],
      [dp.neighbors.map, addrKeyCodec.size, neighValCodec.size], [dp.flood.map, 4, bumCodec.size], [dp.stats, 4, statsCodec.size],
    ];
    for (const [m, k, v] of sizes) expect([m.info.keySize, m.info.valueSize]).toEqual([k, v]);
    expect(dp.fdb.map.info.maxEntries).toBe(1000);
    expect([...dp.programs.keys()].sort()).toEqual(['xv_tc_endpoint', 'xv_tc_underlay', 'xv_xdp_endpoint', 'xv_xdp_ep_frags', 'xv_xdp_underlay']);
  });

  it('settings round-trip through xv_config', () => {
    expect(dp.settings()).toBeUndefined();
    dp.configure(settings);
    expect(dp.settings()).toEqual(settings);
    dp.configure({ ...settings, localAddress: '2001:db8::1', port: 8472, df: 'inherit' });
    expect(dp.settings()).toMatchObject({ localAddress: '2001:db8::1', port: 8472, df: 'inherit' });
  });

  it('a VNI change rewrites the copies its endpoints and peers hold, and bumps the generation', () => {
    const vni = { learning: true, allowUnknownPeers: false, proxyArp: false, proxyNd: false, statsSlot: 3 };
    dp.setVni(42, vni);
    dp.endpoints.set(1, 42, { statsSlot: 3, flags: 0 });
    dp.peers.add(42, '192.0.2.2', { statsSlot: 3, flags: 0 });
    const g0 = dp.gen.get(0);
    dp.setVni(42, { ...vni, learning: false, statsSlot: 5 });
    expect(dp.gen.get(0)).not.toBe(g0);
    expect(dp.endpoints.map.get(1)).toEqual({ vni: 42, statsSlot: 5, vniFlags: 1 });
    expect(dp.peers.map.get({ vni: 42, family: 4, addr: Buffer.from('c0000202' + '00'.repeat(12), 'hex') })).toEqual({ statsSlot: 5, vniFlags: 1 });
    expect(dp.deleteVni(42)).toBe(true);
    expect(dp.peers.list()).toEqual([]);
  });

  it('FDB records and flood lists round-trip; ageing removes only old learned entries', () => {
    const now = process.hrtime.bigint();
    dp.fdb.setMany([
      { vni: 7, mac: '02:00:00:00:00:01', dest: { kind: 'remote', remote: '192.0.2.2' }, static: true, updatedNs: 0 },
      { vni: 7, mac: '02:00:00:00:00:02', dest: { kind: 'remote', remote: '2001:db8::2' }, static: false, updatedNs: Number(now) - 400e9 },
      { vni: 7, mac: '02:00:00:00:00:03', dest: { kind: 'local', ifindex: 1 }, static: false, updatedNs: Number(now) - 10e9 },
    ]);
    expect(dp.fdb.get(7, '02:00:00:00:00:02')!.dest).toEqual({ kind: 'remote', remote: '2001:db8::2' });
    const aged = dp.ageLearned(() => 300, now);
    expect(aged.map((r) => r.mac)).toEqual(['02:00:00:00:00:02']);
    expect(dp.fdb.list().map((r) => r.mac).sort()).toEqual(['02:00:00:00:00:01', '02:00:00:00:00:03']);
    dp.flood.set({ vni: 7, remotes: ['192.0.2.2', '2001:db8::3', '192.0.2.4'], locals: [1] });
    expect(dp.flood.get(7)).toEqual({ vni: 7, remotes: ['192.0.2.2', '192.0.2.4', '2001:db8::3'], locals: [1] });
    expect(() => dp.flood.set({ vni: 8, remotes: Array.from({ length: 33 }, (_, i) => `192.0.2.${i + 10}`), locals: [] })).toThrow(/at most 32 IPv4/);
  });

  it('the FDB batch encoder writes the bytes the codecs write; list(), fdbCounts() and deleteMany() read and remove them', async () => {
    const recs: FdbRecord[] = [
      { vni: 0xabcdef, mac: '02:aa:bb:cc:dd:ee', dest: { kind: 'remote', remote: '192.0.2.9' }, static: true, updatedNs: 0 },
      { vni: 9, mac: '02:00:00:00:00:09', dest: { kind: 'remote', remote: '2001:db8::9' }, static: false, updatedNs: 2 ** 40 + 7 },
      { vni: 9, mac: '02:00:00:00:00:0a', dest: { kind: 'local', ifindex: 77 }, static: true, updatedNs: 5 },
      { vni: 9, mac: '02:00:00:00:00:0b', dest: { kind: 'remote', remote: '192.0.2.9' }, static: true, updatedNs: 0 },
    ];
    expect(dp.fdb.setMany(recs)).toBe(recs.length);
    const bytes = dp.fdb.map.typed(raw(fdbKeyCodec.size), raw(fdbEntryCodec.size));
    for (const r of recs) {
      const k = Buffer.alloc(fdbKeyCodec.size), v = Buffer.alloc(fdbEntryCodec.size);
      fdbKeyCodec.encode(fdbKeyOf(r.vni, r.mac), k, 0);
      fdbEntryCodec.encode(fdbValueOf(r), v, 0);
      expect(bytes.get(k)?.toString('hex'), r.mac).toBe(v.toString('hex'));
    }
    const mine = (rs: FdbRecord[]) => rs.filter((r) => recs.some((x) => x.vni === r.vni && x.mac === r.mac)).sort((a, b) => a.mac.localeCompare(b.mac));
    expect(mine(dp.fdb.list())).toEqual(mine(recs));
    const all = dp.fdb.list();
    expect(await dp.fdbCounts()).toEqual({ static: all.filter((r) => r.static).length, learned: all.filter((r) => !r.static).length });
    expect((await dp.fdbCounts()).learned).toBeGreaterThan(0);
    expect(dp.fdb.deleteMany(recs)).toBe(recs.length);
    expect(mine(dp.fdb.list())).toEqual([]);
  });

  it('flood ports swap a fresh inner devmap in', () => {
    dp.setFloodPorts(7, [1]);
    const id1 = dp.bcast.get(7);
    dp.setFloodPorts(7, [1]);
    expect(dp.bcast.get(7)).not.toBe(id1);
    expect(dp.clearFloodPorts(7)).toBe(true);
  });

  it('flood ports of many VNIs go in in batches, each VNI its own inner devmap; a set too large writes nothing', () => {
    const vnis = Array.from({ length: 600 }, (_, i) => 100 + i); // more than one batch
    // a devmap holds existing devices only: lo (1) in every namespace
    dp.setFloodPortsMany(vnis.map((vni) => ({ vni, ports: vni % 2 ? [1] : [] })));
    const got = dp.floodPorts();
    expect(vnis.filter((v) => JSON.stringify(got.get(v)) !== JSON.stringify(v % 2 ? [1] : []))).toEqual([]);
    expect(new Set(vnis.map((v) => dp.bcast.get(v))).size).toBe(vnis.length);
    const before = dp.bcast.get(100);
    expect(() => dp.setFloodPortsMany([{ vni: 100, ports: [1] }, { vni: 5000, ports: Array.from({ length: 257 }, (_, i) => i + 1) }])).toThrow(/^VNI 5000: flood ports: E2BIG/);
    expect(dp.bcast.get(100)).toBe(before);
    expect(dp.bcast.get(5000)).toBeUndefined();
    expect(dp.clearFloodPortsMany(vnis)).toBe(vnis.length);
    expect(dp.floodPorts().size).toBe(0);
  });

  it('stats rows are read summed, and zeroed before reuse', () => {
    const all = dp.readAllStats();
    expect(all.size).toBe(dp.stats.info.maxEntries);
    expect(dp.readStats(3).rxPackets).toBe(0);
    expect(() => dp.zeroStats(0)).toThrow(/global/);
  });
});
