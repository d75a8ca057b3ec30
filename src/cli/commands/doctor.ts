// xvtep doctor: is this machine ready for xvtep, and if not, what to do.
// What `bpftool feature probe` and `cilium status` are to their users: each
// check ok / warn / fail with the fix. Changes nothing (--probe-attach
// excepted). Exit 0: nothing failed; 1: usage; 2: a check failed.
import type { Command } from 'commander';
import { printJson, resolveTarget, withTarget } from '../target.js';
import { endpointChecks, kernelChecks, metricsCheck, pinDirChecks, privilegeChecks, underlayChecks, type Check } from './doctor-checks.js';

export const EXIT_CHECK_FAILED = 2;

export function registerDoctor(program: Command): void {
  withTarget(program.command('doctor').description('check the kernel, privileges, pin dir, NICs and ports for xvtep; each check ok/warn/fail with the fix'))
    .option('--probe-attach', 'also try a driver-mode XDP attach (an XDP_PASS program, detached at once) on the underlay')
    .action(async (o: { config?: string; pinDir?: string; json?: boolean; probeAttach?: boolean }) => {
      const { pinDir, config } = await resolveTarget(o);
      const checks: Check[] = [...privilegeChecks(), ...kernelChecks(config?.underlay.tcMode), ...pinDirChecks(pinDir)];
      if (config) {
        checks.push(...underlayChecks(config, { probeAttach: !!o.probeAttach }), ...endpointChecks(config), await metricsCheck(config));
      } else {
        checks.push({ check: 'config', status: 'ok', message: 'no -c FILE: the underlay, endpoint and metrics checks need the config' });
      }
      if (o.json) printJson(checks);
      else process.stdout.write(checks.map(line).join(''));
      if (checks.some((c) => c.status === 'fail')) process.exitCode = EXIT_CHECK_FAILED;
    });
}

function line(c: Check): string {
  const tag = c.status === 'ok' ? 'ok  ' : c.status === 'warn' ? 'WARN' : 'FAIL';
  return `${tag}  ${c.check}: ${c.message}\n${c.fix ? `      fix: ${c.fix}\n` : ''}`;
}
