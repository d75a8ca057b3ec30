import { afterAll, beforeAll, expect, it } from 'vitest';
import { BpfMap, Link, PerCpuMap, ifindexOf, sumPerCpu, u32, u64, xdpModeOf, type Collection } from '../../src/bpf/index.js';
import { TempBpffs } from '../helpers/bpffs.js';
import { runChild } from '../helpers/child.js';
import { fixturePath, loadFixture } from '../helpers/fixtures.js';
import { describeKernel } from '../helpers/kernel.js';
import { twoHosts, type Lab } from '../helpers/lab.js';

describeKernel('pins and link lifetime', () => {
  let lab: Lab;
  let fs: TempBpffs;
  let a = '', b = '';
  let coll: Collection;
  beforeAll(async () => {
    fs = new TempBpffs();
    ({ lab, a, b } = twoHosts('pin'));
    coll = await loadFixture('counter');
  });
  afterAll(() => {
    coll?.close();
    lab?.destroy();
    fs?.destroy();
  });

  it('a pinned map and link reopen in another process with the same kernel ids', () => {
    const map = coll.perCpuMap('counts', u32, u64);
    const link = lab.in(b, () => coll.program('count_xdp').attachXdp('veth-b', { mode: 'driver' }));
    try {
      map.pin(fs.path('counts'));
      link.pin(fs.path('link'));
      const ids = runChild(`
        const m = bpf.PerCpuMap.open(${JSON.stringify(fs.path('counts'))});
        const l = bpf.Link.open(${JSON.stringify(fs.path('link'))});
        console.log(JSON.stringify({ map: m.info.id, link: l.info().id, prog: l.info().progId }));
      `) as { map: number; link: number; prog: number };
      expect(ids).toEqual({ map: map.info.id, link: link.info().id, prog: coll.program('count_xdp').id });
      expect(PerCpuMap.open(fs.path('counts')).info.id).toBe(map.info.id);
      expect(() => BpfMap.open(fs.path('counts'))).toThrow(/per-CPU map: use PerCpuMap/);
    } finally {
      link.unpin(fs.path('link'));
      link.close();
      map.close();
    }
    expect(lab.in(b, () => xdpModeOf(ifindexOf('veth-b')))).toBeUndefined();
  });

  it('an unpinned link that is garbage-collected detaches', async () => {
    const ifindex = lab.in(b, () => ifindexOf('veth-b'));
    (() => {
      lab.in(b, () => coll.program('count_xdp').attachXdp('veth-b', { mode: 'driver' }));
    })();
    expect(lab.in(b, () => xdpModeOf(ifindex))).toBe('driver');
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'run with --expose-gc').toBeTypeOf('function');
    for (let i = 0; i < 50 && lab.in(b, () => xdpModeOf(ifindex)) !== undefined; i++) {
      gc!();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(lab.in(b, () => xdpModeOf(ifindex))).toBeUndefined();
  });

  it('a pinned link keeps running after its process exits, until unpinned', () => {
    const ns = lab.netns(b);
    const out = runChild(`
      const ns = bpf.Netns.open(${JSON.stringify(b)});
      const spec = bpf.ObjectSpec.open(${JSON.stringify(fixturePath('counter'))});
      const coll = await spec.load();
      const link = ns.run(() => coll.program('count_xdp').attachXdp('veth-b', { mode: 'driver' }));
      link.pin(${JSON.stringify(fs.path('kept-link'))});
      coll.perCpuMap('counts').pin(${JSON.stringify(fs.path('kept-counts'))});
      console.log(JSON.stringify({ prog: coll.program('count_xdp').id }));
    `) as { prog: number };
    const ifindex = ns.run(() => ifindexOf('veth-b'));
    expect(ns.run(() => xdpModeOf(ifindex))).toBe('driver');
    const counts = PerCpuMap.open(fs.path('kept-counts')).typed(u32, u64);
    const before = sumPerCpu(counts.get(0)!);
    expect(lab.ping(a, '192.0.2.2', 3)).toBe(true);
    expect(sumPerCpu(counts.get(0)!) - before).toBeGreaterThanOrEqual(3n);
    const link = Link.open(fs.path('kept-link'));
    expect(link.info().progId).toBe(out.prog);
    link.unpin(fs.path('kept-link'));
    link.close();
    expect(ns.run(() => xdpModeOf(ifindex))).toBeUndefined();
    counts.close();
  });
});
