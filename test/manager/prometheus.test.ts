// A real Prometheus server scrapes the daemon (both inside host a's netns,
// on 127.0.0.1 only) and answers a per-VNI rate through its HTTP API.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { root } from '../helpers/fixtures.js';
import { VtepLab, exited, waitFor } from './lab.js';

describeKernel('Prometheus scrapes xvtep', () => {
  let L: VtepLab;
  let prom: ChildProcess | undefined;
  let promLog = '';
  const metricsPort = 21000 + (process.pid % 20000);
  const promPort = metricsPort + 1;

  beforeAll(() => {
    L = new VtepLab('prm');
  });
  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      prom.kill('SIGKILL');
      await exited(prom);
    }
    L?.destroy();
  });

  const query = (q: string) => {
    const out = L.lab.exec(L.a, 'curl', '-sf', '--get', '--data-urlencode', `query=${q}`, `http://127.0.0.1:${promPort}/api/v1/query`);
    return JSON.parse(out) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  };

  it('rate(xvtep_vni_receive_packets_total{vni="42"}) is positive while pings cross', async () => {
    await L.daemon(L.file('xvtep.json', L.config({ metricsPort })));
    const dir = join(L.tmp, 'prom');
    mkdirSync(join(dir, 'data'), { recursive: true });
    const cfg = join(dir, 'prometheus.yml');
    writeFileSync(cfg, [
      'global:', '  scrape_interval: 1s', '  evaluation_interval: 1s',
      'scrape_configs:', '  - job_name: xvtep', '    static_configs:', `      - targets: ['127.0.0.1:${metricsPort}']`, '',
    ].join('\n'));
    prom = spawn('ip', ['netns', 'exec', L.a, '/usr/bin/prometheus', `--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    prom.stdout!.on('data', (d: Buffer) => (promLog += d.toString()));
    prom.stderr!.on('data', (d: Buffer) => (promLog += d.toString()));
    await waitFor(() => L.lab.tryExec(L.a, 'curl', '-sf', `http://127.0.0.1:${promPort}/-/ready`).ok, 30_000, () => `prometheus not ready: ${promLog}`, () => prom!.exitCode !== null);
    await waitFor(() => query('up{job="xvtep"}').data.result[0]?.value[1] === '1', 30_000, () => `target not up: ${JSON.stringify(query('up'))} ${promLog}`);
    // bounded traffic: 40 pings over ~8 s while Prometheus scrapes every second
    const ping = spawn('ip', ['netns', 'exec', L.c, 'ping', '-c', '40', '-i', '0.2', '-W', '1', '-q', '198.51.100.2'], { stdio: 'ignore' });
    try {
      await waitFor(() => {
        const r = query('rate(xvtep_vni_receive_packets_total{vni="42"}[5s])').data.result;
        return r.length === 1 && Number(r[0]!.value[1]) > 0;
      }, 30_000, () => `no positive rate: ${JSON.stringify(query('xvtep_vni_receive_packets_total'))}`);
    } finally {
      await exited(ping);
    }
    const series = query('xvtep_vni_transmit_bytes_total').data.result;
    expect(series.map((s) => s.metric.vni)).toEqual(['42']);
    expect(Number(series[0]!.value[1])).toBeGreaterThan(0);
    expect(query('xvtep_config_last_reload_successful').data.result[0]!.value[1]).toBe('1');
  });

  it('every query of contrib/grafana-xvtep.json is valid PromQL and finds data (drops: once they happen)', () => {
    const dash = JSON.parse(readFileSync(join(root, 'contrib', 'grafana-xvtep.json'), 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
    for (const p of dash.panels) {
      for (const t of p.targets) {
        const q = t.expr.replace(/\$(job|instance|vni)/g, '.*').replace('$__rate_interval', '10s').replace('$__range', '1m');
        const r = query(q);
        expect(r.status, `${p.title}: ${q}`).toBe('success');
        // per-VNI drop series exist only once a drop happened
        if (!q.includes('xvtep_vni_drop_packets_total')) expect(r.data.result.length, `${p.title}: ${q} returned nothing`).toBeGreaterThan(0);
      }
    }
  });
});
