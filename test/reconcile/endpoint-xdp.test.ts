// endpointXdp through the CLI, in the manager lab (host a: xvtep on ua, the
// veth endpoint epa to container c, a tap endpoint tpa with a "VM" process
// on it; host b: the kernel's vxlan, VNI 42):
//  - auto picks by interface kind: a veth stays on tcx alone, a tap gets XDP;
//  - on / frags / off change what is attached on a re-attach, tcx untouched;
//  - auto leaves a bridge (no native XDP) on tcx; on fails there, in one line;
//  - a daemon killed with SIGKILL is adopted by the next one: same links;
//  - detach removes every XDP program;
//  - the container (veth, tcx) and the VM (tap, XDP) reach b both ways.
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { describeKernel } from '../helpers/kernel.js';
import { root } from '../helpers/fixtures.js';
import { VtepLab, exited } from '../helpers/vtep-lab.js';

interface EpStatus { name: string; vni: number; xdp: string; xdpSetting: string | null; state: string }
interface Status {
  interfaces: Array<{ iface: string; role: string; hook: string; progId: number; linkId: number; attached: boolean; xdpMode: string | null }>;
  endpoints: EpStatus[];
}

const TAPVM = join(root, 'test', 'helpers', 'tapvm.py');
const VM = { mac: '02:00:00:00:0d:01', ip: '198.51.100.3' };

