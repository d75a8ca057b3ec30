// A real Prometheus server scrapes the daemon (both inside host a's netns,
// on 127.0.0.1 only) and answers a per-VNI rate through its HTTP API.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Datapath, zeroStats, type StatsValue } from '../../src/datapath/index.js';
import { describeKernel } from '../helpers/kernel.js';
import { root } from '../helpers/fixtures.js';
import { VtepLab, exited, waitFor } from '../helpers/vtep-lab.js';

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

  // Output buffers are reused from scrape to scrape once a response is
  // finished: a slow reader still holding a megabyte-sized body while fast
  // scrapes (and Prometheus) come and go must still get every byte right.
  it('with 4,096 VNIs, a slow scrape and concurrent fast ones each get a whole, correct body', () => {
    const dp = Datapath.open(L.pinDir);
    const added: number[] = [];
    try {
      const used = new Set([...dp.vnis.list().values()].map((v) => v.statsSlot));
      const rows: Array<[number, StatsValue]> = [];
      const live = dp.vnis.list().size;
      for (let slot = 1, vni = 300_000; live + added.length < 4096; slot++) {
        if (used.has(slot)) continue;
        dp.vnis.set(vni, { learning: false, allowUnknownPeers: false, proxyArp: false, proxyNd: false, statsSlot: slot });
        rows.push([slot, { ...zeroStats(), rxPackets: vni * 10, txBytes: vni * 7 }]); // on every CPU
        added.push(vni++);
      }
      dp.stats.updateBatch(rows);
      const cpus = dp.stats.cpus;
      const url = `http://127.0.0.1:${metricsPort}/metrics`;
      const out = join(L.tmp, 'scrapes');
      mkdirSync(out, { recursive: true });
      // The server's send buffer capped at 64 KB in this netns, so the slow
      // reader (8 KB per 10 ms, ~1.3 s for ~1 MB) keeps the daemon's writes
      // pending while 8 fast scrapes run: chunks reused too early would show
      // up as wrong bytes in its body.
      L.lab.exec(L.a, 'sysctl', '-qw', 'net.ipv4.tcp_wmem=4096 16384 65536');
      const slow = [
        'import socket, sys, time',
        'c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))',
        'c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)',
        'c.sendall(b"GET /metrics HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")',
        'out = bytearray()',
        'while True:',
        '    d = c.recv(8192)',
        '    if not d: break',
        '    out += d',
        '    time.sleep(0.01)',
        'open(sys.argv[2], "wb").write(out.split(b"\\r\\n\\r\\n", 1)[1])',
      ].join('\n');
      const t0 = Date.now();
      L.lab.exec(L.a, 'sh', '-c', `python3 -c '${slow}' ${metricsPort} ${out}/slow & ` +
        `sleep 0.2; for i in 1 2 3 4 5 6 7 8; do curl -sf ${url} > ${out}/fast$i || exit 1; done; wait $!`);
      expect(Date.now() - t0).toBeGreaterThan(800); // the slow one really was slow
      for (const name of ['slow', ...Array.from({ length: 8 }, (_, i) => `fast${i + 1}`)]) {
        const body = readFileSync(join(out, name), 'utf8');
        const rx = [...body.matchAll(/^xvtep_vni_receive_packets_total\{vni="(\d+)"\} (\d+)$/gm)];
        expect(rx.length, name).toBe(4096);
        const wrong = rx.filter((m) => Number(m[1]) >= 300_000 && Number(m[2]) !== Number(m[1]) * 10 * cpus);
        expect(wrong.map((m) => m[0]), name).toEqual([]);
        const tx = [...body.matchAll(/^xvtep_vni_transmit_bytes_total\{vni="(\d+)"\} (\d+)$/gm)].filter((m) => Number(m[1]) >= 300_000);
        expect(tx.every((m) => Number(m[2]) === Number(m[1]) * 7 * cpus), name).toBe(true);
        expect(tx.length, name).toBe(added.length);
        const check = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
        expect(check.status, `${name}: ${check.stdout}${check.stderr}`).toBe(0);
      }
    } finally {
      for (const vni of added) dp.vnis.delete(vni);
      dp.close();
    }
  });
});
