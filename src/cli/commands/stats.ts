// xvtep stats: per-VNI counters and drops by reason.
import type { Command } from 'commander';
import { DROP_REASONS, EVENTS, GLOBAL_STATS_SLOT } from '../../datapath/index.js';
import { openPinned } from '../../reconcile/index.js';
import { DROP0, EVENT0, RX_BYTES, RX_PACKETS, STAT_FIELDS, TX_BYTES, TX_PACKETS, readStatsRows } from '../../metrics/index.js';
import { vniArg } from '../args.js';
import { UsageError } from '../errors.js';
import { printJson, resolveTarget, table, withTarget } from '../target.js';

const named = (names: readonly string[], row: Float64Array, base: number, all: boolean) =>
  Object.fromEntries(names.map((n, i) => [n, row[base + i]!]).filter(([, v]) => all || (v as number) > 0));

export function registerStats(program: Command): void {
  withTarget(program.command('stats').description('per-VNI counters and drops by reason'))
    .option('--vni <n>', 'only this VNI')
    .action(async (o: { config?: string; pinDir?: string; json?: boolean; vni?: string }) => {
      const { pinDir } = await resolveTarget(o);
      const only = o.vni === undefined ? undefined : vniArg(o.vni, '--vni');
      const dp = openPinned(pinDir);
      try {
        const rows = readStatsRows(dp);
        const zero = new Float64Array(STAT_FIELDS);
        const vnis = [...dp.vnis.list()].sort((a, b) => a[0] - b[0]).filter(([v]) => only === undefined || v === only);
        if (only !== undefined && vnis.length === 0) throw new UsageError(`--vni ${only}: not configured`);
        const per = vnis.map(([vni, s]) => {
          const r = rows.get(s.statsSlot) ?? zero;
          return {
            vni, statsSlot: s.statsSlot,
            rx: { packets: r[RX_PACKETS]!, bytes: r[RX_BYTES]! }, tx: { packets: r[TX_PACKETS]!, bytes: r[TX_BYTES]! },
            drops: named(DROP_REASONS, r, DROP0, !!o.json), events: named(EVENTS, r, EVENT0, !!o.json),
          };
        });
        const g = rows.get(GLOBAL_STATS_SLOT) ?? zero;
        const global = { drops: named(DROP_REASONS, g, DROP0, !!o.json), events: named(EVENTS, g, EVENT0, !!o.json) };
        if (o.json) return printJson(only === undefined ? { vnis: per, global } : { vnis: per });
        const fmt = (d: Record<string, number>) => Object.entries(d).map(([k, v]) => `${k}=${v}`).join(' ') || '-';
        let out = table([['VNI', 'RX PKTS', 'RX BYTES', 'TX PKTS', 'TX BYTES', 'DROPS'],
          ...per.map((p) => [String(p.vni), String(p.rx.packets), String(p.rx.bytes), String(p.tx.packets), String(p.tx.bytes), fmt(p.drops)])]);
        if (only === undefined) out += `\nglobal drops: ${fmt(global.drops)}\nglobal events: ${fmt(global.events)}\n`;
        process.stdout.write(out);
      } finally {
        dp.close();
      }
    });
}
