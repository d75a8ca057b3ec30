// An existing pin directory with looser modes than the 0700 xvtep creates is
// tightened (with a notice); one owned by another user is refused, since
// whoever made it could have pinned maps of their own there for us to adopt.
import { chmodSync, chownSync, mkdirSync, statSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { preparePinDir } from '../../src/reconcile/pindir.js';
import { ManagerError } from '../../src/reconcile/errors.js';
import { TempBpffs } from '../helpers/bpffs.js';
import { describeKernel } from '../helpers/kernel.js';

const mode = (p: string) => statSync(p).mode & 0o777;

describeKernel('pin directory modes', () => {
  let fs: TempBpffs;
  beforeAll(() => {
    fs = new TempBpffs();
  });
  afterAll(() => fs?.destroy());

  it('a pin directory and its subdirectories with group/other bits are tightened to 0700, and it says so', () => {
    const d = fs.path('loose');
    mkdirSync(d);
    chmodSync(d, 0o755);
    mkdirSync(`${d}/maps`);
    chmodSync(`${d}/maps`, 0o777);
    mkdirSync(`${d}/progs`, { mode: 0o700 });
    expect(preparePinDir(d)).toBe(`tightened to 0700: ${d} (was 0755), ${d}/maps (was 0777)`);
    for (const p of [d, `${d}/maps`, `${d}/progs`]) expect(mode(p), p).toBe(0o700);
    expect(preparePinDir(d)).toBeUndefined(); // nothing left to say
  });

  it('one owned by another user is refused with the fix named, and left as it is', () => {
    const d = fs.path('theirs');
    mkdirSync(d, { mode: 0o755 });
    chownSync(d, 65534, 65534);
    let err: unknown;
    try {
      preparePinDir(d);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ManagerError);
    expect((err as ManagerError).message).toBe(`${d} is owned by uid 65534, not root or the user xvtep runs as: remove it, or chown root ${d} if you made it`);
    expect((err as ManagerError).exitCode).toBe(2);
    expect(mode(d)).toBe(0o755);
  });
});
