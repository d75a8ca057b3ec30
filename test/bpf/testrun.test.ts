import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { XdpAction, u8, type Collection } from '../../src/bpf/index.js';
import { loadFixture } from '../helpers/fixtures.js';
import { describeKernel } from '../helpers/kernel.js';

function ipv4Checksum(h: Buffer): number {
  let s = 0;
  for (let i = 0; i < h.length; i += 2) if (i !== 10) s += h.readUInt16BE(i);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
}

function frame(ttl: number, tos: number): Buffer {
  const eth = Buffer.from('020000000002' + '020000000001' + '0800', 'hex');
  const ip = Buffer.from('45000020000040004011' + '0000' + 'c0000201' + 'c0000202', 'hex');
  ip[1] = tos;
  ip[8] = ttl;
  ip.writeUInt16BE(ipv4Checksum(ip), 10);
  const udp = Buffer.from('d431' + '12b5' + '000c' + '0000' + 'deadbeef', 'hex');
  return Buffer.concat([eth, ip, udp]);
}

describeKernel('BPF_PROG_TEST_RUN', () => {
  let coll: Collection;
  beforeAll(async () => {
    coll = await loadFixture('rewrite', (s) => s.setConstant('dscp', u8, 10));
  });
  afterAll(() => coll?.close());

  it('bytes in -> bytes out, every byte checked', () => {
    const input = frame(64, 0x01);
    const expected = Buffer.from(input);
    input.copy(expected, 0, 6, 12);
    input.copy(expected, 6, 0, 6);
    expected[15] = (10 << 2) | 0x01;
    expected[22] = 63;
    expected.writeUInt16BE(ipv4Checksum(expected.subarray(14, 34)), 24);
    const r = coll.program('rewrite').testRun({ data: input });
    expect(r.retval).toBe(XdpAction.TX);
    expect(r.data!.toString('hex')).toBe(expected.toString('hex'));
    expect(ipv4Checksum(r.data!.subarray(14, 34))).toBe(r.data!.readUInt16BE(24));
  });

  it('verdicts depend on the packet: TTL 1 is dropped, non-IP passes unchanged', () => {
    expect(coll.program('rewrite').testRun({ data: frame(1, 0) }).retval).toBe(XdpAction.DROP);
    const arp = Buffer.concat([Buffer.from('ffffffffffff0200000000010806', 'hex'), Buffer.alloc(28)]);
    const r = coll.program('rewrite').testRun({ data: arp });
    expect(r.retval).toBe(XdpAction.PASS);
    expect(r.data!.equals(arp)).toBe(true);
  });

  it('async runs give the same bytes', async () => {
    const input = frame(9, 0);
    const sync = coll.program('rewrite').testRun({ data: input });
    const r = await coll.program('rewrite').testRunAsync({ data: input });
    expect(r.data!.equals(sync.data!)).toBe(true);
  });

  it('repeat runs the program again on the same buffer and reports ns per run', async () => {
    // Each repetition sees the previous one's output: TTL 200 falls by one per run.
    const r = await coll.program('rewrite').testRunAsync({ data: frame(200, 0), repeat: 150 });
    expect(r.data![22]).toBe(50);
    expect(r.duration).toBeGreaterThan(0);
    expect(r.duration).toBeLessThan(10_000);
  });

  it("runStats() reads the kernel's per-program accounting, which moves only while bpf_stats_enabled is on", () => {
    const sysctl = '/proc/sys/kernel/bpf_stats_enabled';
    const saved = readFileSync(sysctl, 'utf8').trim();
    const prog = coll.program('rewrite');
    try {
      writeFileSync(sysctl, '0');
      const a = prog.runStats();
      prog.testRun({ data: frame(200, 0), repeat: 100 });
      expect(prog.runStats()).toEqual(a);
      writeFileSync(sysctl, '1');
      prog.testRun({ data: frame(200, 0), repeat: 150 });
      const b = prog.runStats();
      expect(b.runCount - a.runCount).toBe(150);
      expect(b.runTimeNs).toBeGreaterThan(a.runTimeNs);
    } finally {
      writeFileSync(sysctl, saved);
    }
  });

  it('an output buffer too small is ENOSPC', () => {
    expect(() => coll.program('rewrite').testRun({ data: frame(9, 0), dataOutSize: 10 })).toThrow(/ENOSPC/);
  });
});
