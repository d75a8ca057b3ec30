// xvtep completion bash|zsh: the bash script, sourced into a real bash,
// completes commands, subcommands, options and file names.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/vtep-lab.js';

const xvtep = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

describe('xvtep completion', () => {
  let dir: string, script: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'xvtep-completion-'));
    mkdirSync(join(dir, 'pins-a'));
    writeFileSync(join(dir, 'conf.yaml'), '');
    const r = xvtep('completion', 'bash');
    expect(r.status).toBe(0);
    script = join(dir, 'xvtep.bash');
    writeFileSync(script, r.stdout);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** What bash offers for the last word of `line` (split on blanks; a trailing blank means an empty word). */
  const complete = (line: string): string[] => {
    const words = line.split(' ');
    const arr = words.map((w) => `'${w}'`).join(' ');
    const r = spawnSync('bash', ['-c', `source '${script}'; COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; _xvtep; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8', cwd: dir });
    expect(r.stderr).toBe('');
    return r.stdout.split('\n').filter(Boolean).sort();
  };

  it('completes commands, subcommands and options from the command table', () => {
    expect(complete('xvtep ')).toEqual(expect.arrayContaining(['attach', 'fdb', 'vni', 'peer', 'neigh', 'completion', '-batch', '-force']));
    expect(complete('xvtep f')).toEqual(['fdb']);
    expect(complete('xvtep fdb ')).toEqual(['--help', 'add', 'append', 'del', 'flush', 'replace', 'show']);
    expect(complete('xvtep --pin-dir /x fdb sh')).toEqual(['show']);
    expect(complete('xvtep fdb show --')).toEqual(['--config', '--help', '--insecure-config-perms', '--json', '--pin-dir']);
    expect(complete('xvtep completion ')).toEqual(['--help', 'bash', 'zsh']);
  });

  it("completes each edit's keywords and their values: interfaces after dev/endpoint, on|off", () => {
    expect(complete('xvtep fdb add 02:00:00:00:00:01 ')).toEqual(['--config', '--help', '--insecure-config-perms', '--pin-dir', '-c', 'dev', 'dst', 'vni']);
    expect(complete('xvtep fdb flush ')).toEqual(expect.arrayContaining(['vni', 'dynamic', 'static', 'all']));
    expect(complete('xvtep vni add 43 ')).toEqual(expect.arrayContaining(['endpoint', 'learning', 'proxy', 'allow-unknown-peers', '--assume-peer-napi']));
    expect(complete('xvtep fdb add 02:00:00:00:00:01 vni ')).toEqual([]);
    expect(complete('xvtep fdb add 02:00:00:00:00:01 vni 42 dev l')).toEqual(['lo']);
    expect(complete('xvtep vni add 43 learning ')).toEqual(['off', 'on']);
    expect(complete('xvtep vni ')).toEqual(['--help', 'add', 'del', 'show']);
  });

  it('completes directories after --pin-dir and files after -c and -batch', () => {
    expect(complete('xvtep fdb show --pin-dir pi')).toEqual(['pins-a']);
    expect(complete('xvtep --pin-dir co')).toEqual([]);
    expect(complete('xvtep vni show -c co')).toEqual(['conf.yaml']);
    expect(complete('xvtep -batch xv')).toEqual(['xvtep.bash']);
  });

  it('zsh gets the same function through bashcompinit; other shells are a usage error', () => {
    const z = xvtep('completion', 'zsh');
    expect(z.status).toBe(0);
    expect(z.stdout).toMatch(/^#compdef xvtep\n/);
    expect(z.stdout).toContain('bashcompinit');
    expect(z.stdout).toContain('complete -o filenames -F _xvtep xvtep');
    const bad = xvtep('completion', 'fish');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('xvtep: completion: "fish" is not a shell this knows (bash or zsh)\n');
  });
});
