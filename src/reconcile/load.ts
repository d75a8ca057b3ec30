// Loading a config for an apply: the file's own rules (src/config) plus what
// the data path cannot take whatever the host looks like. The parser (zod,
// yaml) is imported when a file is loaded, not with this module: importing
// reconcile (status, the daemon's manager) does not load it.
import { ConfigError, type Config } from '../config/index.js';
import { dataPathIssues } from './desired.js';

/**
 * A config file as attach and the daemon apply it: the file's own rules plus
 * what the data path cannot take (dataPathIssues), all reported against the
 * file exactly as `config check` reports them.
 */
export async function loadForApply(path: string): Promise<Config> {
  const { loadConfigFile } = await import('../config/parser.js');
  const cfg = await loadConfigFile(path);
  const issues = dataPathIssues(cfg);
  if (issues.length) throw new ConfigError(path, issues);
  return cfg;
}
