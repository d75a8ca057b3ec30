import { afterAll, beforeAll, expect, it } from 'vitest';
import { AttachType, attachedProgramIds, ifindexOf, isTcxLink, sumPerCpu, u32, u64, type Collection } from '../../src/bpf/index.js';
import { loadFixture } from '../helpers/fixtures.js';
import { describeKernel } from '../helpers/kernel.js';
import { twoHosts, type Lab } from '../helpers/lab.js';

describeKernel('TC attach: tcx links and netlink clsact', () => {
  let lab: Lab;
  let a = '', b = '';
  let coll: Collection;
  beforeAll(async () => {
    ({ lab, a, b } = twoHosts('tc'));
    coll = await loadFixture('counter');
  });
  afterAll(() => {
    coll?.close();
    lab?.destroy();
  });

  const count = (slot: number) => sumPerCpu(coll.perCpuMap('counts', u32, u64).get(slot)!);

  it('tcx ingress and egress count packets both ways', () => {
    const ing = lab.in(b, () => coll.program('count_tc_ingress').attachTcx('veth-b', 'ingress'));
    const eg = lab.in(b, () => coll.program('count_tc_egress').attachTcx('veth-b', 'egress'));
    try {
      expect(isTcxLink(ing.info())).toBe(true);
      expect(ing.info().attachType).toBe(AttachType.TCX_INGRESS);
      expect(eg.info().attachType).toBe(AttachType.TCX_EGRESS);
      const ifindex = lab.in(b, () => ifindexOf('veth-b'));
      expect(lab.in(b, () => attachedProgramIds(ifindex, AttachType.TCX_INGRESS))).toEqual([coll.program('count_tc_ingress').id]);
      const i0 = count(1), e0 = count(2);
      expect(lab.ping(a, '192.0.2.2', 4)).toBe(true);
      expect(count(1) - i0).toBeGreaterThanOrEqual(4n); // echo requests in
      expect(count(2) - e0).toBeGreaterThanOrEqual(4n); // echo replies out
    } finally {
      ing.close();
      eg.close();
    }
    const i1 = count(1);
    expect(lab.ping(a, '192.0.2.2', 2)).toBe(true);
    expect(count(1)).toBe(i1);
  });

  it('netlink clsact filters count too, and are removed explicitly', () => {
    const r = lab.in(b, () => coll.program('count_tc_ingress').attachTc('veth-b', 'ingress', { mode: 'netlink' }));
    expect(r.kind).toBe('netlink');
    if (r.kind !== 'netlink') return;
    try {
      expect(r.filter.progId).toBe(coll.program('count_tc_ingress').id);
      const i0 = count(1);
      expect(lab.ping(a, '192.0.2.2', 3)).toBe(true);
      expect(count(1) - i0).toBeGreaterThanOrEqual(3n);
    } finally {
      expect(lab.in(b, () => r.filter.detach())).toBe(true);
    }
    const i1 = count(1);
    expect(lab.ping(a, '192.0.2.2', 2)).toBe(true);
    expect(count(1)).toBe(i1);
  });

  it('auto picks tcx on this kernel and says so', () => {
    const r = lab.in(b, () => coll.program('count_tc_egress').attachTc('veth-b', 'egress', { mode: 'auto' }));
    expect(r.kind).toBe('tcx');
    if (r.kind === 'tcx') r.link.close();
  });
});
