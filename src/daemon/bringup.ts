// attach and run share this: adopt or create the pinned data path, converge
// it to the config, record the result in the manager state.
import type { Config } from '../config/index.js';
import type { Datapath } from '../datapath/index.js';
import { assertStateWritable, detachAll, openOrCreate, reconcileConfig, sizesOf, type ReconcileResult, recordResult, errMessage } from '../reconcile/index.js';

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
    assertStateWritable(pinDir);
    const target = opts.prepare ? await opts.prepare() : cfg;
    const result = reconcileConfig(dp, target, opts);
    try {
      recordResult(pinDir, { ok: true, trigger, changes: result.changes }, configPath, result.endpointXdp);
    } catch (e) {
      // the space went between the check and now: the maps are the file's, only the record is missing
      result.warnings.push(`applied, but the state file could not record it (${errMessage(e)}): status shows the previous apply until the next one`);
    }
    report(result, log);
    return { dp, result, created };
  } catch (e) {
    if (created) {
      // Nothing was pinned before: leave nothing behind.
      dp.close();
      detachAll(pinDir);
    } else {
      dp.close();
      recordQuietly(pinDir, { ok: false, trigger, changes: 0, error: errMessage(e) });
    }
    throw e;
  }
}

export function report(r: ReconcileResult, log: Log): void {
  for (const w of r.warnings) log(`warning: ${w}`);
  for (const n of r.notes) log(n);
}

/** Records a failure if the state directory lets it: the failure itself is what gets reported. */
export function recordQuietly(pinDir: string, r: Parameters<typeof recordResult>[1]): void {
  try {
    recordResult(pinDir, r);
  } catch {
    // a full or read-only state directory: the caller reports the apply's own error
  }
}
