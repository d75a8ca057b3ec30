// Two xvtep instances (two pin directories) must not serve one interface:
// XDP would refuse the second program itself, with a less useful message,
// and tcx would stack the second silently with both acting on every frame.
// The second attach is refused with one line naming the first's pin
// directory, and the first keeps forwarding. Under XVTEP_TC_MODE=netlink
// (kernels without tcx) the TC hooks are clsact filters, which
// BPF_PROG_QUERY does not list: an endpoint with only its TC hook
// (endpointXdp off) is recognised through the first instance's filter
// priority, and nothing is added at the second's.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AttachType, TcFilter, attachedProgramIds, ifindexOf, xdpProgIdOf } from '../../src/bpf/index.js';
import { TC_HANDLE } from '../../src/datapath/index.js';
import { tcPriority } from '../../src/reconcile/index.js';
import { describeKernel } from '../helpers/kernel.js';
import { VtepLab } from '../helpers/vtep-lab.js';
import { forcedTcMode } from '../helpers/tcmode.js';

describeKernel('two instances on one interface', () => {
  let L: VtepLab;
  let pinB = '';
  beforeAll(() => {
    L = new VtepLab('two', { ipv6: false });
    L.endpoint('epa2', 'ca2');
    L.endpoint('epa3', 'ca3');
    L.lab.link(L.a, 'ua2', L.b, 'ub2', '192.0.2.11/24', '192.0.2.12/24');
    pinB = L.bpffs.path('b');
    // VNI 44's endpoint has only its TC hook (no XDP): the case XDP's own refusal never covered
    L.ok('attach', '-c', L.file('a.json', L.config({ vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'] }, { vni: 44, endpoints: ['epa3'], endpointXdp: 'off' }] })));
  });
  afterAll(() => {
    L?.cli(['detach', '--pin-dir', pinB]);
    L?.destroy();
  });

  const second = (name: string, doc: Record<string, unknown>) => L.cli(['attach', '-c', L.file(name, { ...doc, state: { pinDir: pinB } })]);
  // the programs on an interface, XDP, tcx (bpftool 7.1 does not list tcx) and each instance's netlink filter
  const filterOf = (i: number, pinDir: string) => {
    try {
      return TcFilter.query(i, 'ingress', TC_HANDLE, tcPriority(pinDir));
    } catch {
      return 0; // no clsact
    }
  };
  const progsOn = (iface: string) => L.lab.in(L.a, () => {
    const i = ifindexOf(iface);
    return { xdp: xdpProgIdOf(i), tcx: attachedProgramIds(i, AttachType.TCX_INGRESS), filterA: filterOf(i, L.pinDir), filterB: filterOf(i, pinB) };
  });

  it('the same underlay NIC: refused naming the first instance, nothing stacked', () => {
    const before = { ua: progsOn('ua'), epa2: progsOn('epa2') };
    expect(before.ua.xdp).toBeGreaterThan(0);
    const r = second('b-same-nic.json', L.config({ vnis: [{ vni: 43, endpoints: ['epa2'] }] }));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`ua is already attached by the xvtep instance pinned at ${L.pinDir}`);
    expect({ ua: progsOn('ua'), epa2: progsOn('epa2') }).toEqual(before);
    expect(before.epa2).toEqual({ xdp: 0, tcx: [], filterA: 0, filterB: 0 });
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
  });

  it('the same endpoint behind another NIC: refused naming the first instance', () => {
    const before = progsOn('epa');
    expect(before.tcx.length + (before.filterA ? 1 : 0)).toBe(1);
    const r = second('b-same-ep.json', L.config({ underlay: { interface: 'ua2', address: '192.0.2.11' }, vnis: [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.12'] }] }));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`epa is already attached by the xvtep instance pinned at ${L.pinDir}`);
    expect(progsOn('epa')).toEqual(before);
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
  });

  it(`an endpoint with only its TC hook (${forcedTcMode === 'netlink' ? 'a netlink clsact filter' : 'a tcx link'}): refused naming the first instance, nothing stacked`, () => {
    const before = progsOn('epa3');
    expect(before.xdp).toBe(0);
    if (forcedTcMode === 'netlink') expect(before.filterA).toBeGreaterThan(0);
    else expect(before.tcx).toHaveLength(1);
    const r = second('b-tc-only.json', L.config({ underlay: { interface: 'ua2', address: '192.0.2.11' }, vnis: [{ vni: 44, endpoints: ['epa3'], endpointXdp: 'off', peers: ['192.0.2.12'] }] }));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`epa3 is already attached by the xvtep instance pinned at ${L.pinDir}`);
    expect(progsOn('epa3')).toEqual({ ...before, filterB: 0 });
  });

  it('another NIC and another endpoint: a second instance is fine', () => {
    const r = second('b-own.json', L.config({ underlay: { interface: 'ua2', address: '192.0.2.11' }, vnis: [{ vni: 43, endpoints: ['epa2'], peers: ['192.0.2.12'] }] }));
    expect(r.code, r.stderr).toBe(0);
  });
});
