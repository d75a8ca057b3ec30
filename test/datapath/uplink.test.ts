// xv_uplink, the devmap the XDP encap fast path redirects through: what
// setUplink() leaves in it, and pins of an xvtep that predates it (adopted
// without it, the rest of the data path unchanged).
import { unlinkSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ifindexOf } from '../../src/bpf/index.js';
import { Datapath, attachUnderlay } from '../../src/datapath/index.js';
import { Lab } from '../helpers/lab.js';
import { TempBpffs } from '../helpers/bpffs.js';
import { describeKernel } from '../helpers/kernel.js';

describeKernel('xv_uplink', () => {
  let lab: Lab;
  let fs: TempBpffs;
  let dp: Datapath;
  let ns: string;
  const ifx: Record<string, number> = {};
  beforeAll(async () => {
    lab = new Lab('upl');
    ns = lab.host('a');
    const b = lab.host('b');
    lab.link(ns, 'ul0', b, 'ul0', '192.0.2.1/24', '192.0.2.2/24');
    lab.link(ns, 'ul1', b, 'ul1', '192.0.2.129/25', '192.0.2.130/25');
    for (const d of ['ul0', 'ul1']) ifx[d] = lab.in(ns, () => ifindexOf(d));
    fs = new TempBpffs();
    dp = await Datapath.load({ sizes: { fdb: 64 } });
  });
  afterAll(() => {
    dp?.close();
    if (fs) Datapath.unpin(fs.path('dp'));
    fs?.destroy();
    lab?.destroy();
  });

  it('setUplink keeps exactly the device given, resolved in the caller\'s netns, and bumps the generation', () => {
    const gen0 = dp.gen.get(0);
    expect(lab.in(ns, () => dp.setUplink(ifx.ul0!))).toBe(true);
    expect(dp.uplink!.lookupBatch()).toEqual([[ifx.ul0, ifx.ul0]]);
    expect(dp.gen.get(0)).not.toBe(gen0);
    expect(lab.in(ns, () => dp.setUplink(ifx.ul1!))).toBe(true);
    expect(dp.uplink!.lookupBatch()).toEqual([[ifx.ul1, ifx.ul1]]);
  });

  it('pins without xv_uplink (an older xvtep) are adopted without it: setUplink says false and changes nothing', () => {
    dp.pin(fs.path('dp'));
    unlinkSync(fs.path('dp/maps/xv_uplink'));
    const adopted = Datapath.open(fs.path('dp'));
    try {
      expect(adopted.uplink).toBeUndefined();
      const gen0 = adopted.gen.get(0);
      expect(lab.in(ns, () => adopted.setUplink(ifx.ul0!))).toBe(false);
      expect(adopted.gen.get(0)).toBe(gen0);
      // attaching the underlay still works, and says what is missing
      const a = lab.in(ns, () => attachUnderlay(adopted, 'ul0', 'native', 4));
      for (const l of a.links.values()) l.close();
      expect(a.notes.join('\n')).toMatch(/underlay ul0: the pinned data path predates xv_uplink/);
      // the rest of the data path is the same one
      adopted.fdb.set({ vni: 7, mac: '02:00:00:00:00:07', dest: { kind: 'remote', remote: '192.0.2.2' }, static: true, updatedNs: 0 });
      expect(dp.fdb.get(7, '02:00:00:00:00:07')?.dest).toEqual({ kind: 'remote', remote: '192.0.2.2' });
      // pinning it again (as a reload does) neither fails nor invents the map
      adopted.pin(fs.path('dp'));
      const again = Datapath.open(fs.path('dp'));
      expect(again.uplink).toBeUndefined();
      again.close();
    } finally {
      adopted.close();
    }
  });
});
