// xvtep command line. Exit codes: 0 ok, 1 usage or config error, 2 kernel or
// system error; every error is one line on stderr naming what and why.
import { Command, CommanderError } from 'commander';
import { EXIT_USAGE, exitCodeOf, messageOf } from './errors.js';
import { VERSION } from '../version.js';

type Register = (program: Command) => void;

// A command's module is imported only when that command runs (all of them
// for help, --version and unknown commands): `xvtep fdb add` is one map
// write, and loading zod, yaml and prom-client for it was most of its time.
// In help order.
const COMMANDS: ReadonlyArray<readonly [string, () => Promise<Register>]> = [
  ['attach', async () => (await import('./commands/attach.js')).registerAttach],
  ['run', async () => (await import('./commands/run.js')).registerRun],
  ['detach', async () => (await import('./commands/detach.js')).registerDetach],
  ['status', async () => (await import('./commands/status.js')).registerStatus],
  ['fdb', async () => (await import('./commands/edits.js')).registerFdb],
  ['vni', async () => (await import('./commands/edits.js')).registerVni],
  ['peer', async () => (await import('./commands/edits.js')).registerPeer],
  ['neigh', async () => (await import('./commands/edits.js')).registerNeigh],
  ['stats', async () => (await import('./commands/stats.js')).registerStats],
  ['config', async () => (await import('./commands/config.js')).registerConfig],
  ['cluster', async () => (await import('./commands/cluster.js')).registerCluster],
  ['doctor', async () => (await import('./commands/doctor.js')).registerDoctor],
];

/** The program with every command, or only `command` when it is one of them. */
export async function buildProgram(command?: string): Promise<Command> {
  const program = new Command('xvtep')
    .description('VXLAN tunnel endpoint with an eBPF/XDP data path')
    .version(VERSION)
    .showHelpAfterError(false)
    // commander adds hints on lines of their own ("(Did you mean --vni?)"); an error is one line
    .configureOutput({ outputError: (s, write) => write(`xvtep: ${s.replace(/^error: /, '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ')}\n`) })
    .exitOverride();
  const only = COMMANDS.filter(([name]) => name === command);
  for (const [, load] of only.length ? only : COMMANDS) (await load())(program);
  for (const c of program.commands) {
    c.exitOverride();
    for (const s of c.commands) s.exitOverride();
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await (await buildProgram(argv[0])).parseAsync(argv, { from: 'user' });
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
