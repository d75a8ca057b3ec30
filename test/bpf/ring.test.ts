// The ring buffer consumer (native/src/objects/ring_buffer.cc through
// src/bpf/ring.ts) against a real ringbuf map: records written by a program
// under BPF_PROG_TEST_RUN come back byte for byte, in order, once each,
// synchronously and through the event loop; a full ring refuses records and
// takes them again once consumed.
import { constants } from 'node:os';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BpfError, BpfMap, MapType, RingBuffer, XdpAction, type Collection } from '../../src/bpf/index.js';
import { loadFixture } from '../helpers/fixtures.js';
import { describeKernel } from '../helpers/kernel.js';

/** A frame whose record is its first (tag & 15) + 1 bytes, told apart by byte 1. */
const frame = (tag: number, id: number): Buffer => {
  const b = Buffer.alloc(64, 0xee);
  b[0] = tag;
  b[1] = id & 0xff;
  b[2] = id >> 8;
  for (let i = 3; i < 16; i++) b[i] = i;
  return b;
};
const record = (tag: number, id: number) => frame(tag, id).subarray(0, (tag & 15) + 1);

async function until<T>(what: string, f: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describeKernel('RingBuffer (BPF ring buffer consumer)', () => {
  let coll: Collection;
  const run = (tag: number, id: number) => coll.program('ring_xdp').testRun({ data: frame(tag, id) }).retval;
  beforeAll(async () => {
    coll = await loadFixture('ring');
  });
  afterAll(() => coll?.close());

  it('consume(): every record ready, in order, byte for byte, each once', () => {
    const rb = new RingBuffer(coll.map('ring'));
    try {
      expect(rb.consume()).toEqual([]);
      const tags = [0x00, 0x05, 0x0f, 0x13];
      tags.forEach((t, i) => expect(run(t, i)).toBe(XdpAction.PASS));
      const got = rb.consume();
      expect(got.map((b) => b.toString('hex'))).toEqual(tags.map((t, i) => record(t, i).toString('hex')));
      expect(got.map((b) => b.length)).toEqual([1, 6, 16, 4]);
      expect(rb.consume()).toEqual([]);
    } finally {
      rb.close();
    }
  });

  it('start(): records arrive through the event loop in batches, those waiting before start too', async () => {
    const rb = new RingBuffer(coll.map('ring'));
    const got: Buffer[] = [];
    const batches: number[] = [];
    const errors: Error[] = [];
    try {
      expect(run(0x0f, 1000)).toBe(XdpAction.PASS); // before start
      rb.start((r) => {
        batches.push(r.length);
        got.push(...r);
      }, (e) => errors.push(e));
      await until('the waiting record', () => (got.length >= 1 ? true : undefined));
      // 50 written in one go (no turn of the loop between them): fewer callbacks than records
      for (let i = 0; i < 50; i++) expect(run(0x0f, i)).toBe(XdpAction.PASS);
      await until('50 more records', () => (got.length >= 51 ? true : undefined));
      await new Promise((r) => setTimeout(r, 50)); // nothing more may come
      expect(got.map((b) => b.readUInt16LE(1))).toEqual([1000, ...Array.from({ length: 50 }, (_, i) => i)]);
      expect(got.every((b) => b.length === 16)).toBe(true);
      expect(batches.length).toBeLessThan(51);
      expect(errors).toEqual([]);
      expect(rb.consume()).toEqual([]);
    } finally {
      rb.close();
    }
  });

  it('a full ring refuses records; once consumed it takes them again', () => {
    const rb = new RingBuffer(coll.map('ring'));
    try {
      let passed = 0;
      while (run(0x0f, passed) === XdpAction.PASS && passed < 10_000) passed++;
      // 4096 bytes of data, 16 + 8 (header) per record
      expect(passed).toBe(Math.floor(4096 / 24));
      expect(run(0x0f, 0)).toBe(XdpAction.DROP);
      const got = rb.consume();
      expect(got.length).toBe(passed);
      expect(got.map((b) => b.readUInt16LE(1))).toEqual(Array.from({ length: passed }, (_, i) => i & 0xffff));
      expect(run(0x0f, 7)).toBe(XdpAction.PASS);
      expect(rb.consume().map((b) => b.readUInt16LE(1))).toEqual([7]);
    } finally {
      rb.close();
    }
  });

  it('refuses a map that is not a ringbuf, and a closed consumer says so', () => {
    const m = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      const e = (() => {
        try {
          new RingBuffer(m);
        } catch (x) {
          return x;
        }
      })();
      expect(e).toBeInstanceOf(BpfError);
      expect((e as BpfError).errno).toBe(constants.errno.EINVAL);
      expect((e as BpfError).message).toContain('array map, not a ringbuf');
    } finally {
      m.close();
    }
    const rb = new RingBuffer(coll.map('ring'));
    rb.close();
    expect(rb.closed).toBe(true);
    expect(() => rb.consume()).toThrow(/closed/);
    rb.close(); // twice is fine
  });
});
