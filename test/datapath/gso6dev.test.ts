// The kernel vxlan GSO frames to IPv6 peers leave through (src/datapath/gso6dev.ts):
// made by attaching an IPv6 underlay with the checksum on, with xvtep's port
// and source port range, its ifindex in xv_config; none for IPv4 or with
// udpChecksumV6 off; made anew when the range changes; refused when the name
// is taken by something else; deleted on detach.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ifindexOf } from '../../src/bpf/index.js';
import { Datapath, attachUnderlay, ensureGso6Device, gso6DeviceName, removeGso6Device, type VtepSettings } from '../../src/datapath/index.js';
import { Lab } from '../helpers/lab.js';
import { TempBpffs } from '../helpers/bpffs.js';
import { describeKernel } from '../helpers/kernel.js';

const BASE: Omit<VtepSettings, 'underlayIfindex'> = {
  port: 4789, localAddress: '2001:db8::1', underlayMtu: 1500, srcPortMin: 0, srcPortMax: 0, ttl: 64, tos: 0, tosInherit: false,
  df: 'unset', udp6ZeroChecksum: false, udp6ZeroChecksumRx: false, fdbRefreshMs: 0, epChecksumComplete: false, nhCacheMs: 0,
};

interface LinkJson { ifindex: number; ifname: string; flags: string[]; linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> } }

describeKernel('gso6 device: the kernel vxlan GSO frames to IPv6 peers leave through', () => {
  let lab: Lab;
  let fs: TempBpffs;
  let dp: Datapath;
  let ns: string;
  let ul0 = 0;
  const show = (name: string): LinkJson | undefined => {
    const r = lab.tryExec(ns, 'ip', '-j', '-d', 'link', 'show', 'dev', name);
    return r.ok ? (JSON.parse(r.out) as LinkJson[])[0] : undefined;
  };
  const configure = (s: Partial<VtepSettings>) => dp.configure({ ...BASE, underlayIfindex: ul0, ...s });
  beforeAll(async () => {
    lab = new Lab('g6d');
    ns = lab.host('a');
    const b = lab.host('b');
    lab.link(ns, 'ul0', b, 'ul0', '192.0.2.1/24', '192.0.2.2/24');
    lab.exec(ns, 'ip', 'addr', 'add', '2001:db8::1/64', 'dev', 'ul0', 'nodad');
    ul0 = lab.in(ns, () => ifindexOf('ul0'));
    fs = new TempBpffs();
    dp = await Datapath.load({ sizes: { fdb: 64 } });
  });
  afterAll(() => {
    dp?.close();
    fs?.destroy();
    lab?.destroy();
  });

  it('attaching an IPv6 underlay makes it: external mode, xvtep\'s port and range, up, no IPv6 of its own; its ifindex in xv_config, kept by configure()', () => {
    configure({ port: 8472 });
    const a = lab.in(ns, () => attachUnderlay(dp, 'ul0', 'tc', 6));
    for (const l of a.links.values()) l.close();
    expect(a.notes.join('\n')).toMatch(/created xvgso6-8472/);
    const d = show(gso6DeviceName(8472))!;
    expect(d.linkinfo?.info_kind).toBe('vxlan');
    expect(d.linkinfo?.info_data).toMatchObject({ external: true, port: 8472, port_range: { low: 32768, high: 61000 }, learning: false });
    expect(d.flags).toContain('UP');
    expect(lab.exec(ns, 'cat', `/proc/sys/net/ipv6/conf/${d.ifname}/disable_ipv6`).trim()).toBe('1');
    expect(dp.config.get(0)!.gso6Ifindex).toBe(d.ifindex);
    configure({ port: 8472, ttl: 9 });
    expect(dp.config.get(0)).toMatchObject({ ttl: 9, gso6Ifindex: d.ifindex });
    // again: the same device, nothing to say
    expect(lab.in(ns, () => ensureGso6Device(dp))).toBeUndefined();
    expect(show(gso6DeviceName(8472))!.ifindex).toBe(d.ifindex);
  });

  it('a new source port range makes a new device (the kernel cannot change one); udpChecksumV6 off or IPv4: none used', () => {
    configure({ port: 8472, srcPortMin: 40000, srcPortMax: 40010 });
    expect(lab.in(ns, () => ensureGso6Device(dp))).toMatch(/created/);
    const d = show(gso6DeviceName(8472))!;
    expect(d.linkinfo?.info_data).toMatchObject({ port_range: { low: 40000, high: 40010 } });
    expect(dp.config.get(0)!.gso6Ifindex).toBe(d.ifindex);
    configure({ port: 8472, udp6ZeroChecksum: true });
    lab.in(ns, () => ensureGso6Device(dp));
    expect(dp.config.get(0)!.gso6Ifindex).toBe(0);
    configure({ port: 4789, localAddress: '192.0.2.1' });
    lab.in(ns, () => ensureGso6Device(dp));
    expect(dp.config.get(0)!.gso6Ifindex).toBe(0);
    expect(show(gso6DeviceName(4789))).toBeUndefined();
  });

  it('a device of that name that is not an external vxlan on the port is an error naming the fix', () => {
    lab.exec(ns, 'ip', 'link', 'add', gso6DeviceName(4789), 'type', 'bridge');
    try {
      configure({ port: 4789 });
      expect(() => lab.in(ns, () => ensureGso6Device(dp))).toThrow(/xvgso6-4789 exists but is not a vxlan in external mode on port 4789: delete it \(ip link del xvgso6-4789\)/);
    } finally {
      lab.exec(ns, 'ip', 'link', 'del', gso6DeviceName(4789));
    }
  });

  it('detach deletes the device the pinned config names', () => {
    configure({ port: 8472 });
    lab.in(ns, () => ensureGso6Device(dp));
    const pinDir = fs.path('pins');
    dp.pin(pinDir);
    try {
      expect(lab.in(ns, () => removeGso6Device(pinDir))).toBe('xvgso6-8472');
      expect(show(gso6DeviceName(8472))).toBeUndefined();
      expect(lab.in(ns, () => removeGso6Device(pinDir))).toBeUndefined();
    } finally {
      Datapath.unpin(pinDir);
    }
  });
});
