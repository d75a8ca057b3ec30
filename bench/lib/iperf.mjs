// Bulk TCP across the bench lab: an iperf3 server in the sink namespace, the
// client in the generator's (-R: the sink sends, the VTEP host encapsulates).
import { spawn, spawnSync } from 'node:child_process';
import { sleep } from './topo.mjs';

/** Gbit/s received over `secs` seconds; throws with iperf3's own error. */
export async function iperfGbps(env, { addr, secs, streams = 1, reverse = false, port = 5201 }) {
  const server = spawn('ip', ['netns', 'exec', env.sink, 'timeout', String(secs + 15), 'iperf3', '-s', '-1', '-p', String(port)], { stdio: 'ignore' });
  try {
    await sleep(300);
    const args = ['netns', 'exec', env.gen, 'timeout', String(secs + 10), 'iperf3', '-c', addr, '-p', String(port), '-t', String(secs), '-P', String(streams), '-J'];
    if (reverse) args.push('-R');
    const r = spawnSync('ip', args, { encoding: 'utf8', timeout: (secs + 12) * 1000 });
    const j = JSON.parse(r.stdout || '{}');
    if (j.error || !j.end) throw new Error(`iperf3: ${j.error ?? r.stderr}`);
    return j.end.sum_received.bits_per_second / 1e9;
  } finally {
    server.kill('SIGTERM');
  }
}
