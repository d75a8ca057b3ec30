// attach and run share this: adopt or create the pinned data path, converge
// it to the config, record the result in the manager state.
import type { Config } from '../config/index.js';
import type { Datapath } from '../datapath/index.js';
import { detachAll, openOrCreate, reconcileConfig, sizesOf, type ReconcileResult, recordResult, errMessage } from '../reconcile/index.js';

export type Log = (msg: string) => void;

export interface BringUpOptions {
  assumePeerNapi?: boolean;
  tolerateMissingEndpoints?: boolean;
  /** Called once the data path is loaded (or adopted): the config to converge to (run merges the cluster's first view here). */
  prepare?: () => Promise<Config>;
}

export async function bringUp(cfg: Config, configPath: string | null, trigger: string, log: Log, opts: BringUpOptions = {}): Promise<{ dp: Datapath; result: ReconcileResult; created: boolean }> {
  const pinDir = cfg.state.pinDir;
  const { dp, created, notice } = await openOrCreate(pinDir, sizesOf(cfg));
  if (notice) log(notice);
  try {
    const target = opts.prepare ? await opts.prepare() : cfg;
    const result = reconcileConfig(dp, target, opts);
    recordResult(pinDir, { ok: true, trigger, changes: result.changes }, configPath, result.endpointXdp);
    report(result, log);
    return { dp, result, created };
  } catch (e) {
    if (created) {
      // Nothing was pinned before: leave nothing behind.
      dp.close();
      detachAll(pinDir);
    } else {
      recordResult(pinDir, { ok: false, trigger, changes: 0, error: errMessage(e) });
      dp.close();
    }
    throw e;
  }
}

export function report(r: ReconcileResult, log: Log): void {
  for (const w of r.warnings) log(`warning: ${w}`);
  for (const n of r.notes) log(n);
}
