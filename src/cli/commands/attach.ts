// xvtep attach: load, attach, fill the maps, pin everything, exit.
import type { Command } from 'commander';
import { ConfigError, type Config } from '../../config/index.js';
import { configFromFlags } from '../../config/parser.js';
import { loadForApply } from '../../reconcile/index.js';
import { withLastView } from '../../cluster/index.js';
import { bringUp } from '../../daemon/index.js';
import { UsageError } from '../errors.js';
import { withTcMode } from '../../reconcile/index.js';
import { ASSUME_HELP, TC_MODE_HELP, note, withPinDir, withTarget } from '../target.js';

const collect = (v: string, prev: string[]) => [...prev, v];

export function quickFormOptions(cmd: Command): Command {
  return cmd
    .option('--underlay <iface>', 'quick form: the underlay NIC')
    .option('--vni <n>', 'quick form: the VNI')
    .option('--endpoint <iface>', 'quick form: an endpoint interface (repeatable)', collect, [])
    .option('--peer <addr>', 'quick form: a remote VTEP (repeatable)', collect, [])
    .option('--address <addr>', 'quick form: the local VTEP address')
    .option('--port <n>', 'quick form: the VXLAN UDP port');
}

export interface QuickOptions {
  config?: string;
  pinDir?: string;
  underlay?: string;
  vni?: string;
  endpoint: string[];
  peer: string[];
  address?: string;
  port?: string;
  insecureConfigPerms?: boolean;
}

/** The config from -c FILE or from the quick-form flags (never both). */
export async function configOf(o: QuickOptions): Promise<{ cfg: Config; path: string | null }> {
  const quick = o.underlay !== undefined || o.vni !== undefined || o.endpoint.length > 0 || o.peer.length > 0 || o.address !== undefined || o.port !== undefined;
  if (o.config && quick) throw new UsageError('give either -c FILE or the quick-form flags (--underlay, --vni, ...), not both');
  if (o.config) return { cfg: withPinDir(await loadForApply(o.config, { insecurePerms: !!o.insecureConfigPerms }), o.pinDir), path: o.config };
  if (!quick) throw new UsageError('nothing to attach: give -c FILE, or --underlay IFACE --vni N --endpoint IFACE [--peer ADDR]');
  if (o.underlay === undefined) throw new UsageError('--underlay: required by the quick form');
  if (o.vni === undefined) throw new UsageError('--vni: required by the quick form');
  const r = configFromFlags({ underlay: o.underlay, vni: o.vni, endpoints: o.endpoint, peers: o.peer, address: o.address, port: o.port });
  if (!r.ok) throw new ConfigError('command line', r.errors);
  return { cfg: withPinDir(r.config, o.pinDir), path: null };
}

export function registerAttach(program: Command): void {
  const cmd = program.command('attach').description('load, attach and fill the maps from the config, pin everything, exit (traffic flows with no process)');
  quickFormOptions(withTarget(cmd, { json: false }))
    .option('--assume-peer-napi', ASSUME_HELP)
    .option('--tc-mode <mode>', TC_MODE_HELP)
    .action(async (o: QuickOptions & { assumePeerNapi?: boolean; tcMode?: string }) => {
      const { cfg: fromFile, path } = await configOf(o);
      // A file with a cluster: section gets the last view of the cluster, as run's applies do.
      const { config: merged, conflicts, note: viewNote } = withLastView(fromFile);
      if (viewNote) note(viewNote);
      for (const c of conflicts) note(`cluster: conflict: ${c}`);
      const cfg = withTcMode(merged, o.tcMode);
      const { dp, result, created } = await bringUp(cfg, path, 'attach', note, { assumePeerNapi: !!o.assumePeerNapi });
      dp.close();
      note(`${created ? 'attached' : 'updated'} ${cfg.state.pinDir}: ${cfg.vnis.length} VNI(s), ${result.changes} map change(s)`);
    });
}
