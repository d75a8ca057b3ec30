// Interface look-ups the attach path makes without spawning ip or ethtool:
// name <-> ifindex, and the driver (a veth is told by it).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ifDriverOf, ifindexOf, ifnameOf } from '../../src/bpf/index.js';
import { describeKernel } from '../helpers/kernel.js';
import { Lab } from '../helpers/lab.js';

describeKernel('interface look-ups', () => {
  let lab: Lab;
  let ns = '';
  beforeAll(() => {
    lab = new Lab('nif');
    ns = lab.host('a');
    lab.exec(ns, 'ip', 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
    lab.exec(ns, 'ip', 'tuntap', 'add', 'dev', 'tp0', 'mode', 'tap');
    lab.exec(ns, 'ip', 'link', 'add', 'br0', 'type', 'bridge');
  });
  afterAll(() => lab?.destroy());

  it('names each interface\'s driver as ethtool -i does', () => {
    for (const name of ['va', 'vb', 'tp0', 'br0', 'lo']) {
      const want = /^driver: (.*)$/m.exec(lab.tryExec(ns, 'ethtool', '-i', name).out)?.[1] ?? '';
      expect([name, lab.in(ns, () => ifDriverOf(name))]).toEqual([name, want]);
    }
    expect(lab.in(ns, () => ifDriverOf('va'))).toBe('veth');
    expect(lab.in(ns, () => ifDriverOf('tp0'))).toBe('tun');
  });

  it('a missing interface is ENODEV, named', () => {
    expect(() => lab.in(ns, () => ifDriverOf('nope0'))).toThrow(/interface nope0.*ENODEV/);
    expect(() => lab.in(ns, () => ifDriverOf('x'.repeat(20)))).toThrow(/ENODEV/);
    expect(lab.in(ns, () => ifnameOf(ifindexOf('va')))).toBe('va');
  });
});
