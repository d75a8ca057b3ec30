// Which instance a command talks to: the pin directory from -c FILE
// (state.pinDir) or --pin-dir, else the default. --pin-dir wins over the
// file so one config can serve several lab hosts.
import type { Command } from 'commander';
import type { Config } from '../config/index.js';
import { DEFAULT_PIN_DIR, checkPinDir, withPinDir } from '../reconcile/index.js';

export { withPinDir };

export interface TargetOptions {
  config?: string;
  pinDir?: string;
  json?: boolean;
}

export function withTarget(cmd: Command, opts: { json?: boolean } = {}): Command {
  cmd.option('-c, --config <file>', 'config file (its state.pinDir says where the pins are)')
    .option('--pin-dir <dir>', `pinned state directory on a bpffs (default ${DEFAULT_PIN_DIR})`);
  if (opts.json !== false) cmd.option('-j, --json', 'JSON output');
  return cmd;
}


export async function resolveTarget(o: TargetOptions): Promise<{ pinDir: string; config?: Config }> {
  if (o.config) {
    // Only with -c: the config module (zod, yaml) is most of a CLI's start-up.
    const { loadConfigFile } = await import('../config/parser.js');
    const config = withPinDir(await loadConfigFile(o.config), o.pinDir);
    return { pinDir: config.state.pinDir, config };
  }
  return { pinDir: o.pinDir !== undefined ? checkPinDir(o.pinDir) : DEFAULT_PIN_DIR };
}

export const TC_MODE_HELP = 'TC hooks: auto (tcx where the kernel has it, else netlink), tcx or netlink clsact filters; over underlay.tcMode';

export const ASSUME_HELP = 'endpoint veth peers live in namespaces xvtep cannot enter (containers) and have GRO or XDP on: attach without checking';

export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 2) + '\n');
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export function note(msg: string): void {
  process.stderr.write(`xvtep: ${msg}\n`);
}
