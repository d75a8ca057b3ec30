// The xvtep metric families, rendered in the Prometheus text format straight
// from the kernel at scrape time: every counter is the sum of the per-CPU
// rows in xv_stats as they are now, nothing is accumulated in JS between
// scrapes (a restarted manager therefore continues where the maps are).
// Written by hand rather than through prom-client objects: 4096 VNIs x a
// dozen series through label hashing would not fit a 50 ms scrape.
import type { Datapath } from '../datapath/datapath.js';
import { DROP_REASONS, EVENTS, GLOBAL_STATS_SLOT, LAYOUT_VERSION } from '../datapath/layout.js';
import type { EndpointStates, ManagerState } from '../reconcile/state.js';
import { DROP0, EVENT0, RX_BYTES, RX_PACKETS, STAT_FIELDS, TX_BYTES, TX_PACKETS, countEntries, countFdb, readStatsRows } from './read.js';

export interface RenderOptions {
  /** VNIs beyond this many (lowest first) are summed into vni="other". */
  maxVniSeries: number;
  state: ManagerState;
  /** The daemon's endpoint watcher record (null: no daemon watches). */
  endpoints: EndpointStates | null;
  version: string;
}

class Out {
  readonly lines: string[] = [];
  family(name: string, type: 'counter' | 'gauge', help: string): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }
  sample(name: string, labels: string, value: number): void {
    this.lines.push(labels ? `${name}{${labels}} ${value}` : `${name} ${value}`);
  }
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function renderXvtepMetrics(dp: Datapath, o: RenderOptions): string {
  const out = new Out();
  const vnis = [...dp.vnis.list()].sort((a, b) => a[0] - b[0]);
  const rows = readStatsRows(dp);
  const zero = new Float64Array(STAT_FIELDS);
  const limit = Math.max(0, o.maxVniSeries);
  const shown = vnis.slice(0, limit);
  const rest = vnis.slice(limit);
  const other = new Float64Array(STAT_FIELDS);
  for (const [, s] of rest) {
    const r = rows.get(s.statsSlot) ?? zero;
    for (let i = 0; i < STAT_FIELDS; i++) other[i]! += r[i]!;
  }
  const series: Array<[string, Float64Array]> = shown.map(([vni, s]) => [String(vni), rows.get(s.statsSlot) ?? zero]);
  if (rest.length) series.push(['other', other]);

  const perVni = (name: string, idx: number, help: string) => {
    out.family(name, 'counter', help);
    for (const [vni, r] of series) out.sample(name, `vni="${vni}"`, r[idx]!);
  };
  perVni('xvtep_vni_receive_packets_total', RX_PACKETS, 'VXLAN packets decapsulated and delivered to a local endpoint.');
  perVni('xvtep_vni_receive_bytes_total', RX_BYTES, 'Inner frame bytes (incl. the inner Ethernet header) received.');
  perVni('xvtep_vni_transmit_packets_total', TX_PACKETS, 'Frames encapsulated towards a remote VTEP (every flood copy counts).');
  perVni('xvtep_vni_transmit_bytes_total', TX_BYTES, 'Inner frame bytes (incl. the inner Ethernet header) transmitted.');
  // Only reasons that occurred: 11 reasons x 4096 VNIs of zeros would triple every scrape.
  out.family('xvtep_vni_drop_packets_total', 'counter', 'Packets dropped for a VNI, by reason (reasons that never occurred are omitted).');
  for (const [vni, r] of series) {
    DROP_REASONS.forEach((reason, i) => {
      const v = r[DROP0 + i]!;
      if (v > 0) out.sample('xvtep_vni_drop_packets_total', `vni="${vni}",reason="${reason}"`, v);
    });
  }
  const global = rows.get(GLOBAL_STATS_SLOT) ?? zero;
  out.family('xvtep_drop_packets_total', 'counter', 'Packets dropped before a VNI was known (unknown VNI, malformed), by reason.');
  DROP_REASONS.forEach((reason, i) => out.sample('xvtep_drop_packets_total', `reason="${reason}"`, global[DROP0 + i]!));
  out.family('xvtep_events_total', 'counter', 'Data path events over all VNIs (learning, proxy answers, floods, ...).');
  const events = new Float64Array(EVENTS.length);
  for (const r of rows.values()) for (let i = 0; i < EVENTS.length; i++) events[i]! += r[EVENT0 + i]!;
  EVENTS.forEach((e, i) => out.sample('xvtep_events_total', `event="${e}"`, events[i]!));

  out.family('xvtep_vni_series_limit', 'gauge', 'metrics.maxVniSeries: VNIs beyond it are summed into vni="other".');
  out.sample('xvtep_vni_series_limit', '', limit);
  out.family('xvtep_vnis_over_series_limit', 'gauge', 'VNIs whose counters are summed into vni="other".');
  out.sample('xvtep_vnis_over_series_limit', '', rest.length);

  const fdb = countFdb(dp);
  out.family('xvtep_fdb_entries', 'gauge', 'FDB entries by type.');
  out.sample('xvtep_fdb_entries', 'type="static"', fdb.static);
  out.sample('xvtep_fdb_entries', 'type="learned"', fdb.learned);
  const peers = countEntries(dp.peers.map);
  out.family('xvtep_peers', 'gauge', 'Remote VTEPs allowed per VNI, summed over VNIs.');
  out.sample('xvtep_peers', '', peers);
  const maps: Array<[string, number, number]> = [
    ['xv_vni', vnis.length, dp.vnis.map.info.maxEntries],
    ['xv_ep', countEntries(dp.endpoints.map), dp.endpoints.map.info.maxEntries],
    ['xv_fdb', fdb.static + fdb.learned, dp.fdb.map.info.maxEntries],
    ['xv_peer', peers, dp.peers.map.info.maxEntries],
    ['xv_neigh', countEntries(dp.neighbors.map), dp.neighbors.map.info.maxEntries],
  ];
  out.family('xvtep_map_entries', 'gauge', 'Entries in each control-plane map.');
  for (const [m, n] of maps) out.sample('xvtep_map_entries', `map="${m}"`, n);
  out.family('xvtep_map_capacity', 'gauge', 'max_entries of each control-plane map.');
  for (const [m, , c] of maps) out.sample('xvtep_map_capacity', `map="${m}"`, c);

  const watched = o.endpoints?.endpoints ?? [];
  out.family('xvtep_endpoints_missing', 'gauge', 'Endpoint interfaces of the config that do not exist now (xvtep run attaches them when they appear).');
  out.sample('xvtep_endpoints_missing', '', watched.filter((e) => e.state === 'missing').length);
  out.family('xvtep_endpoint_reattachments_total', 'counter', 'Endpoints that came back (re-created interface) and were attached again by this daemon.');
  out.sample('xvtep_endpoint_reattachments_total', '', o.endpoints?.reattachments ?? 0);

  const s = o.state;
  out.family('xvtep_config_reloads_total', 'counter', 'Config applies attempted (attach, reloads, SIGHUP, file changes).');
  out.sample('xvtep_config_reloads_total', '', s.reloads);
  out.family('xvtep_config_reload_failures_total', 'counter', 'Config applies that failed (invalid file, or rolled back).');
  out.sample('xvtep_config_reload_failures_total', '', s.reloadFailures);
  out.family('xvtep_config_last_reload_successful', 'gauge', '1 if the last config apply succeeded.');
  out.sample('xvtep_config_last_reload_successful', '', s.lastReload === null || s.lastReload.ok ? 1 : 0);
  out.family('xvtep_config_generation', 'gauge', 'Successful config applies since attach.');
  out.sample('xvtep_config_generation', '', s.generation);
  out.family('xvtep_build_info', 'gauge', 'Build information; always 1.');
  out.sample('xvtep_build_info', `version="${esc(o.version)}",layout_version="${LAYOUT_VERSION}",nodejs="${esc(process.version)}"`, 1);
  return out.lines.join('\n') + '\n';
}
