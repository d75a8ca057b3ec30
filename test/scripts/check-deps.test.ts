// The fresh-machine self-check bites: a header from a package that
// scripts/ensure-deps.sh does not install, or a BPF source that reaches
// glibc, fails it with the file and the package named.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const check = (...args: string[]) =>
  spawnSync(process.execPath, ['scripts/check-deps.mjs', ...args], { encoding: 'utf8', timeout: 120_000 });

describe('scripts/check-deps.mjs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xvtep-check-deps-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes on the tree as it is', () => {
    const r = check();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/check-deps: [1-9]\d* system headers, [1-9]\d* commands, .*: all covered/);
  });

  it('fails, naming file and package, when a package leaves the list', () => {
    const r = check('--drop', 'libbpf-dev');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('/usr/include/bpf/bpf_helpers.h');
    expect(r.stderr).toMatch(/comes from libbpf-dev, which scripts\/ensure-deps\.sh does not install/);
  });

  it('fails on a command from a package outside the list', () => {
    const r = check('--drop', 'iperf3');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\/usr\/bin\/iperf3 \(command 'iperf3' run by [^)]+\) comes from iperf3/);
  });

  it('fails on a BPF source that reaches glibc (the libc6-dev-i386 trap)', () => {
    const src = join(dir, 'glibc.bpf.c');
    writeFileSync(src, '#include <linux/bpf.h>\n#include <sys/socket.h>\nint x;\n');
    const r = check('--extra-source', src);
    expect(r.status).toBe(1);
    // Without libc6-dev-i386 clang stops at gnu/stubs-32.h; with it, the
    // header is found and its package (not in the list) is named.
    expect(r.stderr).toMatch(/stubs-32\.h' file not found|comes from libc6-dev-i386/);
  });
});
