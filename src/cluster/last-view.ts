// What `xvtep run` does to a file with a cluster: section at every apply,
// for the commands that apply or preview a file without it (attach, config
// diff): merge the last view of the cluster the daemon wrote for that pin
// dir, the file winning conflicts. Without it, both would treat every entry
// the cluster gave as one to remove.
import { statSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { mergeCluster } from './merge.js';
import { clusterViewPath, readClusterView } from './store.js';
import { viewStats } from './view.js';

export interface WithLastView {
  config: Config;
  conflicts: string[];
  /** One line saying what was merged, or that nothing was (null without a cluster: section). */
  note: string | null;
}

export function withLastView(cfg: Config): WithLastView {
  if (!cfg.cluster) return { config: cfg, conflicts: [], note: null };
  const path = clusterViewPath(cfg.state.pinDir);
  const view = readClusterView(cfg.state.pinDir);
  if (!view) return { config: cfg, conflicts: [], note: `cluster: no view of the cluster in ${path} (xvtep run writes one): the cluster's entries are not part of this` };
  let age = '';
  try {
    age = `, written ${Math.round((Date.now() - statSync(path).mtimeMs) / 1000)} s ago`;
  } catch {
    // read a moment ago; its age is only informative
  }
  const s = viewStats(view);
  const m = mergeCluster(cfg, view);
  return {
    config: m.config, conflicts: m.conflicts,
    note: `cluster: merged the last view xvtep run wrote (${s.peers} peer(s), ${s.fdb} FDB entries, ${s.neighbors} neighbour(s)${age}; ${path})`,
  };
}
