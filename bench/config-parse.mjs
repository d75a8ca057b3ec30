// Parse + validate time of a large config (100,000 FDB entries over 1,000
// VNIs, JSON), the part of a manager apply that happens before any map is
// touched. Run after `make`: node bench/config-parse.mjs [rounds]
import { parseConfig } from '../dist/config/parser.js';

const rounds = Number(process.argv[2] ?? 5);
const hex = (n) => n.toString(16).padStart(2, '0');
const vnis = [];
for (let v = 0; v < 1000; v++) {
  const fdb = [];
  for (let i = 0; i < 100; i++) {
    const n = v * 100 + i;
    fdb.push({ mac: `02:00:${hex((n >> 16) & 255)}:${hex((n >> 8) & 255)}:${hex(n & 255)}:01`, remote: `192.0.2.${2 + (n % 200)}` });
  }
  vnis.push({ vni: v + 1, endpoints: [`ep${v}`], peers: ['192.0.2.2'], fdb });
}
const text = JSON.stringify({ underlay: { interface: 'ul0', address: '192.0.2.1' }, vnis, capacity: { fdb: 200000 } });
const times = [];
for (let r = 0; r < rounds; r++) {
  const t0 = performance.now();
  const res = parseConfig(text, 'bench.json');
  times.push(performance.now() - t0);
  if (!res.ok) throw new Error(`config rejected: ${JSON.stringify(res.errors.slice(0, 3))}`);
}
times.sort((a, b) => a - b);
console.log(`parse+validate of 100,000 FDB entries / 1,000 VNIs (${(text.length / 1e6).toFixed(1)} MB JSON): ` +
  `median ${times[times.length >> 1].toFixed(0)} ms, min ${times[0].toFixed(0)}, max ${times.at(-1).toFixed(0)} over ${rounds} rounds`);
