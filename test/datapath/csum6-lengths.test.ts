// The outer IPv6 UDP checksum xvtep derives for partial (CHECKSUM_PARTIAL)
// inner TCP/UDP segments, at every inner length: the LCO sum adds the inner
// pseudo header's length and protocol words, and a 32-bit carry lost there
// made it wrong by 0x0100 for lengths whose low byte is 0xfa-0xff (TCP) or
// 0xef-0xff (UDP). One in 1529 frames of lab-kernel's flood test had such a
// length (784-byte inner IPv4: TCP length 764 = 0x2fc).
// Each length goes through the general path and through the flow-cache fast
// path (tc_tx_fast / xdp_tx_fast: the template's headers, the checksum
// computed on top), which is made the only way out: the destination's FDB
// entry is deleted once the flow entry holds its template.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { ADDR, DpEnv, MAC, TC, XDP } from '../helpers/dpenv.js';
import { EtherType, Proto, checksum, eth, ipv4, ipv6, pseudo4, pseudo6 } from '../helpers/packets.js';

const VNI = 1024;
const IN4 = { src: '198.51.100.1', dst: '198.51.100.2' };
const IN6 = { src: '2001:db8:100::1', dst: '2001:db8:100::2' };

/** An inner L4 segment of `len` bytes (header included) with its checksum complete, and as a local stack hands it over (pseudo-header sum). */
function segment(proto: number, len: number, v6: boolean): { done: Buffer; part: Buffer } {
  const seg = Buffer.alloc(len);
  for (let i = 0; i < len; i++) seg[i] = (i * 7 + len) & 0xff;
  const csumOff = proto === Proto.TCP ? 16 : 6;
  if (proto === Proto.TCP) seg[12] = 5 << 4; else seg.writeUInt16BE(len, 4);
  seg.writeUInt16BE(0, csumOff);
  const ph = v6 ? pseudo6(IN6.src, IN6.dst, proto, len) : pseudo4(IN4.src, IN4.dst, proto, len);
  const done = Buffer.from(seg);
  done.writeUInt16BE(checksum(ph, seg) || 0xffff, csumOff);
  const part = Buffer.from(seg);
  part.writeUInt16BE(~checksum(ph) & 0xffff, csumOff);
  return { done, part };
}

const frame = (l4: Buffer, proto: number, v6: boolean) => eth(MAC.rem2, MAC.ep1c, v6 ? EtherType.IPV6 : EtherType.IPV4, v6
  ? ipv6({ ...IN6, nextHeader: proto, payload: l4 })
  : ipv4({ ...IN4, proto, df: true, id: 0x4242, payload: l4 }));

