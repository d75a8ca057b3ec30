// Live edits of the pinned maps: fdb, vni, peer, neigh (bridge/ip wording).
import type { Command } from 'commander';
import { ifindexOf, ifnameOf } from '../../bpf/index.js';
import { interfaceNameProblem } from '../../config/index.js';
import type { Datapath } from '../../datapath/index.js';
import { fdbAppend, fdbDel, fdbFlush, fdbSet, neighDel, neighSet, peerAdd, peerDel, vniAdd, vniDel, type FlushWhich, openPinned, system, ZERO_MAC } from '../../reconcile/index.js';
import { ipArg, macArg, one, onOffArg, parseKeywords, vniArg } from '../args.js';
import { UsageError } from '../errors.js';
import { ASSUME_HELP, note, printJson, resolveTarget, table, withTarget } from '../target.js';

type Opts = { config?: string; pinDir?: string; json?: boolean };

async function withDp<T>(o: Opts, fn: (dp: Datapath, pinDir: string) => T): Promise<T> {
  const { pinDir } = await resolveTarget(o);
  const dp = openPinned(pinDir);
  try {
    return fn(dp, pinDir);
  } finally {
    dp.close();
  }
}

function ifindexArg(name: string, what: string): number {
  const bad = interfaceNameProblem(name);
  if (bad) throw new UsageError(`${what}: ${bad}`);
  try {
    return ifindexOf(name);
  } catch {
    throw system(`${what}: interface ${name} does not exist in this network namespace`);
  }
}

const nameOf = (ifindex: number) => {
  try {
    return ifnameOf(ifindex);
  } catch {
    return `ifindex:${ifindex}`;
  }
};

export function registerFdb(program: Command): void {
  const fdb = program.command('fdb').description('forwarding database (like bridge fdb)');
  for (const mode of ['add', 'replace'] as const) {
    withTarget(fdb.command(`${mode} <mac> [args...]`).description(`${mode} a static entry: ${mode} MAC vni N (dst IP | dev IFACE)`), { json: false })
      .action(async (macText: string, words: string[], o: Opts) => {
        const what = `fdb ${mode}`;
        const kw = parseKeywords(words, { vni: 'value', dst: 'value', dev: 'value' }, what);
        const mac = macArg(macText, what);
        const vni = vniArg(one(kw, 'vni'), what);
        const dst = one(kw, 'dst'), dev = one(kw, 'dev');
        if ((dst === undefined) === (dev === undefined)) throw new UsageError(`${what}: give exactly one of "dst IP" (remote VTEP) or "dev IFACE" (local endpoint)`);
        if (mac !== ZERO_MAC && (parseInt(mac.slice(0, 2), 16) & 1) === 1) throw new UsageError(`${what}: ${mac} is a multicast MAC`);
        const dest = dst !== undefined ? { kind: 'remote' as const, remote: ipArg(dst, what, 'vtep') } : { kind: 'local' as const, ifindex: ifindexArg(dev!, what) };
        await withDp(o, (dp) => fdbSet(dp, vni, mac, dest, mode));
      });
  }
  withTarget(fdb.command('append <mac> [args...]').description(`add a flood destination: append ${ZERO_MAC} vni N dst IP`), { json: false })
    .action(async (macText: string, words: string[], o: Opts) => {
      const kw = parseKeywords(words, { vni: 'value', dst: 'value' }, 'fdb append');
      const mac = macArg(macText, 'fdb append');
      const vni = vniArg(one(kw, 'vni'), 'fdb append');
      const dst = ipArg(one(kw, 'dst'), 'fdb append dst', 'vtep');
      for (const n of await withDp(o, (dp) => fdbAppend(dp, vni, mac, dst))) note(n);
    });
  withTarget(fdb.command('del <mac> [args...]').description('delete an entry: del MAC vni N [dst IP]'), { json: false })
    .action(async (macText: string, words: string[], o: Opts) => {
      const kw = parseKeywords(words, { vni: 'value', dst: 'value' }, 'fdb del');
      const mac = macArg(macText, 'fdb del');
      const vni = vniArg(one(kw, 'vni'), 'fdb del');
      const dst = one(kw, 'dst');
      await withDp(o, (dp) => fdbDel(dp, vni, mac, dst === undefined ? undefined : ipArg(dst, 'fdb del dst')));
    });
  withTarget(fdb.command('flush [args...]').description('delete entries: flush [vni N] [dynamic|static|all] (default dynamic = learned)'), { json: false })
    .action(async (words: string[], o: Opts) => {
      const which = (['dynamic', 'static', 'all'] as const).find((w) => words.includes(w)) ?? 'dynamic';
      const kw = parseKeywords(words.filter((w) => w !== which), { vni: 'value' }, 'fdb flush');
      const v = one(kw, 'vni');
      const n = await withDp(o, (dp) => fdbFlush(dp, which as FlushWhich, v === undefined ? undefined : vniArg(v, 'fdb flush')));
      note(`flushed ${n} entr${n === 1 ? 'y' : 'ies'}`);
    });
  withTarget(fdb.command('show [args...]').description('list entries: show [vni N]'))
    .action(async (words: string[], o: Opts) => {
      const kw = parseKeywords(words, { vni: 'value' }, 'fdb show');
      const v = one(kw, 'vni');
      const only = v === undefined ? undefined : vniArg(v, 'fdb show');
      const rows = await withDp(o, (dp) => {
        const now = Number(process.hrtime.bigint());
        const entries = dp.fdb.list().filter((r) => only === undefined || r.vni === only).map((r) => ({
          mac: r.mac, vni: r.vni,
          ...(r.dest.kind === 'remote' ? { dst: r.dest.remote } : { dev: nameOf(r.dest.ifindex) }),
          type: r.static ? 'static' : 'learned',
          ...(r.static ? {} : { ageSeconds: Math.max(0, Math.round((now - r.updatedNs) / 1e9)) }),
        }));
        const flood = dp.flood.list().filter((f) => only === undefined || f.vni === only).flatMap((f) =>
          f.remotes.map((dst) => ({ mac: ZERO_MAC, vni: f.vni, dst, type: dp.peers.has(f.vni, dst) ? 'flood (peer)' : 'flood' })));
        return [...entries, ...flood].sort((a, b) => a.vni - b.vni || a.mac.localeCompare(b.mac));
      });
      if (o.json) return printJson(rows);
      for (const r of rows) {
        const where = 'dst' in r ? `dst ${r.dst}` : `dev ${(r as { dev: string }).dev}`;
        process.stdout.write(`${r.mac} vni ${r.vni} ${where} ${r.type}${'ageSeconds' in r ? ` age ${r.ageSeconds}s` : ''}\n`);
      }
    });
}

