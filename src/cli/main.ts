// xvtep command line. Exit codes: 0 ok, 1 usage or config error, 2 kernel or
// system error; every error is one line on stderr naming what and why.
// commander only when a command needs parsing by it (not for a plain edit, batch.ts runPlain)
import type { Command } from 'commander';
import { setFlagsFromString } from 'node:v8';
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
  ['completion', async () => {
    const { registerCompletion } = await import('./commands/completion.js');
    return (p: Command) => registerCompletion(p, () => buildProgram());
  }],
];

let commander: typeof import('commander') | undefined;

/** The program with every command, or only `command` when it is one of them. */
export async function buildProgram(command?: string): Promise<Command> {
  commander ??= await import('commander');
  const program = new commander.Command('xvtep')
    .description('VXLAN tunnel endpoint with an eBPF/XDP data path')
    .version(VERSION)
    .showHelpAfterError(false)
    // commander adds hints on lines of their own ("(Did you mean --vni?)"); an error is one line
    .configureOutput({ outputError: (s, write) => write(`xvtep: ${s.replace(/^error: /, '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ')}\n`) })
    .exitOverride()
    .addHelpText('after', '\nBatch mode (like ip/bridge -batch; docs/cli.md):\n  xvtep [-force] -batch FILE|- [--pin-dir DIR | -c FILE] [-j]');
  const only = COMMANDS.filter(([name]) => name === command);
  for (const [, load] of only.length ? only : COMMANDS) (await load())(program);
  for (const c of program.commands) {
    c.exitOverride();
    for (const s of c.commands) s.exitOverride();
  }
  return program;
}

/** iproute2 spells it -batch, which commander cannot parse: batch.ts reads its own options. */
const isBatch = (argv: readonly string[]) => argv.some((a) => a === '-batch' || a === '--batch' || a === '-b');
/** Commands a plain argv runs without commander (batch.ts runPlain). */
const PLAIN = new Set(['fdb', 'vni', 'peer', 'neigh']);

export async function main(argv: string[]): Promise<number> {
  try {
    if (argv[0] === 'run') {
      // The daemon's young generation stays at its first size: V8 doubles it
      // (up to 2 x 16 MB) each time the bytes that survived scavenges since
      // the last doubling exceed it, a sum that only grows in a long-lived
      // process, and never gives it back while idle. Scrapes and ageing
      // sweeps then cost a few more scavenges (~1 ms each). Read by V8 at
      // every growth decision; the forked apply workers keep the default.
      setFlagsFromString('--semi-space-growth-factor=1');
      await (await import('./early-worker.js')).forkEarlyWorker();
    }
    if (isBatch(argv)) return await (await import('./commands/batch.js')).runBatch(argv);
    if (PLAIN.has(argv[0]!)) {
      const code = await (await import('./commands/batch.js')).runPlain(argv);
      if (code !== undefined) return code;
    }
    await (await buildProgram(argv[0])).parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (commander && e instanceof commander.CommanderError) {
      // help and --version exit through here with code 0; commander printed the message already
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    process.stderr.write(`xvtep: ${messageOf(e)}\n`);
    return exitCodeOf(e);
  }
}

// process.stdout and stderr are made on first use, and making one loads
// node:stream (milliseconds): an edit that prints nothing never does. Each
// is fitted when made: a reader that went away (`xvtep fdb show | head`)
// ends the output, as SIGPIPE ends iproute2's; and a pipe that fills (a
// large `fdb show -j`) leaves output queued that exit must not cut off.
const used = new Set<NodeJS.WriteStream>();
for (const name of ['stdout', 'stderr'] as const) {
  const make = Object.getOwnPropertyDescriptor(process, name)!.get!;
  Object.defineProperty(process, name, {
    configurable: true, enumerable: true,
    get() {
      const s = make.call(process) as NodeJS.WriteStream;
      if (!used.has(s)) {
        used.add(s);
        s.on('error', (e: NodeJS.ErrnoException) => {
          if (e.code !== 'EPIPE') throw e;
          process.exit(0);
        });
      }
      return s;
    },
  });
}
const flushed = (s: NodeJS.WriteStream) => new Promise<void>((resolve) => s.write('', () => resolve()));

// The daemon returns only when it is done; everything else is done too.
// (No top-level await: the fast-start bundle is CommonJS, scripts/bundle-cli.mjs.)
void main(process.argv.slice(2)).then(async (code) => {
  await Promise.all([...used].map(flushed));
  process.exit(code);
});
