// Issue 3, part 4: tshark, an independent decoder, reads xvtep's frames off
// the underlay as VXLAN: the right VNI, ports, addresses and inner frame.
//
//   [c1 198.51.100.1]--[a: ep1, xvtep | ul0]====[ul0 | b: kernel vxlan0 198.51.100.2]
//
// The capture runs on b's ul0 (no XDP there, so tcpdump sees every frame) and
// holds xvtep's echo requests and the kernel's echo replies, both decoded
// with `-d udp.port==<port>,vxlan`. b's ul0 has tx checksumming off so the
// veth behaves like a wire (see lab-kernel.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { Lab } from '../helpers/lab.js';
import { container, removeWorkdirs, startCapture, tsharkFields } from '../helpers/labtools.js';
import { macOf, startXvtep, type XvtepHost } from '../helpers/xvtep-host.js';

const VNI = 1024;
const C1_MAC = '02:00:00:00:0c:01';
const KERNEL_MAC = '02:00:00:00:0b:99';

interface Variant { family: 4 | 6; port: number }
const VARIANTS: Variant[] = [{ family: 4, port: 4789 }, { family: 4, port: 8472 }, { family: 6, port: 4789 }];
const ADDR = { 4: { a: '192.0.2.1', b: '192.0.2.2' }, 6: { a: '2001:db8::1', b: '2001:db8::2' } } as const;

const FIELDS = [
  'eth.src', 'eth.dst', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'ip.ttl', 'ipv6.hlim', 'udp.srcport', 'udp.dstport',
  'udp.checksum', 'udp.checksum.status', 'vxlan.flag_i', 'vxlan.flags_reserved', 'vxlan.reserved8', 'vxlan.vni', 'icmp.type',
] as const;
type Row = Record<(typeof FIELDS)[number], string>;

describeKernel('lab: tshark decodes xvtep frames as VXLAN', () => {
  VARIANTS.forEach((v, idx) => {
    describe(`IPv${v.family} underlay, port ${v.port}`, () => {
      const lab = new Lab(`w${idx}`);
      let xv: XvtepHost | undefined;
      let a = '', b = '', c1 = '';
      beforeAll(async () => {
        a = lab.host('a');
        b = lab.host('b');
        lab.link(a, 'ul0', b, 'ul0', '192.0.2.1/24', '192.0.2.2/24');
        lab.exec(a, 'ip', 'addr', 'add', '2001:db8::1/64', 'dev', 'ul0', 'nodad');
        lab.exec(b, 'ip', 'addr', 'add', '2001:db8::2/64', 'dev', 'ul0', 'nodad');
        lab.exec(b, 'ethtool', '-K', 'ul0', 'tx', 'off');
        c1 = container(lab, { name: 'c1', hostNs: a, hostIf: 'ep1', mac: C1_MAC, mtu: v.family === 4 ? 1450 : 1430, addrs: ['198.51.100.1/24'] });
        lab.exec(b, 'ip', 'link', 'add', 'vxlan0', 'type', 'vxlan', 'id', String(VNI), 'dstport', String(v.port), 'remote', ADDR[v.family].a, 'dev', 'ul0');
        lab.exec(b, 'ip', 'link', 'set', 'vxlan0', 'address', KERNEL_MAC);
        lab.exec(b, 'ip', 'addr', 'add', '198.51.100.2/24', 'dev', 'vxlan0');
        lab.exec(b, 'ip', 'link', 'set', 'vxlan0', 'up');
        xv = await startXvtep({ lab, ns: a, underlay: 'ul0', localAddress: ADDR[v.family].a, port: v.port, vnis: [{ vni: VNI, endpoints: ['ep1'], peers: [ADDR[v.family].b] }] });
        expect(lab.ping(c1, '198.51.100.2', 1)).toBe(true); // ARP and learning done before the capture
      });
      afterAll(() => {
        xv?.close();
        lab.destroy();
        removeWorkdirs();
      });

      it('echo requests from xvtep and replies from the kernel decode with the right VNI, ports, addresses and inner frame', async () => {
        const cap = await startCapture(b, 'ul0', ['udp', 'port', String(v.port)], { maxPackets: 50, maxSeconds: 15 });
        
        expect(lab.ping(c1, '198.51.100.2', 3)).toBe(true);
        const file = await cap.stop();
        const rows = tsharkFields(file, [`udp.port==${v.port},vxlan`], [...FIELDS], { filter: 'vxlan && icmp', prefs: ['udp.check_checksum:TRUE'] })
          .map((r) => Object.fromEntries(FIELDS.map((f, i) => [f, r[i] ?? ''])) as Row);
        const aMac = macOf(lab, a, 'ul0'), bMac = macOf(lab, b, 'ul0');
        const outerSrc = (r: Row) => (v.family === 4 ? r['ip.src'].split(',')[0] : r['ipv6.src']);
        const requests = rows.filter((r) => r['icmp.type'] === '8');
        const replies = rows.filter((r) => r['icmp.type'] === '0');
        expect(requests).toHaveLength(3);
        expect(replies).toHaveLength(3);
        for (const r of requests) {
          expect(outerSrc(r)).toBe(ADDR[v.family].a);
          expect(r['vxlan.vni']).toBe(String(VNI));
          expect(r['vxlan.flag_i']).toBe('1');
          expect(r['vxlan.flags_reserved']).toBe('0x0000');
          expect(Number(r['vxlan.reserved8'])).toBe(0);
          expect(r['udp.dstport']).toBe(String(v.port));
          const sport = Number(r['udp.srcport']);
          expect(sport).toBeGreaterThanOrEqual(32768); // kernel default range, as xv_config 0/0 says
          expect(sport).toBeLessThan(61000);
          // outer and inner Ethernet: underlay MACs, then the container and the kernel's vxlan0
          expect(r['eth.src']).toBe(`${aMac},${C1_MAC}`);
          expect(r['eth.dst']).toBe(`${bMac},${KERNEL_MAC}`);
          if (v.family === 4) {
            expect(r['ip.src']).toBe('192.0.2.1,198.51.100.1');
            expect(r['ip.dst']).toBe('192.0.2.2,198.51.100.2');
            expect(r['ip.ttl'].split(',')[0]).toBe('64');
            expect(r['udp.checksum']).toBe('0x0000'); // IPv4: no outer checksum, as the kernel's default
          } else {
            expect(r['ipv6.dst']).toBe(ADDR[6].b);
            expect(r['ip.src']).toBe('198.51.100.1');
            expect(r['ip.dst']).toBe('198.51.100.2');
            expect(r['ipv6.hlim']).toBe('64');
            // ICMP inner: xvtep computes the outer UDP6 checksum, and it verifies
            expect(r['udp.checksum']).not.toBe('0x0000');
            expect(r['udp.checksum.status']).toBe('1'); // Good
          }
        }
        for (const r of replies) {
          expect(outerSrc(r)).toBe(ADDR[v.family].b);
          expect(r['vxlan.vni']).toBe(String(VNI));
          expect(r['udp.dstport']).toBe(String(v.port));
          expect(r['eth.src'].split(',')[1]).toBe(KERNEL_MAC);
          expect(r['eth.dst'].split(',')[1]).toBe(C1_MAC);
        }
      });
    });
  });
});
