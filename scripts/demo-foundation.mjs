import { execFileSync } from 'node:child_process';
import * as bpf from '../dist/bpf/index.js';

const A = `xvtdemo${process.pid}-a`, B = `xvtdemo${process.pid}-b`;
const sh = (...args) => execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const cleanup = () => { for (const ns of [A, B]) try { sh('ip', 'netns', 'del', ns); } catch { /* already gone */ } };
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

sh('ip', 'netns', 'add', A);
sh('ip', 'netns', 'add', B);
sh('ip', 'link', 'add', 'veth-a', 'netns', A, 'type', 'veth', 'peer', 'name', 'veth-b', 'netns', B);
sh('ip', '-n', A, 'addr', 'add', '192.0.2.1/24', 'dev', 'veth-a');
sh('ip', '-n', B, 'addr', 'add', '192.0.2.2/24', 'dev', 'veth-b');
for (const [ns, dev] of [[A, 'veth-a'], [B, 'veth-b']]) sh('ip', '-n', ns, 'link', 'set', dev, 'up');

const coll = await bpf.ObjectSpec.open('build/fixtures/counter.bpf.o').load();
const prog = coll.program('count_xdp');
const counts = coll.perCpuMap('counts', bpf.u32, bpf.u64);
const ns = bpf.Netns.open(B);
const link = ns.run(() => prog.attachXdp('veth-b', { mode: 'driver' }));
console.log(`attached ${prog.name} (id ${prog.id}, tag ${prog.tag}) to ${B}/veth-b in ${link.mode} mode`);

const out = sh('ip', 'netns', 'exec', A, 'ping', '-c', '5', '-i', '0.2', '-W', '1', '192.0.2.2');
console.log(out.trim().split('\n').slice(-2).join('\n'));
const perCpu = counts.get(0);
console.log(`XDP counted ${bpf.sumPerCpu(perCpu)} packets on veth-b (per CPU: ${perCpu.join(', ')})`);

link.close();
console.log(`detached; XDP on veth-b now: ${ns.run(() => bpf.xdpModeOf(link.ifindex)) ?? 'none'}`);
coll.close();
ns.close();
