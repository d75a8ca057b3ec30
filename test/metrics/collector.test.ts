// The xvtep metric families as rendered from real maps: counter values in
// the text exactly as summed from every CPU's row (the per-VNI lines are
// written digit by digit, not through String()), drop reasons, the vni="other"
// roll-up, and chunk reuse across scrapes.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Datapath, DROP_REASONS, zeroStats, type StatsValue } from '../../src/datapath/index.js';
import { ChunkPool, CHUNK_BYTES } from '../../src/metrics/chunks.js';
import { renderXvtepMetrics } from '../../src/metrics/collector.js';
import type { ManagerState } from '../../src/reconcile/state.js';
import { describeKernel } from '../helpers/kernel.js';

const state = { reloads: 3, reloadFailures: 1, lastReload: null, generation: 2 } as unknown as ManagerState;
const EDGES = [0, 7, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 12_345_678_901_234, Number.MAX_SAFE_INTEGER];

/** Every `name{labels} value` line, by `name{labels}`. */
function samples(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

describeKernel('metrics rendered from the maps', () => {
  let dp: Datapath;
  const vnis: number[] = [];
  beforeAll(async () => {
    dp = await Datapath.load({ sizes: { vnis: 2048 } });
    const cpus = dp.stats.cpus;
    // 1,200 VNIs (several output chunks); VNI 5000+k in slot k+1. Values land on
    // the last CPU only, except rx bytes, which is split over every CPU.
    for (let k = 0; k < 1200; k++) {
      const vni = 5000 + k;
      vnis.push(vni);
      dp.vnis.set(vni, { learning: true, allowUnknownPeers: false, proxyArp: false, proxyNd: false, statsSlot: k + 1 });
      const rows: StatsValue[] = Array.from({ length: cpus }, () => zeroStats());
      const last = rows[cpus - 1]!;
      last.rxPackets = EDGES[k % EDGES.length]!;
      last.txPackets = k;
      last.txBytes = 2 ** 40 + k;
      for (const r of rows) r.rxBytes = 1000 + k;
      if (k % 100 === 3) last.drop[DROP_REASONS.indexOf('unknown_peer')] = k + 1;
      dp.stats.setPerCpu(k + 1, rows);
    }
  });
  afterAll(() => dp?.close());

  const render = async (maxVniSeries: number, pool?: ChunkPool) =>
    renderXvtepMetrics(dp, { maxVniSeries, state, endpoints: null, version: 'test' }, pool);

  it('writes every per-VNI counter exactly, including values past 2^31 and 2^53 - 1', async () => {
    const chunks = await render(4096);
    expect(chunks.length).toBeGreaterThan(1);
    const text = Buffer.concat(chunks).toString('utf8');
    const s = samples(text);
    const cpus = dp.stats.cpus;
    for (let k = 0; k < vnis.length; k++) {
      const v = vnis[k]!;
      expect(s.get(`xvtep_vni_receive_packets_total{vni="${v}"}`), `vni ${v}`).toBe(String(EDGES[k % EDGES.length]));
      expect(s.get(`xvtep_vni_receive_bytes_total{vni="${v}"}`), `vni ${v}`).toBe(String((1000 + k) * cpus));
      expect(s.get(`xvtep_vni_transmit_packets_total{vni="${v}"}`), `vni ${v}`).toBe(String(k));
      expect(s.get(`xvtep_vni_transmit_bytes_total{vni="${v}"}`), `vni ${v}`).toBe(String(2 ** 40 + k));
      expect(s.get(`xvtep_vni_drop_packets_total{vni="${v}",reason="unknown_peer"}`), `vni ${v}`).toBe(k % 100 === 3 ? String(k + 1) : undefined);
    }
    expect([...s.keys()].filter((n) => n.startsWith('xvtep_vni_drop_packets_total'))).toHaveLength(12);
    expect(s.get('xvtep_config_reloads_total')).toBe('3');
    expect(s.get('xvtep_vnis_over_series_limit')).toBe('0');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });

  it('sums the VNIs beyond the series cap into vni="other"', async () => {
    const s = samples(Buffer.concat(await render(1000)).toString('utf8'));
    expect(s.get('xvtep_vnis_over_series_limit')).toBe('200');
    expect(s.has(`xvtep_vni_transmit_packets_total{vni="${vnis[999]}"}`)).toBe(true);
    expect(s.has(`xvtep_vni_transmit_packets_total{vni="${vnis[1000]}"}`)).toBe(false);
    let tx = 0, drops = 0;
    for (let k = 1000; k < 1200; k++) {
      tx += k;
      if (k % 100 === 3) drops += k + 1;
    }
    expect(s.get('xvtep_vni_transmit_packets_total{vni="other"}')).toBe(String(tx));
    expect(s.get('xvtep_vni_drop_packets_total{vni="other",reason="unknown_peer"}')).toBe(String(drops));
  });

  it('reuses the chunks it was given back, and the text comes out the same', async () => {
    const pool = new ChunkPool();
    const first = await render(4096, pool);
    const text = Buffer.concat(first).toString('utf8');
    const arrays = new Set(first.map((c) => c.buffer));
    pool.give(first);
    expect(pool.free).toBe(first.length);
    const second = await render(4096, pool);
    expect(pool.free).toBe(0);
    expect(second.every((c) => arrays.has(c.buffer) && c.buffer.byteLength === CHUNK_BYTES)).toBe(true);
    expect(Buffer.concat(second).toString('utf8')).toBe(text);
    pool.give(second);
    pool.give(second); // twice: still one of each
    expect(pool.free).toBe(first.length);
  });
});