describeKernel('IPv6 outer checksum of partial inner segments, every length', () => {
  let env: DpEnv;
  beforeAll(async () => {
    env = await DpEnv.create('c6l');
    env.configureRaw({ epCsumComplete: 0 });
    env.vni(VNI, { endpoints: [env.ifx.ep1, env.ifx.ep2], peers: [ADDR.peer6] });
    env.staticRemote(VNI, MAC.rem2, ADDR.peer6);
  });
  afterAll(() => env?.destroy());

  /**
   * Runs `fast` with the flow's frames sendable only from its flow entry: on
   * one CPU (the entries are per CPU), with lifetimes that outlast the test,
   * `prime` sends twice (the first frame fills the entry, the second finds it
   * and its template), then MAC.rem2's FDB entry is deleted without moving
   * the generation, so the general path has no destination for them. `gone`
   * checks, with the generation moved, that it hasn't.
   */
  async function fromFlowEntry(cfg: { epCsumComplete: number }, prime: () => void, fast: () => void, gone: () => void): Promise<void> {
    await env.onOneCpu(async () => {
      env.configureRaw({ ...cfg, nhCacheMs: 60_000, fdbRefreshMs: 60_000 });
      try {
        prime();
        prime();
        expect(env.dp.fdb.delete(VNI, MAC.rem2)).toBe(true);
        fast();
        env.dp.bumpGeneration();
        gone();
      } finally {
        env.staticRemote(VNI, MAC.rem2, ADDR.peer6);
        env.configureRaw({ epCsumComplete: 0 });
      }
    });
  }

  for (const v6 of [false, true]) {
    // the longest that fits the 1500-byte underlay MTU with the 70-byte overhead
    const max = v6 ? 1390 : 1410;
    for (const proto of [Proto.TCP, Proto.UDP]) {
      const first = proto === Proto.TCP ? 20 : 8;
      it(`inner IPv${v6 ? 6 : 4} ${proto === Proto.TCP ? 'TCP' : 'UDP'}, L4 lengths ${first}-${max}: TC sends the checksum of the frame with its inner checksum completed, general path and flow-entry fast path`, async () => {
        const bad: string[] = [];
        let n = 0;
        const send = (len: number, path: string) => {
          const { done, part } = segment(proto, len, v6);
          for (const l4 of [part, done]) {
            const r = env.tc('xv_tc_endpoint', frame(l4, proto, v6), env.ifx.ep1);
            expect(r.retval).toBe(TC.REDIRECT);
            expect(r.data.length).toBe(14 + 40 + 8 + 8 + 14 + (v6 ? 40 : 20) + len);
            // what leaves once the kernel has completed the inner checksum
            const out = Buffer.from(r.data);
            frame(done, proto, v6).copy(out, 14 + 40 + 16);
            const ulen = out.readUInt16BE(14 + 40 + 4);
            if (checksum(pseudo6(ADDR.local6, ADDR.peer6, Proto.UDP, ulen), out.subarray(54, 54 + ulen)) !== 0) {
              bad.push(`${path} ${l4 === part ? 'partial' : 'complete'} ${len} (0x${len.toString(16)})`);
            }
            n++;
          }
        };
        for (let len = first; len <= max; len++) send(len, 'general');
        await fromFlowEntry({ epCsumComplete: 0 },
          () => send(first, 'general'),
          () => { for (let len = first; len <= max; len++) send(len, 'fast'); },
          () => expect(env.tc('xv_tc_endpoint', frame(segment(proto, first, v6).done, proto, v6), env.ifx.ep1).retval).not.toBe(TC.REDIRECT));
        expect(n).toBeGreaterThan(2 * 2700);
        expect(bad).toEqual([]);
      });

      it(`inner IPv${v6 ? 6 : 4} ${proto === Proto.TCP ? 'TCP' : 'UDP'}, complete inner checksums (epChecksumComplete on), L4 lengths ${first}-${max}: XDP sends the right checksum, general path and flow-entry fast path`, async () => {
        const bad: string[] = [];
        const send = (len: number, path: string) => {
          const r = env.xdp('xv_xdp_endpoint', frame(segment(proto, len, v6).done, proto, v6), env.ifx.ep1);
          expect(r.retval).toBe(XDP.REDIRECT);
          expect(r.data.length).toBe(14 + 40 + 8 + 8 + 14 + (v6 ? 40 : 20) + len);
          const ulen = r.data.readUInt16BE(14 + 40 + 4);
          if (checksum(pseudo6(ADDR.local6, ADDR.peer6, Proto.UDP, ulen), r.data.subarray(54, 54 + ulen)) !== 0) bad.push(`${path} ${len}`);
        };
        env.configureRaw({ epCsumComplete: 1 });
        try {
          for (let len = first; len <= max; len++) send(len, 'general');
        } finally {
          env.configureRaw({ epCsumComplete: 0 });
        }
        await fromFlowEntry({ epCsumComplete: 1 },
          () => send(first, 'general'),
          () => { for (let len = first; len <= max; len++) send(len, 'fast'); },
          () => expect(env.xdp('xv_xdp_endpoint', frame(segment(proto, first, v6).done, proto, v6), env.ifx.ep1).retval).toBe(XDP.PASS));
        expect(bad).toEqual([]);
      });
    }
  }
});
