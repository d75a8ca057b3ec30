import { afterAll, beforeAll, expect, it } from 'vitest';
import { sumPerCpu, u32, u64, xdpModeOf, type Collection } from '../../src/bpf/index.js';
import { loadFixture } from '../helpers/fixtures.js';
import { describeKernel } from '../helpers/kernel.js';
import { twoHosts, type Lab } from '../helpers/lab.js';

describeKernel('XDP attach through bpf_link', () => {
  let lab: Lab;
  let a = '', b = '';
  let coll: Collection;
  beforeAll(async () => {
    ({ lab, a, b } = twoHosts('xdp'));
    coll = await loadFixture('counter');
  });
  afterAll(() => {
    coll?.close();
    lab?.destroy();
  });

  const xdpCount = () => sumPerCpu(coll.perCpuMap('counts', u32, u64).get(0)!);

  it('native mode on a veth counts the pings, and stops counting once detached', () => {
    const prog = coll.program('count_xdp');
    const link = lab.in(b, () => prog.attachXdp('veth-b', { mode: 'driver' }));
    expect(link.mode).toBe('driver');
    expect(lab.in(b, () => xdpModeOf(link.ifindex))).toBe('driver');
    expect(link.info()).toMatchObject({ progId: prog.id, ifindex: link.ifindex });

    const before = xdpCount();
    expect(lab.ping(a, '192.0.2.2', 5)).toBe(true);
    const during = xdpCount() - before;
    expect(during).toBeGreaterThanOrEqual(5n); // echo requests, plus ARP
    expect(during).toBeLessThan(20n);

    link.close();
    expect(lab.in(b, () => xdpModeOf(link.ifindex))).toBeUndefined();
    const after = xdpCount();
    expect(lab.ping(a, '192.0.2.2', 3)).toBe(true);
    expect(xdpCount()).toBe(after);
  });

  it('generic mode only when asked, and reported as such', () => {
    const link = lab.in(b, () => coll.program('count_xdp').attachXdp('veth-b', { mode: 'skb' }));
    try {
      expect(link.mode).toBe('skb');
      expect(lab.in(b, () => xdpModeOf(link.ifindex))).toBe('skb');
      const before = xdpCount();
      expect(lab.ping(a, '192.0.2.2', 2)).toBe(true);
      expect(xdpCount() - before).toBeGreaterThanOrEqual(2n);
    } finally {
      link.close();
    }
  });

  it('a second program on the same hook is refused, naming the conflict', () => {
    const link = lab.in(b, () => coll.program('count_xdp').attachXdp('veth-b', { mode: 'driver' }));
    try {
      expect(() => lab.in(b, () => coll.program('count_xdp_twice').attachXdp('veth-b', { mode: 'driver' })))
        .toThrow(/EBUSY|EEXIST/);
    } finally {
      link.close();
    }
  });

  it('link update swaps the program atomically, and checks the expected one', () => {
    const one = coll.program('count_xdp'), two = coll.program('count_xdp_twice');
    const link = lab.in(b, () => one.attachXdp('veth-b', { mode: 'driver' }));
    try {
      link.update(two, one);
      expect(link.info().progId).toBe(two.id);
      expect(() => link.update(one, one)).toThrow(/EPERM/); // `one` is no longer attached
      const before = xdpCount();
      expect(lab.ping(a, '192.0.2.2', 2)).toBe(true);
      const seen = xdpCount() - before;
      expect(seen % 2n).toBe(0n); // every packet counted twice by the new program
      expect(seen).toBeGreaterThanOrEqual(4n);
    } finally {
      link.close();
    }
  });

  it('an interface that does not exist is ENODEV naming it', () => {
    expect(() => lab.in(b, () => coll.program('count_xdp').attachXdp('nope0', { mode: 'driver' }))).toThrow(/interface nope0.*ENODEV/);
  });
});
