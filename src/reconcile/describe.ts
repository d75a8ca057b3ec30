// A Diff in words, one line per map change: what `xvtep config diff` prints.
import type { Change, Diff } from './diff.js';
import type { FdbRecord, VniSettings } from './model.js';

const onOff = (b: boolean) => (b ? 'on' : 'off');
const vniText = (s: VniSettings) => `slot ${s.statsSlot} learning ${onOff(s.learning)} allow-unknown-peers ${onOff(s.allowUnknownPeers)} proxy ${onOff(s.proxyArp)}`;
const fdbText = (r: FdbRecord) => `${r.mac} vni ${r.vni} ${r.dest.kind === 'remote' ? `dst ${r.dest.remote}` : `dev ifindex ${r.dest.ifindex}`}${r.static ? ' static' : ' learned'}`;

export interface DiffLine { op: '+' | '-' | '~'; map: string; text: string }

export function diffLines(d: Diff): DiffLine[] {
  const out: DiffLine[] = [];
  const each = <V>(map: string, c: Change<V>, text: (v: V) => string) => {
    for (const v of c.add) out.push({ op: '+', map, text: text(v) });
    for (const { from, to } of c.change) out.push({ op: '~', map, text: `${text(from)} -> ${text(to)}` });
    for (const v of c.remove) out.push({ op: '-', map, text: text(v) });
  };
  if (d.settings) out.push({ op: d.settings.from ? '~' : '+', map: 'xv_config', text: JSON.stringify(d.settings.to) });
  each('xv_vni', d.vnis, (v) => `vni ${v.vni} ${vniText(v.settings)}`);
  each('xv_ep', d.endpoints, (e) => `ifindex ${e.ifindex} vni ${e.vni}`);
  for (const i of d.devs.add) out.push({ op: '+', map: 'xv_devs', text: `ifindex ${i}` });
  for (const i of d.devs.remove) out.push({ op: '-', map: 'xv_devs', text: `ifindex ${i}` });
  each('xv_peer', d.peers, (p) => `${p.address} vni ${p.vni}`);
  each('xv_neigh', d.neighbors, (n) => `${n.ip} lladdr ${n.mac} vni ${n.vni}`);
  each('xv_fdb', d.fdb, fdbText);
  each('xv_bum', d.flood, (f) => `vni ${f.vni} remotes [${f.remotes.join(' ')}] endpoints [${f.locals.join(' ')}]`);
  each('xv_bcast', d.floodPorts, (p) => `vni ${p.vni} ports [${p.ports.join(' ')}]`);
  return out;
}
