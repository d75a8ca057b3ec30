// Config file trust (issue 15): only a regular file, read with a bound, and
// (like sshd's StrictModes) only one that no other user can write or own,
// along every directory and symlink on its way; --insecure-config-perms
// (insecurePerms) lifts the ownership/mode rule only.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/index.js';
import { readConfigText } from '../../src/config/parser.js';
import { isRoot } from '../helpers/kernel.js';
import { root } from '../helpers/fixtures.js';

const GOOD = 'underlay: { interface: eth0 }\nvnis: [{ vni: 1, endpoints: [v1] }]\n';
const BIN = join(root, 'bin', 'xvtep');

async function refusal(path: string, insecurePerms = false): Promise<string> {
  try {
    await readConfigText(path, { insecurePerms });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).message;
  }
  throw new Error(`${path} was read`);
}

describe('config file trust', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'xvtep-trust-')); // 0700 under a root-owned sticky /tmp: trusted
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, mode = 0o644, text = GOOD) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    chmodSync(p, mode);
    return p;
  };

  it('reads a root-owned 0644 file in a 0700 directory under the sticky /tmp', async () => {
    expect(await readConfigText(file('ok.yaml'))).toBe(GOOD);
  });

  it('refuses a file writable by group or others, naming the fix; --insecure-config-perms reads it', async () => {
    const g = file('g.yaml', 0o664);
    expect(await refusal(g)).toMatch(new RegExp(`config file ${g} is writable by group \\(mode 0664\\): chmod go-w ${g} \\(or --insecure-config-perms in a lab\\)`));
    expect(await refusal(file('o.yaml', 0o646))).toMatch(/is writable by others \(mode 0646\)/);
    expect(await readConfigText(g, { insecurePerms: true })).toBe(GOOD);
  });

  it('refuses a directory on the way that others can write (not sticky), and one behind a symlink', async () => {
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const p = join(open, 'c.yaml');
    writeFileSync(p, GOOD);
    expect(await refusal(p)).toMatch(new RegExp(`directory ${open} is writable by group and others \\(mode 0777\\): chmod go-w ${open}`));
    // a safe-looking link into it does not launder it
    const link = join(dir, 'link.yaml');
    symlinkSync(p, link);
    expect(await refusal(link)).toMatch(new RegExp(`directory ${open} is writable`));
    // sticky and root-owned (as /tmp) is fine
    chmodSync(open, 0o1777);
    expect(await readConfigText(p)).toBe(GOOD);
  });

  it.runIf(isRoot)('refuses a file or directory owned by another user', async () => {
    const p = file('nobody.yaml');
    chownSync(p, 65534, 65534);
    expect(await refusal(p)).toMatch(new RegExp(`config file ${p} is owned by uid 65534, not root or the user xvtep runs as \\(uid 0\\): chown root ${p}`));
    const d = join(dir, 'theirs');
    mkdirSync(d, { mode: 0o755 });
    const q = join(d, 'c.yaml');
    writeFileSync(q, GOOD);
    chownSync(d, 65534, 65534);
    expect(await refusal(q)).toMatch(new RegExp(`directory ${d} is owned by uid 65534`));
  });

  it('refuses what is not a regular file, symlinks followed, without blocking: a FIFO, /dev/zero, a link to it, a directory', async () => {
    const fifo = join(dir, 'fifo.yaml');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const t0 = Date.now();
    expect(await refusal(fifo)).toMatch(/is a FIFO, not a regular file/);
    expect(Date.now() - t0).toBeLessThan(2000); // the open did not wait for a writer
    expect(await refusal('/dev/zero', true)).toMatch(/is a character device, not a regular file/);
    const z = join(dir, 'zero.yaml');
    symlinkSync('/dev/zero', z);
    expect(await refusal(z, true)).toMatch(/is a character device, not a regular file/);
    expect(await refusal(dir)).toMatch(/is a directory, not a file/);
  });

  it('a regular file whose st_size is 0 (a /proc file) is read to its end, not taken as empty', async () => {
    expect((await readConfigText('/proc/self/status', { insecurePerms: true })).length).toBeGreaterThan(0);
  });

  it('the CLI refuses with one line and exit 1, and --insecure-config-perms is accepted by config check', () => {
    const g = file('cli.yaml', 0o666);
    const r = spawnSync(process.execPath, [BIN, 'config', 'check', g], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/writable by group and others \(mode 0666\): chmod go-w/);
    const ok = spawnSync(process.execPath, [BIN, 'config', 'check', g, '--insecure-config-perms'], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
  });

  it('a FIFO given to the CLI fails at once instead of hanging', async () => {
    const fifo = join(dir, 'cli-fifo.yaml');
    spawnSync('mkfifo', [fifo]);
    const child = spawn(process.execPath, [BIN, 'config', 'check', fifo], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 10_000);
      child.once('exit', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    expect([code, err.trim()]).toEqual([1, expect.stringMatching(/is a FIFO, not a regular file/)]);
  });
});
