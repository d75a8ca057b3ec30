// What attaching the underlay puts where, per mode, for the GRO hand-off
// (bpf/underlay.h): native XDP gets xv_tc_underlay on tcx beside it, GRO on
// the device and rxGroIfindex naming it; skb and tc modes get neither. And
// the manager's Attachments: a switch from native to skb mode takes the tcx
// half away with it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ifindexOf } from '../../src/bpf/index.js';
import { Datapath, attachUnderlay, type Attachment } from '../../src/datapath/index.js';
import { Attachments } from '../../src/reconcile/attach.js';
import { Lab } from '../helpers/lab.js';
import { TempBpffs } from '../helpers/bpffs.js';
import { describeKernel } from '../helpers/kernel.js';
import { handOffKernel } from '../helpers/tcmode.js';

const SETTINGS = {
  port: 4789, localAddress: '192.0.2.1', underlayMtu: 1500, srcPortMin: 0, srcPortMax: 0, ttl: 64, tos: 0, tosInherit: false,
  df: 'unset' as const, udp6ZeroChecksum: false, fdbRefreshMs: 0, epChecksumComplete: false, nhCacheMs: 0,
};

describeKernel('underlay attach: the GRO hand-off', () => {
  let lab: Lab;
  let fs: TempBpffs;
  let dp: Datapath;
  let ns: string;
  let ul0 = 0;
  const gro = () => /^generic-receive-offload: on/m.test(lab.exec(ns, 'ethtool', '-k', 'ul0'));
  const hooks = (a: Attachment) => [...a.links.keys()].sort();
  beforeAll(async () => {
    lab = new Lab('aul');
    ns = lab.host('a');
    const b = lab.host('b');
    lab.link(ns, 'ul0', b, 'ul0', '192.0.2.1/24', '192.0.2.2/24');
    ul0 = lab.in(ns, () => ifindexOf('ul0'));
    fs = new TempBpffs();
    dp = await Datapath.load({ sizes: { fdb: 64 } });
    dp.configure({ ...SETTINGS, underlayIfindex: ul0 });
  });
  afterAll(() => {
    dp?.close();
    fs?.destroy();
    lab?.destroy();
  });

  it('native: XDP and xv_tc_underlay on tcx, GRO turned on (a veth starts without), rxGroIfindex = the device; configure() keeps it', () => {
    expect(gro()).toBe(false);
    const a = lab.in(ns, () => attachUnderlay(dp, 'ul0', 'native', 4));
    if (!handOffKernel) {
      // the kernel cannot run the hand-off (probed): XDP alone, GRO left as it was, and said so
      for (const l of a.links.values()) l.close();
      expect(hooks(a)).toEqual(['xdp']);
      expect(a.notes.join('\n')).toMatch(/underlay ul0: .*so the GRO hand-off is off: TCP to endpoints is redirected segment by segment/);
      expect(gro()).toBe(false);
      expect(dp.config.get(0)!.rxGroIfindex).toBe(0);
      return;
    }
    try {
      expect(hooks(a)).toEqual(['tcx-ingress', 'xdp']);
      expect(a.notes.join('\n')).toMatch(/enabled GRO on underlay ul0/);
      expect(gro()).toBe(true);
      expect(dp.config.get(0)!.rxGroIfindex).toBe(ul0);
      dp.configure({ ...SETTINGS, underlayIfindex: ul0, ttl: 9 });
      expect(dp.config.get(0)).toMatchObject({ ttl: 9, rxGroIfindex: ul0 });
    } finally {
      for (const l of a.links.values()) l.close();
    }
    // attaching again finds GRO on and says nothing about it
    const again = lab.in(ns, () => attachUnderlay(dp, 'ul0', 'native', 4));
    for (const l of again.links.values()) l.close();
    expect(again.notes.join('\n')).not.toMatch(/GRO/);
  });

  it('skb and tc modes: no hand-off (generic XDP runs after GRO; tc mode decapsulates on tcx itself)', () => {
    for (const [mode, want] of [['skb', ['xdp']], ['tc', ['tcx-ingress']]] as const) {
      dp.setRxGro(ul0);
      const a = lab.in(ns, () => attachUnderlay(dp, 'ul0', mode, 4));
      try {
        expect(hooks(a)).toEqual(want);
        expect(dp.config.get(0)!.rxGroIfindex).toBe(0);
      } finally {
        for (const l of a.links.values()) l.close();
      }
    }
  });

  it('the manager: switching native -> skb leaves only the XDP hook; detaching removes both', () => {
    const pinDir = fs.path('pins');
    dp.pin(pinDir);
    const att = new Attachments(pinDir, dp);
    const live = () => lab.in(ns, () => att.list()).filter((h) => h.iface === 'ul0').map((h) => `${h.hook} ${h.attached ? h.xdpMode ?? 'tcx' : 'defunct'}`);
    const native = handOffKernel ? ['tcx-ingress tcx', 'xdp driver'] : ['xdp driver'];
    lab.in(ns, () => att.ensureUnderlay('ul0', 'native', 4));
    expect(live()).toEqual(native);
    expect(dp.config.get(0)!.rxGroIfindex).toBe(handOffKernel ? ul0 : 0);
    lab.in(ns, () => att.ensureUnderlay('ul0', 'skb', 4));
    expect(live()).toEqual(['xdp skb']);
    expect(dp.config.get(0)!.rxGroIfindex).toBe(0);
    lab.in(ns, () => att.ensureUnderlay('ul0', 'native', 4));
    expect(live()).toEqual(native);
    expect(att.removeAll()).toBe(native.length);
    expect(live()).toEqual([]);
    Datapath.unpin(pinDir);
  });
});
