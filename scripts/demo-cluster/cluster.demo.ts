// Three xvtep hosts and one etcd: the files name no peer; the hosts find
// each other, a container pings across, then one host's daemon is killed
// and the others remove it when its lease expires.
import { it } from 'vitest';
import { ClusterLab, type HostSpec } from '../../test/helpers/cluster-lab.js';
import { waitFor } from '../../test/helpers/vtep-lab.js';

const TTL = 5;
const say = (m: string) => process.stdout.write(`\n== ${m}\n`);
const SPECS: HostSpec[] = [1, 2, 3].map((i) => ({ name: `host-${'abc'[i - 1]}`, addr: `192.0.2.${i}`, vnis: [{ vni: 42, cts: [{ name: `ct${i}`, ip: `198.51.100.${i}`, mac: `02:00:00:00:00:0${i}` }] }] }));

it('cluster demo', async () => {
  const L = new ClusterLab('dm', TTL);
  try {
    say(`etcd on 192.0.2.254 and three hosts (192.0.2.1-3), VNI 42, one container each; lease TTL ${TTL} s`);
    await L.start(SPECS);
    say(`host-a's whole file (no peers, no FDB, no neighbours):\n${JSON.stringify(L.host('host-a').cfg, null, 2)}`);
    await Promise.all(SPECS.map((s) => L.run(s.name)));
    const t0 = Date.now();
    await waitFor(() => SPECS.every((s) => L.maps(s.name).peers.length === 2), 30_000, () => 'no convergence');
    say(`converged ${Date.now() - t0} ms after the daemons were ready; xvtep cluster status on host-a:`);
    process.stdout.write(L.cli('host-a', 'cluster', 'status').stdout);
    say('ct1 (host-a) pings ct3 (host-c) across the overlay');
    await waitFor(() => L.lab.ping(L.ct('ct1'), '198.51.100.3', 1), 15_000, () => 'no answer');
    process.stdout.write(L.lab.tryExec(L.ct('ct1'), 'ping', '-c', '3', '-i', '0.2', '198.51.100.3').out);
    say('SIGKILL to host-c\'s daemon (its data path keeps running, its lease is no longer kept alive)');
    await L.stop('host-c', 'SIGKILL');
    const killed = Date.now();
    await waitFor(() => ['host-a', 'host-b'].every((h) => !L.maps(h).peers.some((p) => p.endsWith('192.0.2.3'))), (TTL + 5) * 1000, () => 'not removed');
    say(`host-c removed from host-a and host-b ${Date.now() - killed} ms after the kill (TTL ${TTL} s); host-a now:`);
    process.stdout.write(L.cli('host-a', 'cluster', 'status').stdout);
  } finally {
    await L.destroy();
  }
});
