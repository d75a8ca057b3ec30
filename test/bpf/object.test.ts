import { expect, it } from 'vitest';
import { BpfError, ObjectSpec, ProgType, VerifierError, XdpAction, u8 } from '../../src/bpf/index.js';
import { fixturePath, loadFixture } from '../helpers/fixtures.js';
import { describeKernel } from '../helpers/kernel.js';

describeKernel('object: open, adjust, load', () => {
  it('lists programs and maps before load, with their kernel identity after', async () => {
    const spec = ObjectSpec.open(fixturePath('counter'));
    const progs = spec.programs.map((p) => [p.name, p.section, p.type]).sort();
    expect(progs).toEqual([
      ['count_tc_egress', 'tc', ProgType.SCHED_CLS],
      ['count_tc_ingress', 'tc', ProgType.SCHED_CLS],
      ['count_xdp', 'xdp', ProgType.XDP],
      ['count_xdp_twice', 'xdp', ProgType.XDP],
    ]);
    const counts = spec.maps.find((m) => m.name === 'counts');
    expect(counts).toMatchObject({ typeName: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 3, internal: false });
    using coll = await spec.load();
    const p = coll.program('count_xdp');
    expect(p.id).toBeGreaterThan(0);
    expect(p.tag).toMatch(/^[0-9a-f]{16}$/);
    expect(p.type).toBe(ProgType.XDP);
    expect(() => spec.programs).toThrow(/already loaded or closed/);
  });

  it('loads from a Buffer and sets .rodata before load', async () => {
    const { readFileSync } = await import('node:fs');
    const spec = ObjectSpec.fromBuffer(readFileSync(fixturePath('rewrite')), 'rewrite');
    spec.setConstant('dscp', u8, 46);
    expect(() => spec.setRodata('dscp', Buffer.alloc(4))).toThrow(/size 4 != 1/);
    expect(() => spec.setRodata('nope', Buffer.alloc(1))).toThrow(/no such variable/);
    using coll = await spec.load();
    const frame = Buffer.from('ffffffffffff0200000000010800' + '4500001c0000000040110000c0000201c0000202' + '0000000000080000', 'hex');
    const out = coll.program('rewrite').testRun({ data: frame });
    expect(out.retval).toBe(XdpAction.TX);
    expect(out.data![15]! >> 2).toBe(46);
  });

  it('a verifier rejection carries the log and names the program', async () => {
    const spec = ObjectSpec.open(fixturePath('bad'));
    const err = await spec.load().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(VerifierError);
    const v = err as VerifierError;
    expect(v.program).toBe('reads_unchecked');
    expect(v.code).toBe('EACCES');
    expect(v.log).toMatch(/invalid access to packet/);
    expect(v.message).toMatch(/reads_unchecked/);
  });

  it('a missing file is ENOENT naming the path', () => {
    const err = (() => { try { ObjectSpec.open('/nonexistent/x.o'); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(BpfError);
    expect((err as BpfError).code).toBe('ENOENT');
    expect((err as Error).message).toContain('/nonexistent/x.o');
  });

  it('garbage is refused at open with a reason', () => {
    expect(() => ObjectSpec.fromBuffer(Buffer.from('not an elf file'), 'junk')).toThrow(BpfError);
  });

  it('closes every handle with `using`', async () => {
    let fd = -1;
    {
      using coll = await loadFixture('counter');
      fd = coll.program('count_xdp').fd;
      expect(fd).toBeGreaterThan(2);
    }
    const { fstatSync } = await import('node:fs');
    expect(() => fstatSync(fd)).toThrow();
  });
});
