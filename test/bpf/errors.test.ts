import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BpfError, BpfMap, type Collection } from '../../src/bpf/index.js';
import { runChildUnprivileged } from '../helpers/child.js';
import { fixturePath, loadFixture } from '../helpers/fixtures.js';
import { describeKernel } from '../helpers/kernel.js';

describeKernel('errors say what failed and what to do', () => {
  let coll: Collection;
  let dir = '';
  beforeAll(async () => {
    coll = await loadFixture('counter');
    dir = mkdtempSync(join(tmpdir(), 'xvtep-nobpffs-'));
  });
  afterAll(() => {
    coll?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pinning outside a bpffs names the directory and the mount command', () => {
    const err = (() => { try { coll.perCpuMap('counts').pin(join(dir, 'counts')); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(BpfError);
    expect((err as Error).message).toContain(dir);
    expect((err as Error).message).toContain('mount -t bpf bpf');
  });

  it('pinning into a directory that does not exist says so', () => {
    expect(() => coll.perCpuMap('counts').pin('/nonexistent-dir/x/counts')).toThrow(/does not exist/);
  });

  it('opening a pin that does not exist is ENOENT with the path', () => {
    const err = (() => { try { BpfMap.open(join(dir, 'missing')); } catch (e) { return e; } })() as BpfError;
    expect(err.code).toBe('ENOENT');
    expect(err.message).toContain(join(dir, 'missing'));
  });

  it('asking a per-CPU map for plain values is refused with the right class to use', () => {
    expect(() => coll.map('counts')).toThrow(/per-CPU map: use perCpuMap/);
  });

  it('without privileges, loading says which capabilities are missing', () => {
    const out = runChildUnprivileged(`
      try {
        const spec = bpf.ObjectSpec.open(${JSON.stringify(fixturePath('counter'))});
        await spec.load();
        console.log(JSON.stringify({ ok: true }));
      } catch (e) {
        console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message }));
      }
    `) as { name: string; code: string; message: string };
    expect(out.name).toBe('BpfError');
    expect(out.code).toBe('EPERM');
    expect(out.message).toMatch(/CAP_BPF and CAP_NET_ADMIN/);
  });
});
