// A data path loaded with some of its programs loads any other when first
// asked for it, into the same maps (the pinned ones and the unpinned per-CPU
// caches and .rodata: nothing new is created), and pins it beside the others,
// where another process finds it instead of loading a second copy.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Datapath, ProgName } from '../../src/datapath/index.js';
import { pinExists } from '../../src/bpf/index.js';
import { TempBpffs } from '../helpers/bpffs.js';
import { describeKernel } from '../helpers/kernel.js';

/** The ids of every map the data path holds: its tables, and what its loaded programs use (caches, .rodata). */
const mapIds = (dp: Datapath) => new Set([
  ...[dp.fdb.map, dp.peers.map, dp.vnis.map, dp.neighbors.map, dp.endpoints.map, dp.flood.map, dp.config, dp.stats, dp.devs, dp.bcast, dp.gen].map((m) => m.info.id),
  ...[...dp.programs.values()].flatMap((p) => p.mapIds()),
]);

describeKernel('programs loaded when first asked for', () => {
  let fs: TempBpffs;
  let dp: Datapath;
  const pinDir = () => fs.path('inst');
  beforeAll(async () => {
    fs = new TempBpffs();
    dp = await Datapath.load({ programs: [ProgName.xdpUnderlay, ProgName.tcEndpoint] });
    dp.pin(pinDir());
  });
  afterAll(() => {
    dp?.close();
    Datapath.unpin(pinDir());
    fs?.destroy();
  });

  it('loads only the programs asked for at the start', () => {
    expect([...dp.programs.keys()].sort()).toEqual([ProgName.tcEndpoint, ProgName.xdpUnderlay]);
    expect(pinExists(`${pinDir()}/progs/${ProgName.xdpEndpoint}`)).toBe(false);
    expect(dp.programId(ProgName.xdpEndpoint)).toBeUndefined();
    expect(dp.programs.has(ProgName.xdpEndpoint)).toBe(false);
  });

  it('loads another into the same maps and pins it; a second process adopts that one', () => {
    const before = mapIds(dp);
    const p = dp.program(ProgName.xdpEndpoint);
    expect(p.name).toBe(ProgName.xdpEndpoint);
    // every map it uses is one the first programs use (it uses the FDB, the caches, .rodata)
    expect(p.mapIds().length).toBeGreaterThan(3);
    expect(p.mapIds().filter((id) => !before.has(id))).toEqual([]);
    expect(pinExists(`${pinDir()}/progs/${ProgName.xdpEndpoint}`)).toBe(true);
    expect(dp.program(ProgName.xdpEndpoint)).toBe(p);
    const other = Datapath.open(pinDir());
    try {
      expect(other.programId(ProgName.xdpEndpoint)).toBe(p.id);
      expect(other.program(ProgName.xdpEndpoint).id).toBe(p.id);
      expect(other.programId(ProgName.xdpEndpointFrags)).toBeUndefined();
      // loaded by the adopting process, from the ids of the programs it opened
      const frags = other.program(ProgName.xdpEndpointFrags);
      expect(frags.mapIds().filter((id) => !before.has(id))).toEqual([]);
      expect(dp.programId(ProgName.xdpEndpointFrags)).toBe(frags.id);
    } finally {
      other.close();
    }
  });

  it('a name that is no program of the object is an error, loading nothing', () => {
    expect(() => dp.program('xv_nope')).toThrow(/program xv_nope.*ENOENT.*not in this data path/);
  });

  it('an unpinned data path loads one just the same, into its own maps', async () => {
    const solo = await Datapath.load({ programs: [ProgName.tcEndpoint] });
    try {
      const ids = mapIds(solo);
      expect(solo.program(ProgName.tcUnderlay).mapIds().filter((id) => !ids.has(id))).toEqual([]);
    } finally {
      solo.close();
    }
  });
});