export function registerVni(program: Command): void {
  const vni = program.command('vni').description('VXLAN network identifiers');
  withTarget(vni.command('add <vni> [args...]').description('add: add N [endpoint IFACE]... [learning on|off] [proxy on|off] [allow-unknown-peers on|off]'), { json: false })
    .option('--assume-peer-napi', ASSUME_HELP)
    .action(async (vniText: string, words: string[], o: Opts & { assumePeerNapi?: boolean }) => {
      const kw = parseKeywords(words, { endpoint: 'multi', learning: 'value', proxy: 'value', 'allow-unknown-peers': 'value' }, 'vni add');
      const n = vniArg(vniText, 'vni add');
      const endpoints = new Map((kw.get('endpoint') ?? []).map((e) => [e, ifindexArg(e, 'vni add endpoint')]));
      const notes: string[] = [];
      await withDp(o, (dp, pinDir) => vniAdd(dp, pinDir, {
        vni: n, endpoints, learning: onOffArg(one(kw, 'learning'), 'learning', true), proxy: onOffArg(one(kw, 'proxy'), 'proxy', false),
        allowUnknownPeers: onOffArg(one(kw, 'allow-unknown-peers'), 'allow-unknown-peers', false),
      }, notes, !!o.assumePeerNapi));
      for (const m of notes) note(m);
    });
  withTarget(vni.command('del <vni>').description('delete a VNI with its endpoints, peers, FDB and neighbors'), { json: false })
    .action(async (vniText: string, o: Opts) => {
      const n = vniArg(vniText, 'vni del');
      await withDp(o, (dp, pinDir) => vniDel(dp, pinDir, n));
    });
  withTarget(vni.command('show').description('list VNIs'))
    .action(async (o: Opts) => {
      const rows = await withDp(o, (dp) => {
        const eps = dp.endpoints.list(), peers = dp.peers.list();
        return [...dp.vnis.list()].sort((a, b) => a[0] - b[0]).map(([v, s]) => ({
          vni: v, statsSlot: s.statsSlot, learning: s.learning, proxyArp: s.proxyArp, allowUnknownPeers: s.allowUnknownPeers,
          endpoints: eps.filter((e) => e.vni === v).map((e) => nameOf(e.ifindex)), peers: peers.filter((p) => p.vni === v).map((p) => p.address),
        }));
      });
      if (o.json) return printJson(rows);
      process.stdout.write(table([['VNI', 'SLOT', 'LEARNING', 'PROXY', 'ENDPOINTS', 'PEERS'],
        ...rows.map((r) => [String(r.vni), String(r.statsSlot), r.learning ? 'on' : 'off', r.proxyArp ? 'on' : 'off', r.endpoints.join(',') || '-', r.peers.join(',') || '-'])]));
    });
}