describeKernel('endpointXdp: XDP on endpoints as a user option', () => {
  let L: VtepLab;
  beforeAll(() => {
    L = new VtepLab('epxdp', { ipv6: false });
    L.lab.exec(L.a, 'ip', 'tuntap', 'add', 'mode', 'tap', 'name', 'tpa');
    L.lab.exec(L.a, 'ip', 'link', 'set', 'tpa', 'up');
    L.lab.exec(L.a, 'ip', 'link', 'add', 'dma', 'type', 'bridge');
    L.lab.exec(L.a, 'ip', 'link', 'set', 'dma', 'up');
    // dma: a device without native XDP (a bridge; this kernel has no dummy)
    // XDP redirects into the underlay veth need NAPI on its peer (a wire needs nothing)
    L.lab.exec(L.b, 'ethtool', '-K', 'ub', 'gro', 'on');
  });
  afterAll(() => L?.destroy());

  const cfg = (endpointXdp?: string, endpoints = ['epa', 'tpa']) =>
    L.file(`xdp-${endpointXdp ?? 'default'}-${endpoints.join('-')}.json`, L.config({
      vnis: [{ vni: 42, endpoints, peers: ['192.0.2.2'], ...(endpointXdp ? { endpointXdp } : {}) }],
    }));
  const status = () => L.json<Status>('status');
  const ep = (s: Status, name: string) => s.endpoints.find((e) => e.name === name)!;
  const hook = (s: Status, iface: string, h: string) => s.interfaces.find((i) => i.iface === iface && i.hook === h && i.role === 'endpoint');
  /** The XDP program the kernel has on an interface of host a: its name, or null. */
  const kernelXdp = (iface: string): string | null => {
    const l = (JSON.parse(L.lab.exec(L.a, 'ip', '-j', '-d', 'link', 'show', 'dev', iface)) as Array<{ xdp?: { prog?: { id: number } } }>)[0]!;
    const id = l.xdp?.prog?.id;
    if (!id) return null;
    return (JSON.parse(L.lab.exec(L.a, 'bpftool', '-j', 'prog', 'show', 'id', String(id))) as { name: string }).name;
  };

  it('auto (the default): the veth on tcx alone, the tap with xv_xdp_endpoint too; status says so', () => {
    L.ok('attach', '-c', cfg());
    expect(kernelXdp('epa')).toBeNull();
    expect(kernelXdp('tpa')).toBe('xv_xdp_endpoint');
    const s = status();
    expect(ep(s, 'epa')).toMatchObject({ xdp: 'off', xdpSetting: 'auto', state: 'attached' });
    expect(ep(s, 'tpa')).toMatchObject({ xdp: 'on', xdpSetting: 'auto', state: 'attached' });
    expect(hook(s, 'tpa', 'xdp')).toMatchObject({ attached: true, xdpMode: 'driver' });
    expect(hook(s, 'epa', 'xdp')).toBeUndefined();
    const text = L.ok('status');
    expect(text).toMatch(/^tpa\s+42\s+\d+\s+auto: on\s+attached$/m);
    expect(text).toMatch(/^epa\s+42\s+\d+\s+auto: off\s+attached$/m);
  });

  it('the container (veth, tcx) and the VM (tap, XDP) in one VNI reach the kernel vxlan host both ways', async () => {
    const { lab, b, c } = L;
    // the VM pings b for 40 echoes while b pings the VM and the container pings b
    const vm = spawn('ip', ['netns', 'exec', L.a, 'timeout', '30', 'python3', TAPVM, 'tpa', VM.mac, VM.ip, '198.51.100.2', '40', '20'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    vm.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    vm.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await new Promise((r) => setTimeout(r, 500));
      const toVm = lab.tryExec(b, 'ping', '-c', '5', '-i', '0.2', '-W', '2', '-q', VM.ip);
      expect(toVm.out).toMatch(/5 packets transmitted, 5 received/);
      expect(lab.ping(c, '198.51.100.2', 3)).toBe(true);
      expect(lab.ping(b, '198.51.100.1', 3)).toBe(true);
    } finally {
      await exited(vm);
    }
    const r = JSON.parse(out || '{}') as { arpResolved: boolean; sent: number; replies: number; echoesAnswered: number };
    expect(r, err).toMatchObject({ arpResolved: true, sent: 40 });
    expect(r.replies).toBeGreaterThanOrEqual(38);
    expect(r.echoesAnswered).toBeGreaterThanOrEqual(5);
  });

  it('on / frags / off change only the XDP links on a re-attach: tcx links are adopted', () => {
    const tcx0 = Object.fromEntries(['epa', 'tpa'].map((i) => [i, hook(status(), i, 'tcx-ingress')!.linkId]));
    const r = L.cli(['attach', '-c', cfg('on')]);
    expect(r.code).toBe(0);
    // said, since no map changes: only the veth's XDP did
    expect(r.stderr).toMatch(/^xvtep: endpoint epa: XDP off -> on \(endpointXdp\)$/m);
    expect(r.stderr).not.toMatch(/endpoint tpa/);
    expect([kernelXdp('epa'), kernelXdp('tpa')]).toEqual(['xv_xdp_endpoint', 'xv_xdp_endpoint']);
    expect(ep(status(), 'epa')).toMatchObject({ xdp: 'on', xdpSetting: 'on' });
    L.ok('attach', '-c', cfg('frags'));
    expect([kernelXdp('epa'), kernelXdp('tpa')]).toEqual(['xv_xdp_ep_frags', 'xv_xdp_ep_frags']);
    expect(ep(status(), 'tpa')).toMatchObject({ xdp: 'frags', xdpSetting: 'frags' });
    L.ok('attach', '-c', cfg('off'));
    expect([kernelXdp('epa'), kernelXdp('tpa')]).toEqual([null, null]);
    const s = status();
    expect(ep(s, 'tpa')).toMatchObject({ xdp: 'off', xdpSetting: 'off' });
    expect(s.interfaces.filter((i) => i.role === 'endpoint').map((i) => `${i.iface} ${i.hook}`).sort()).toEqual(['epa tcx-ingress', 'tpa tcx-ingress']);
    for (const i of ['epa', 'tpa']) expect(hook(s, i, 'tcx-ingress')!.linkId).toBe(tcx0[i]);
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
  });

  it('auto leaves a virtual kind without native XDP (a bridge) on tcx without trying; on fails with one line and changes nothing', () => {
    L.ok('attach', '-c', cfg('auto'));
    const r = L.cli(['attach', '-c', cfg('auto', ['epa', 'tpa', 'dma'])]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/dma/);
    expect(ep(status(), 'dma')).toMatchObject({ xdp: 'off', xdpSetting: 'auto', state: 'attached' });
    expect(kernelXdp('tpa')).toBe('xv_xdp_endpoint');
    const before = status();
    const bad = L.cli(['attach', '-c', cfg('on', ['epa', 'tpa', 'dma'])]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^xvtep: apply failed at attach: endpoint dma \(endpointXdp: on\): attach XDP: EOPNOTSUPP .*set endpointXdp to auto or off for its VNI; rolled back/)]);
    // rolled back: what was attached before still is, nothing new stayed
    const after = status();
    expect(after.interfaces.map((i) => `${i.iface} ${i.hook} ${i.linkId}`).sort()).toEqual(before.interfaces.map((i) => `${i.iface} ${i.hook} ${i.linkId}`).sort());
    expect(kernelXdp('epa')).toBeNull();
    L.ok('attach', '-c', cfg());
    expect(status().endpoints.map((e) => e.name).sort()).toEqual(['epa', 'tpa']);
  });

  it('xvtep run adopts the XDP links a SIGKILLed daemon left', async () => {
    const path = cfg('on');
    L.ok('attach', '-c', path);
    const links = () => status().interfaces.map((i) => `${i.iface} ${i.hook} ${i.linkId} ${i.progId}`).sort();
    const before = links();
    const d1 = await L.daemon(path);
    expect(links()).toEqual(before);
    d1.proc.kill('SIGKILL');
    await exited(d1.proc);
    const d2 = await L.daemon(path);
    try {
      expect(links()).toEqual(before);
      expect([kernelXdp('epa'), kernelXdp('tpa')]).toEqual(['xv_xdp_endpoint', 'xv_xdp_endpoint']);
    } finally {
      d2.proc.kill('SIGTERM');
      await exited(d2.proc);
    }
  });

  it('detach removes the XDP programs with everything else', () => {
    expect(kernelXdp('tpa')).toBe('xv_xdp_endpoint');
    L.ok('detach');
    expect([kernelXdp('epa'), kernelXdp('tpa'), kernelXdp('ua')]).toEqual([null, null, null]);
    const r = spawnSync('ls', [join(L.pinDir, 'links')], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
  });
});
