// xvtep run: the daemon.
import type { Command } from 'commander';
import { runDaemon } from '../../daemon/index.js';
import { UsageError } from '../errors.js';
import { checkTcMode } from '../../reconcile/index.js';
import { ASSUME_HELP, TC_MODE_HELP, withTarget } from '../target.js';
import { takeEarlyWorker } from '../early-worker.js';

export function registerRun(program: Command): void {
  withTarget(program.command('run').description('attach (or adopt what is pinned), serve metrics, reload on SIGHUP and file changes, age learned entries'), { json: false })
    .option('--detach-on-exit', 'remove the data path on SIGTERM/SIGINT (default: leave it running)')
    .option('--assume-peer-napi', ASSUME_HELP)
    .option('--tc-mode <mode>', TC_MODE_HELP)
    .action(async (o: { config?: string; pinDir?: string; detachOnExit?: boolean; assumePeerNapi?: boolean; tcMode?: string; insecureConfigPerms?: boolean }) => {
      if (!o.config) throw new UsageError('run needs -c FILE (it watches the file for changes)');
      if (o.tcMode !== undefined) checkTcMode(o.tcMode);
      await runDaemon({ configPath: o.config, pinDir: o.pinDir, detachOnExit: !!o.detachOnExit, assumePeerNapi: !!o.assumePeerNapi, tcMode: o.tcMode, insecureConfigPerms: !!o.insecureConfigPerms, worker: takeEarlyWorker() });
    });
}
