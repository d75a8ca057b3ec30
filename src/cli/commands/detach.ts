// xvtep detach: every program off, every pin and the state file gone.
import type { Command } from 'commander';
import { detachAll, readState } from '../../reconcile/index.js';
import { alive } from '../../daemon/index.js';
import { note, resolveTarget, withTarget } from '../target.js';

export function registerDetach(program: Command): void {
  withTarget(program.command('detach').description('detach every program and remove the pins'), { json: false })
    .action(async (o: { config?: string; pinDir?: string }) => {
      const { pinDir } = await resolveTarget(o);
      const daemon = readState(pinDir).daemonPid;
      if (daemon !== null && alive(daemon)) note(`warning: xvtep run (pid ${daemon}) still serves ${pinDir}; stop it too (it would re-attach on its next reload)`);
      const r = detachAll(pinDir);
      note(r.left.length === 0 ? `detached ${r.links} link(s), removed ${pinDir}`
        : `detached ${r.links} link(s), removed xvtep's pins; left ${pinDir} with what is not xvtep's: ${r.left.slice(0, 5).join(', ')}${r.left.length > 5 ? ', ...' : ''}`);
    });
}
