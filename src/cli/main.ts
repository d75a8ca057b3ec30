// xvtep command line. Exit codes: 0 ok, 1 usage or config error, 2 kernel or
// system error; every error is one line on stderr naming what and why.
import { Command, CommanderError } from 'commander';
import { registerAttach } from './commands/attach.js';
import { registerConfig } from './commands/config.js';
import { registerDetach } from './commands/detach.js';
import { registerFdb, registerNeigh, registerPeer, registerVni } from './commands/edits.js';
import { registerRun } from './commands/run.js';
import { registerStats } from './commands/stats.js';
import { registerStatus } from './commands/status.js';
import { EXIT_USAGE, exitCodeOf, messageOf } from './errors.js';
import { VERSION } from '../version.js';

export function buildProgram(): Command {
  const program = new Command('xvtep')
    .description('VXLAN tunnel endpoint with an eBPF/XDP data path')
    .version(VERSION)
    .showHelpAfterError(false)
    // commander adds hints on lines of their own ("(Did you mean --vni?)"); an error is one line
    .configureOutput({ outputError: (s, write) => write(`xvtep: ${s.replace(/^error: /, '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ')}\n`) })
    .exitOverride();
  registerAttach(program);
  registerRun(program);
  registerDetach(program);
  registerStatus(program);
  registerFdb(program);
  registerVni(program);
  registerPeer(program);
  registerNeigh(program);
  registerStats(program);
  registerConfig(program);
  for (const c of program.commands) {
    c.exitOverride();
    for (const s of c.commands) s.exitOverride();
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and --version exit through here with code 0; commander printed the message already
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    process.stderr.write(`xvtep: ${messageOf(e)}\n`);
    return exitCodeOf(e);
  }
}

const code = await main(process.argv.slice(2));
// The daemon returns only when it is done; everything else is done too.
process.exit(code);
