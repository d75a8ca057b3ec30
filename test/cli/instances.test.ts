// Several instances on one machine (one per lab host, each with its own pin
// dir), xvtep talking to xvtep, and an IPv6 underlay against the kernel's
// vxlan.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Lab } from '../helpers/lab.js';
import { TempBpffs } from '../helpers/bpffs.js';
import { describeKernel } from '../helpers/kernel.js';
import { spawnSync } from 'node:child_process';
import { BIN } from '../helpers/vtep-lab.js';
import { nativeUnderlayHooks, tcHook, withTcModeArgs } from '../helpers/tcmode.js';

describeKernel('two xvtep instances, and an IPv6 underlay', () => {
  let lab: Lab;
  let fs: TempBpffs;
  let a: string, b: string, c: string, d: string;
  const cli = (ns: string, ...args: string[]) => {
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, BIN, ...withTcModeArgs(args)], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`xvtep ${args.join(' ')} in ${ns}: exit ${r.status}: ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(() => {
    lab = new Lab('two');
    fs = new TempBpffs();
    a = lab.host('a');
    b = lab.host('b');
    c = lab.host('c');
    d = lab.host('d');
    lab.link(a, 'ua', b, 'ub', '192.0.2.1/24', '192.0.2.2/24');
    lab.exec(a, 'ip', 'addr', 'add', '2001:db8::1/64', 'dev', 'ua', 'nodad');
    lab.exec(b, 'ip', 'addr', 'add', '2001:db8::2/64', 'dev', 'ub', 'nodad');
    lab.link(a, 'epa', c, 'ca', undefined, '198.51.100.1/24');
    lab.link(b, 'epb', d, 'cb', undefined, '198.51.100.2/24');
    lab.exec(c, 'ip', 'link', 'set', 'ca', 'mtu', '1430');
    lab.exec(d, 'ip', 'link', 'set', 'cb', 'mtu', '1430');
  });
  afterAll(() => {
    for (const h of ['a', 'b', 'v6']) spawnSync(process.execPath, [BIN, 'detach', '--pin-dir', fs.path(h)]);
    lab?.destroy();
    fs?.destroy();
  });

  it('host a and host b each run xvtep from their own pin dir and reach each other', () => {
    cli(a, 'attach', '--underlay', 'ua', '--address', '192.0.2.1', '--vni', '42', '--endpoint', 'epa', '--peer', '192.0.2.2', '--pin-dir', fs.path('a'));
    cli(b, 'attach', '--underlay', 'ub', '--address', '192.0.2.2', '--vni', '42', '--endpoint', 'epb', '--peer', '192.0.2.1', '--pin-dir', fs.path('b'));
    expect(lab.ping(c, '198.51.100.2', 3)).toBe(true);
    type St = { underlay: { iface: string }; interfaces: Array<{ iface: string; hook: string }> };
    const sa = JSON.parse(cli(a, 'status', '-j', '--pin-dir', fs.path('a'))) as St;
    const sb = JSON.parse(cli(b, 'status', '-j', '--pin-dir', fs.path('b'))) as St;
    expect(sa.underlay.iface).toBe('ua');
    expect(sb.underlay.iface).toBe('ub');
    const hooks = (s: St) => s.interfaces.map((i) => `${i.iface} ${i.hook}`).sort();
    expect(hooks(sa)).toEqual([`epa ${tcHook}`, ...nativeUnderlayHooks.map((h) => `ua ${h}`)]);
    expect(hooks(sb)).toEqual([`epb ${tcHook}`, ...nativeUnderlayHooks.map((h) => `ub ${h}`)]);
    // each learned the other side's container MAC, from its own traffic
    const learned = (ns: string, dir: string) => (JSON.parse(cli(ns, 'fdb', 'show', '-j', '--pin-dir', fs.path(dir))) as Array<{ type: string; dst?: string }>)
      .filter((r) => r.type === 'learned' && r.dst);
    expect(learned(a, 'a').map((r) => r.dst)).toEqual(['192.0.2.2']);
    expect(learned(b, 'b').map((r) => r.dst)).toEqual(['192.0.2.1']);
  });

  it('detaching one instance leaves the other attached', () => {
    cli(a, 'detach', '--pin-dir', fs.path('a'));
    const sb = JSON.parse(cli(b, 'status', '-j', '--pin-dir', fs.path('b'))) as { interfaces: Array<{ attached: boolean }> };
    expect(sb.interfaces.every((i) => i.attached)).toBe(true);
    expect(lab.ping(c, '198.51.100.2', 1)).toBe(false);
    cli(b, 'detach', '--pin-dir', fs.path('b'));
  });

  it('an IPv6 underlay interoperates with the kernel vxlan', () => {
    lab.exec(b, 'ip', 'link', 'add', 'vxlan0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'remote', '2001:db8::1', 'local', '2001:db8::2', 'dev', 'ub');
    lab.exec(b, 'ethtool', '-K', 'vxlan0', 'tx', 'off');
    lab.exec(b, 'ip', 'addr', 'add', '203.0.113.2/24', 'dev', 'vxlan0');
    lab.exec(b, 'ip', 'link', 'set', 'vxlan0', 'up');
    lab.exec(c, 'ip', 'addr', 'add', '203.0.113.1/24', 'dev', 'ca');
    cli(a, 'attach', '--underlay', 'ua', '--address', '2001:db8::1', '--vni', '42', '--endpoint', 'epa', '--peer', '2001:db8::2', '--pin-dir', fs.path('v6'));
    expect(lab.ping(c, '203.0.113.2', 3)).toBe(true);
    const s = JSON.parse(cli(a, 'status', '-j', '--pin-dir', fs.path('v6'))) as { underlay: { address: string }; vnis: Array<{ peers: string[] }> };
    expect(s.underlay.address).toBe('2001:db8::1');
    expect(s.vnis[0]!.peers).toEqual(['2001:db8::2']);
    const rows = JSON.parse(cli(a, 'fdb', 'show', '-j', '--pin-dir', fs.path('v6'))) as Array<{ dst?: string; type: string }>;
    expect(rows.some((r) => r.type === 'learned' && r.dst === '2001:db8::2')).toBe(true);
    expect(rows).toContainEqual({ mac: '00:00:00:00:00:00', vni: 42, dst: '2001:db8::2', type: 'flood (peer)' });
    const st = JSON.parse(cli(a, 'stats', '-j', '--pin-dir', fs.path('v6'))) as { vnis: Array<{ rx: { packets: number } }> };
    expect(st.vnis[0]!.rx.packets).toBeGreaterThanOrEqual(3);
  });
});
