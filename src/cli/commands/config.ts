// xvtep config check|diff.
import type { Command } from 'commander';
import { withLastView } from '../../cluster/index.js';
import { ConfigError } from '../../config/index.js';
import { parseConfig, readConfigText } from '../../config/parser.js';
import { diffLines, dataPathIssues, changeCount, openPinned, reconcileConfig } from '../../reconcile/index.js';
import { INSECURE_HELP, printJson, withPinDir } from '../target.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('check a config file, or show what a reload would change');
  config.command('check <file>').description('validate FILE; every error is printed with its path in the file')
    .option('-j, --json', 'JSON output')
    .option('--insecure-config-perms', INSECURE_HELP)
    .action(async (file: string, o: { json?: boolean; insecureConfigPerms?: boolean }) => {
      const parsed = parseConfig(await readConfigText(file, { insecurePerms: !!o.insecureConfigPerms }), file);
      const more = parsed.ok ? dataPathIssues(parsed.config) : [];
      const r = more.length ? { ok: false as const, errors: more } : parsed;
      if (o.json) {
        printJson(r.ok ? { ok: true, file, vnis: r.config.vnis.length } : { ok: false, file, issues: r.errors });
        if (!r.ok) process.exitCode = 1;
        return;
      }
      if (!r.ok) throw new ConfigError(file, r.errors);
      process.stdout.write(`${file}: ok (${r.config.vnis.length} VNI(s), pin dir ${r.config.state.pinDir})\n`);
    });
  config.command('diff <file>').description('the map changes a reload with FILE would make (against the live maps)')
    .option('--pin-dir <dir>', 'pinned state directory (default: the file\'s state.pinDir)')
    .option('-j, --json', 'JSON output')
    .option('--insecure-config-perms', INSECURE_HELP)
    .action(async (file: string, o: { json?: boolean; pinDir?: string; insecureConfigPerms?: boolean }) => {
      const r = parseConfig(await readConfigText(file, { insecurePerms: !!o.insecureConfigPerms }), file);
      if (!r.ok) throw new ConfigError(file, r.errors);
      const more = dataPathIssues(r.config);
      if (more.length) throw new ConfigError(file, more);
      // With a cluster: section, what run's reload would apply: the file and the last view of the cluster.
      const { config: cfg, conflicts, note } = withLastView(withPinDir(r.config, o.pinDir));
      const dp = openPinned(cfg.state.pinDir);
      try {
        const res = reconcileConfig(dp, cfg, { dryRun: true });
        const lines = diffLines(res.diff);
        if (o.json) return printJson({ changes: changeCount(res.diff), warnings: res.warnings, lines, ...(note ? { cluster: { note, conflicts } } : {}) });
        if (note) process.stderr.write(`xvtep: ${note}\n`);
        for (const c of conflicts) process.stderr.write(`xvtep: cluster: conflict: ${c}\n`);
        for (const w of res.warnings) process.stderr.write(`xvtep: warning: ${w}\n`);
        if (lines.length === 0) process.stdout.write('no changes\n');
        for (const l of lines) process.stdout.write(`${l.op} ${l.map} ${l.text}\n`);
      } finally {
        dp.close();
      }
    });
}