export function registerPeer(program: Command): void {
  const peer = program.command('peer').description('remote VTEPs per VNI (flood list + receive allow-list)');
  for (const op of ['add', 'del'] as const) {
    withTarget(peer.command(`${op} <address> [args...]`).description(`${op} ADDRESS vni N`), { json: false })
      .action(async (addr: string, words: string[], o: Opts) => {
        const kw = parseKeywords(words, { vni: 'value' }, `peer ${op}`);
        const n = vniArg(one(kw, 'vni'), `peer ${op}`);
        const a = ipArg(addr, `peer ${op}`, op === 'add' ? 'vtep' : 'any');
        await withDp(o, (dp, pinDir) => (op === 'add' ? peerAdd : peerDel)(dp, pinDir, n, a));
      });
  }
  withTarget(peer.command('show [args...]').description('show [vni N]'))
    .action(async (words: string[], o: Opts) => {
      const kw = parseKeywords(words, { vni: 'value' }, 'peer show');
      const v = one(kw, 'vni');
      const only = v === undefined ? undefined : vniArg(v, 'peer show');
      const rows = await withDp(o, (dp) => dp.peers.list().filter((p) => only === undefined || p.vni === only).sort((a, b) => a.vni - b.vni || a.address.localeCompare(b.address)));
      if (o.json) return printJson(rows);
      for (const r of rows) process.stdout.write(`${r.address} vni ${r.vni}\n`);
    });
}

export function registerNeigh(program: Command): void {
  const neigh = program.command('neigh').description('proxy ARP/ND answers per VNI (like ip neigh)');
  for (const mode of ['add', 'replace'] as const) {
    withTarget(neigh.command(`${mode} <ip> [args...]`).description(`${mode} IP lladdr MAC vni N`), { json: false })
      .action(async (ipText: string, words: string[], o: Opts) => {
        const what = `neigh ${mode}`;
        const kw = parseKeywords(words, { lladdr: 'value', vni: 'value' }, what);
        const ip = ipArg(ipText, what, 'neighbor');
        const mac = macArg(one(kw, 'lladdr'), `${what} lladdr`, { unicast: true });
        if (mac === ZERO_MAC) throw new UsageError(`${what}: lladdr must not be ${ZERO_MAC}`);
        const n = vniArg(one(kw, 'vni'), what);
        await withDp(o, (dp) => neighSet(dp, n, ip, mac, mode));
      });
  }
  withTarget(neigh.command('del <ip> [args...]').description('del IP vni N'), { json: false })
    .action(async (ipText: string, words: string[], o: Opts) => {
      const kw = parseKeywords(words, { vni: 'value' }, 'neigh del');
      const n = vniArg(one(kw, 'vni'), 'neigh del');
      const ip = ipArg(ipText, 'neigh del');
      await withDp(o, (dp) => neighDel(dp, n, ip));
    });
  withTarget(neigh.command('show [args...]').description('show [vni N]'))
    .action(async (words: string[], o: Opts) => {
      const kw = parseKeywords(words, { vni: 'value' }, 'neigh show');
      const v = one(kw, 'vni');
      const only = v === undefined ? undefined : vniArg(v, 'neigh show');
      const rows = await withDp(o, (dp) => dp.neighbors.list().filter((n) => only === undefined || n.vni === only).sort((a, b) => a.vni - b.vni || a.ip.localeCompare(b.ip)));
      if (o.json) return printJson(rows);
      for (const r of rows) process.stdout.write(`${r.ip} lladdr ${r.mac} vni ${r.vni}\n`);
    });
}
