// xvtep cluster status: what the running daemon's cluster agent knows (it
// writes its status every second): etcd endpoints and whether they answer,
// this node's lease, the last revision taken in, and every member.
import type { Command } from 'commander';
import { readClusterStatus } from '../../cluster/index.js';
import { alive } from '../../daemon/index.js';
import { ManagerError } from '../../reconcile/index.js';
import { printJson, resolveTarget, table, withTarget } from '../target.js';

export function registerCluster(program: Command): void {
  const cluster = program.command('cluster').description('the cluster (etcd) this node takes part in');
  withTarget(cluster.command('status').description('etcd, this node\'s lease, the last revision applied and every member'))
    .action(async (o: { config?: string; pinDir?: string; json?: boolean }) => {
      const { pinDir } = await resolveTarget(o);
      const s = readClusterStatus(pinDir);
      if (!s) throw new ManagerError(`${pinDir}: no cluster status (is xvtep run running with a cluster: section?)`, 2);
      const running = alive(s.daemonPid);
      const ageS = (Date.now() - Date.parse(s.at)) / 1000;
      if (o.json) return printJson({ ...s, daemonRunning: running, statusAgeSeconds: Math.round(ageS * 10) / 10 });
      const lines = [
        `node ${s.node}  prefix ${s.prefix}  daemon ${running ? `pid ${s.daemonPid}` : `not running (status from ${s.at})`}`,
        `etcd ${s.endpoints.join(', ')}: ${s.etcdUp ? 'up' : `DOWN (${s.etcdError ?? 'unknown'}); keeping the last known state`}` +
          (s.lastContact ? `, last answer ${s.lastContact}` : ''),
        `lease ${s.lease ? `${s.lease.id} TTL ${s.lease.ttlSeconds} s, ${s.lease.ttlLeftSeconds} s left` : 'none'}`,
        `revision ${s.revision}, last sync ${s.lastSync ?? 'never'}`,
        `refused ${s.counters.refused}  conflicts ${s.counters.conflicts}  watch events ${s.counters.watchEvents}  resyncs ${s.counters.resyncs}  leases lost ${s.counters.leaseLost}`,
        // (a daemon of an older xvtep writes neither)
        ...(s.learning ? [
          `learning: ${s.learning}`,
          `  learn events ${s.counters.learnEvents ?? 0}  lost (ring full) ${s.counters.learnRingDrops ?? 0}  walks ${s.counters.learnWalks ?? 0}  batches published ${s.counters.learnBatches ?? 0}  ` +
            `FDB entries written ahead ${s.counters.fdbAhead ?? 0}  applies skipped ${s.counters.appliesAhead ?? 0}`,
        ] : []),
        '',
      ];
      process.stdout.write(lines.join('\n') + table([['MEMBER', 'ADDRESS', 'VNIS', 'MACS', 'AGE'],
        ...s.members.map((m) => [m.name + (m.name === s.node ? ' (self)' : ''), m.address, m.vnis.join(',') || '-', String(m.macs), `${m.ageSeconds}s`])]));
    });
}
