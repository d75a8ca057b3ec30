// Two `xvtep run` started at the same instant on one pin directory: exactly
// one serves, the other exits 2 with one line saying the pin directory is
// taken (the state file's daemon pid is written too late to decide this; a
// claim file created with O_EXCL does). A claim left by a SIGKILLed daemon
// does not block the next start.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { BIN, VtepLab, exited, waitFor } from '../helpers/vtep-lab.js';

describeKernel('xvtep run started twice on one pin directory', () => {
  let L: VtepLab;
  let cfg = '';
  beforeAll(() => {
    L = new VtepLab('twc', { ipv6: false });
    cfg = L.file('xvtep.json', L.config());
  });
  afterAll(() => L?.destroy());

  const start = () => {
    const proc = spawn('ip', ['netns', 'exec', L.a, process.execPath, BIN, 'run', '-c', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    L.daemons.add(proc);
    proc.on('exit', () => L.daemons.delete(proc));
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    return { proc, out: () => out };
  };

  it('one wins, the other says so and exits 2; a SIGKILLed winner does not block the next start', async () => {
    const a = start(), b = start();
    await waitFor(() => [a, b].some((d) => /xvtep: ready/.test(d.out())) && [a, b].some((d) => d.proc.exitCode !== null), 60_000,
      () => `a: ${a.out()}\nb: ${b.out()}`);
    const [winner, loser] = /xvtep: ready/.test(a.out()) ? [a, b] : [b, a];
    expect(loser.proc.exitCode).toBe(2);
    expect(loser.out().trim().split('\n')).toHaveLength(1);
    expect(loser.out()).toMatch(new RegExp(`${L.pinDir}: xvtep run is already running`));
    expect(winner.proc.exitCode).toBeNull();
    expect(L.lab.ping(L.c, '198.51.100.2', 2)).toBe(true);
    winner.proc.kill('SIGKILL');
    await exited(winner.proc);
    const again = await L.daemon(cfg);
    expect(again.log()).toMatch(/xvtep: ready/);
  }, 120_000);
});
