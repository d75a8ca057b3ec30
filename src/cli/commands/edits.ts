// Live edits of the pinned maps: fdb, vni, peer, neigh (bridge/ip wording).
// Each command is a spec: its arguments parse to an operation that either
// runs alone on the live maps or, in `xvtep -batch`, on a staged copy
// applied once at the end (batch.ts); both go through the same checks.
import type { Command } from 'commander';
import { ifindexOf, ifnameOf } from '../../bpf/index.js';
import { CAPACITY_MAX, describeValue, interfaceNameProblem } from '../../config/index.js';
import type { Datapath } from '../../datapath/index.js';
import {
  fdbAppend, fdbDel, fdbFlush, fdbSet, neighDel, neighSet, peerAdd, peerDel, stagePeerAdd, stagePeerDel, stageVniAdd, stageVniDel, vniAdd, vniDel,
  openPinned, system, ZERO_MAC, type EditState, type FlushWhich, type Tables,
} from '../../reconcile/index.js';
import { ipArg, macArg, one, onOffArg, parseKeywords, vniArg, type KeywordSpec } from '../args.js';
import { UsageError } from '../errors.js';
import { ASSUME_HELP, note, printJson, resolveTarget, table, withTarget } from '../target.js';

export type Opts = { config?: string; pinDir?: string; json?: boolean; assumePeerNapi?: boolean };

/** A batch's staged copy of the maps (see batch.ts). */
export interface Stage {
  t: Tables;
  state: EditState;
  /** Rows of the loaded xv_stats (VNI slots). */
  maxSlots: number;
  /** max_entries of the loaded FDB (the default per-VNI learn cap is a share of it). */
  fdbCapacity: number;
  /** For the operator once the batch is applied. */
  notes: string[];
}

export interface EditOp {
  kind: 'edit';
  /** The command alone: straight on the live maps. */
  live(dp: Datapath, pinDir: string): void;
  /** In a batch: on the staged copy, which changes only if every check passes. */
  stage(s: Stage): void;
}

export interface ShowOp {
  kind: 'show';
  show(dp: Datapath, json: boolean): void;
}

export interface EditSpec {
  group: 'fdb' | 'vni' | 'peer' | 'neigh';
  verb: string;
  /** Positional arguments as commander declares them. */
  args: string;
  description: string;
  json?: boolean;
  assumePeerNapi?: boolean;
  /** Its keywords, and bare words it takes (fdb flush: dynamic|static|all). */
  keywords: KeywordSpec;
  words?: readonly string[];
  parse(pos: string[], o: Opts): EditOp | ShowOp;
}

// The keywords of each command (bridge/ip style `vni 42 dst 192.0.2.2`), also
// offered by `xvtep completion`.
const KW_FDB_SET: KeywordSpec = { vni: 'value', dst: 'value', dev: 'value' };
const KW_VNI_DST: KeywordSpec = { vni: 'value', dst: 'value' };
const KW_VNI: KeywordSpec = { vni: 'value' };
const KW_VNI_ADD: KeywordSpec = { endpoint: 'multi', learning: 'value', proxy: 'value', 'allow-unknown-peers': 'value', maxlearned: 'value' };
const KW_NEIGH_SET: KeywordSpec = { lladdr: 'value', vni: 'value' };

const GROUPS: Record<EditSpec['group'], string> = {
  fdb: 'forwarding database (like bridge fdb)',
  vni: 'VXLAN network identifiers',
  peer: 'remote VTEPs per VNI (flood list + receive allow-list)',
  neigh: 'proxy ARP/ND answers per VNI (like ip neigh)',
};

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

const edit = (live: (dp: Datapath, pinDir: string) => void, stage: (s: Stage) => void): EditOp => ({ kind: 'edit', live, stage });
const show = (fn: (dp: Datapath, json: boolean) => void): ShowOp => ({ kind: 'show', show: fn });

function fdbSpecs(): EditSpec[] {
  const specs: EditSpec[] = (['add', 'replace'] as const).map((mode) => ({
    group: 'fdb', verb: mode, args: '<mac> [args...]', keywords: KW_FDB_SET, description: `${mode} a static entry: ${mode} MAC vni N (dst IP | dev IFACE)`,
    parse: ([macText, ...words]) => {
      const what = `fdb ${mode}`;
      const kw = parseKeywords(words, KW_FDB_SET, what);
      const mac = macArg(macText, what);
      const vni = vniArg(one(kw, 'vni'), what);
      const dst = one(kw, 'dst'), dev = one(kw, 'dev');
      if ((dst === undefined) === (dev === undefined)) throw new UsageError(`${what}: give exactly one of "dst IP" (remote VTEP) or "dev IFACE" (local endpoint)`);
      if (mac !== ZERO_MAC && (parseInt(mac.slice(0, 2), 16) & 1) === 1) throw new UsageError(`${what}: ${mac} is a multicast MAC`);
      const dest = dst !== undefined ? { kind: 'remote' as const, remote: ipArg(dst, what, 'vtep') } : { kind: 'local' as const, ifindex: ifindexArg(dev!, what) };
      return edit((dp) => fdbSet(dp, vni, mac, dest, mode), (s) => fdbSet(s.state, vni, mac, dest, mode));
    },
  }));
  specs.push({
    group: 'fdb', verb: 'append', args: '<mac> [args...]', keywords: KW_VNI_DST, description: `add a flood destination: append ${ZERO_MAC} vni N dst IP`,
    parse: ([macText, ...words]) => {
      const kw = parseKeywords(words, KW_VNI_DST, 'fdb append');
      const mac = macArg(macText, 'fdb append');
      const vni = vniArg(one(kw, 'vni'), 'fdb append');
      const dst = ipArg(one(kw, 'dst'), 'fdb append dst', 'vtep');
      return edit((dp) => {
        for (const n of fdbAppend(dp, vni, mac, dst)) note(n);
      }, (s) => void fdbAppend(s.state, vni, mac, dst));
    },
  }, {
    group: 'fdb', verb: 'del', args: '<mac> [args...]', keywords: KW_VNI_DST, description: 'delete an entry: del MAC vni N [dst IP]',
    parse: ([macText, ...words]) => {
      const kw = parseKeywords(words, KW_VNI_DST, 'fdb del');
      const mac = macArg(macText, 'fdb del');
      const vni = vniArg(one(kw, 'vni'), 'fdb del');
      const d = one(kw, 'dst');
      const dst = d === undefined ? undefined : ipArg(d, 'fdb del dst');
      return edit((dp) => fdbDel(dp, vni, mac, dst), (s) => fdbDel(s.state, vni, mac, dst));
    },
  }, {
    group: 'fdb', verb: 'flush', args: '[args...]', keywords: KW_VNI, words: ['dynamic', 'static', 'all'], description: 'delete entries: flush [vni N] [dynamic|static|all] (default dynamic = learned)',
    parse: (words) => {
      const which = (['dynamic', 'static', 'all'] as const).find((w) => words.includes(w)) ?? 'dynamic';
      const kw = parseKeywords(words.filter((w) => w !== which), KW_VNI, 'fdb flush');
      const v = one(kw, 'vni');
      const vni = v === undefined ? undefined : vniArg(v, 'fdb flush');
      const flushed = (n: number) => `flushed ${n} entr${n === 1 ? 'y' : 'ies'}`;
      return edit((dp) => note(flushed(fdbFlush(dp, which as FlushWhich, vni))), (s) => void s.notes.push(flushed(fdbFlush(s.state, which as FlushWhich, vni))));
    },
  }, {
    group: 'fdb', verb: 'show', args: '[args...]', keywords: KW_VNI, description: 'list entries: show [vni N]', json: true,
    parse: (words) => {
      const kw = parseKeywords(words, KW_VNI, 'fdb show');
      const v = one(kw, 'vni');
      const only = v === undefined ? undefined : vniArg(v, 'fdb show');
      return show((dp, json) => {
        const now = Number(process.hrtime.bigint());
        const entries = dp.fdb.list().filter((r) => only === undefined || r.vni === only).map((r) => ({
          mac: r.mac, vni: r.vni,
          ...(r.dest.kind === 'remote' ? { dst: r.dest.remote } : { dev: nameOf(r.dest.ifindex) }),
          type: r.static ? 'static' : 'learned',
          ...(r.static ? {} : { ageSeconds: Math.max(0, Math.round((now - r.updatedNs) / 1e9)) }),
        }));
        const flood = dp.flood.list().filter((f) => only === undefined || f.vni === only).flatMap((f) =>
          f.remotes.map((dst) => ({ mac: ZERO_MAC, vni: f.vni, dst, type: dp.peers.has(f.vni, dst) ? 'flood (peer)' : 'flood' })));
        const rows = [...entries, ...flood].sort((a, b) => a.vni - b.vni || a.mac.localeCompare(b.mac));
        // JSON stays the list of entries it always was; the learned counts are in `xvtep status --json`
        if (json) return printJson(rows);
        let out = '';
        for (const r of rows) {
          const where = 'dst' in r ? `dst ${r.dst}` : `dev ${(r as { dev: string }).dev}`;
          out += `${r.mac} vni ${r.vni} ${where} ${r.type}${'ageSeconds' in r ? ` age ${r.ageSeconds}s` : ''}\n`;
        }
        // `bridge fdb` ends with nothing, but a capped VNI should say so where its entries are listed
        for (const c of dp.vnis.learnCounts().filter((x) => only === undefined || x.vni === only).sort((a, b) => a.vni - b.vni)) {
          out += `# vni ${c.vni}: ${c.learned} learned of at most ${c.max || 'any (no per-VNI cap)'}\n`;
        }
        process.stdout.write(out);
      });
    },
  });
  return specs;
}

/** vni add's maxlearned N: as a file's vnis[].maxLearned (0 = no per-VNI cap). */
function maxLearnedArg(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) > CAPACITY_MAX) throw new UsageError(`vni add: maxlearned ${describeValue(v)} is not 0..${CAPACITY_MAX} (0: no per-VNI cap)`);
  return Number(v);
}

function vniSpecs(): EditSpec[] {
  return [{
    group: 'vni', verb: 'add', args: '<vni> [args...]', assumePeerNapi: true, keywords: KW_VNI_ADD,
    description: 'add: add N [endpoint IFACE]... [learning on|off] [proxy on|off] [allow-unknown-peers on|off] [maxlearned N (0: no per-VNI cap; default capacity.fdb/16)]',
    parse: ([vniText, ...words], o) => {
      const kw = parseKeywords(words, KW_VNI_ADD, 'vni add');
      const n = vniArg(vniText, 'vni add');
      const endpoints = new Map((kw.get('endpoint') ?? []).map((e) => [e, ifindexArg(e, 'vni add endpoint')]));
      const a = {
        vni: n, endpoints, learning: onOffArg(one(kw, 'learning'), 'learning', true), proxy: onOffArg(one(kw, 'proxy'), 'proxy', false),
        allowUnknownPeers: onOffArg(one(kw, 'allow-unknown-peers'), 'allow-unknown-peers', false),
        maxLearned: maxLearnedArg(one(kw, 'maxlearned')),
      };
      return edit((dp, pinDir) => {
        const notes: string[] = [];
        vniAdd(dp, pinDir, a, notes, !!o.assumePeerNapi);
        for (const m of notes) note(m);
      }, (s) => stageVniAdd(s.t, a, s.maxSlots, s.fdbCapacity));
    },
  }, {
    group: 'vni', verb: 'del', args: '<vni>', keywords: {}, description: 'delete a VNI with its endpoints, peers, FDB and neighbors',
    parse: ([vniText]) => {
      const n = vniArg(vniText, 'vni del');
      return edit((dp, pinDir) => void vniDel(dp, pinDir, n), (s) => stageVniDel(s.t, n));
    },
  }, {
    group: 'vni', verb: 'show', args: '', keywords: {}, description: 'list VNIs', json: true,
    parse: () => show((dp, json) => {
      const eps = dp.endpoints.list(), peers = dp.peers.list();
      const rows = [...dp.vnis.list()].sort((a, b) => a[0] - b[0]).map(([v, s]) => ({
        vni: v, statsSlot: s.statsSlot, learning: s.learning, proxyArp: s.proxyArp, allowUnknownPeers: s.allowUnknownPeers, maxLearned: s.maxLearned ?? 0,
        endpoints: eps.filter((e) => e.vni === v).map((e) => nameOf(e.ifindex)), peers: peers.filter((p) => p.vni === v).map((p) => p.address),
      }));
      if (json) return printJson(rows);
      process.stdout.write(table([['VNI', 'SLOT', 'LEARNING', 'PROXY', 'ENDPOINTS', 'PEERS'],
        ...rows.map((r) => [String(r.vni), String(r.statsSlot), r.learning ? 'on' : 'off', r.proxyArp ? 'on' : 'off', r.endpoints.join(',') || '-', r.peers.join(',') || '-'])]));
    }),
  }];
}

function peerSpecs(): EditSpec[] {
  const specs: EditSpec[] = (['add', 'del'] as const).map((op) => ({
    group: 'peer', verb: op, args: '<address> [args...]', keywords: KW_VNI, description: `${op} ADDRESS vni N`,
    parse: ([addr, ...words]) => {
      const kw = parseKeywords(words, KW_VNI, `peer ${op}`);
      const n = vniArg(one(kw, 'vni'), `peer ${op}`);
      const a = ipArg(addr, `peer ${op}`, op === 'add' ? 'vtep' : 'any');
      return edit((dp, pinDir) => void (op === 'add' ? peerAdd : peerDel)(dp, pinDir, n, a), (s) => (op === 'add' ? stagePeerAdd : stagePeerDel)(s.t, n, a));
    },
  }));
  specs.push({
    group: 'peer', verb: 'show', args: '[args...]', keywords: KW_VNI, description: 'show [vni N]', json: true,
    parse: (words) => {
      const kw = parseKeywords(words, KW_VNI, 'peer show');
      const v = one(kw, 'vni');
      const only = v === undefined ? undefined : vniArg(v, 'peer show');
      return show((dp, json) => {
        const rows = dp.peers.list().filter((p) => only === undefined || p.vni === only).sort((a, b) => a.vni - b.vni || a.address.localeCompare(b.address));
        if (json) return printJson(rows);
        process.stdout.write(rows.map((r) => `${r.address} vni ${r.vni}\n`).join(''));
      });
    },
  });
  return specs;
}

function neighSpecs(): EditSpec[] {
  const specs: EditSpec[] = (['add', 'replace'] as const).map((mode) => ({
    group: 'neigh', verb: mode, args: '<ip> [args...]', keywords: KW_NEIGH_SET, description: `${mode} IP lladdr MAC vni N`,
    parse: ([ipText, ...words]) => {
      const what = `neigh ${mode}`;
      const kw = parseKeywords(words, KW_NEIGH_SET, what);
      const ip = ipArg(ipText, what, 'neighbor');
      const mac = macArg(one(kw, 'lladdr'), `${what} lladdr`, { unicast: true });
      if (mac === ZERO_MAC) throw new UsageError(`${what}: lladdr must not be ${ZERO_MAC}`);
      const n = vniArg(one(kw, 'vni'), what);
      return edit((dp) => neighSet(dp, n, ip, mac, mode), (s) => neighSet(s.state, n, ip, mac, mode));
    },
  }));
  specs.push({
    group: 'neigh', verb: 'del', args: '<ip> [args...]', keywords: KW_VNI, description: 'del IP vni N',
    parse: ([ipText, ...words]) => {
      const kw = parseKeywords(words, KW_VNI, 'neigh del');
      const n = vniArg(one(kw, 'vni'), 'neigh del');
      const ip = ipArg(ipText, 'neigh del');
      return edit((dp) => neighDel(dp, n, ip), (s) => neighDel(s.state, n, ip));
    },
  }, {
    group: 'neigh', verb: 'show', args: '[args...]', keywords: KW_VNI, description: 'show [vni N]', json: true,
    parse: (words) => {
      const kw = parseKeywords(words, KW_VNI, 'neigh show');
      const v = one(kw, 'vni');
      const only = v === undefined ? undefined : vniArg(v, 'neigh show');
      return show((dp, json) => {
        const rows = dp.neighbors.list().filter((n) => only === undefined || n.vni === only).sort((a, b) => a.vni - b.vni || a.ip.localeCompare(b.ip));
        if (json) return printJson(rows);
        process.stdout.write(rows.map((r) => `${r.ip} lladdr ${r.mac} vni ${r.vni}\n`).join(''));
      });
    },
  });
  return specs;
}

/** Every edit and show command, in help order. */
export const EDIT_SPECS: readonly EditSpec[] = [...fdbSpecs(), ...vniSpecs(), ...peerSpecs(), ...neighSpecs()];

/** Runs a parsed command alone against the instance o names. */
export async function runAlone(op: EditOp | ShowOp, o: Opts): Promise<void> {
  const { pinDir } = await resolveTarget(o);
  const dp = openPinned(pinDir);
  try {
    if (op.kind === 'show') op.show(dp, !!o.json);
    else op.live(dp, pinDir);
  } finally {
    dp.close();
  }
}

function register(program: Command, group: EditSpec['group']): void {
  const parent = program.command(group).description(GROUPS[group]);
  for (const spec of EDIT_SPECS.filter((s) => s.group === group)) {
    const cmd = withTarget(parent.command(`${spec.verb}${spec.args ? ` ${spec.args}` : ''}`).description(spec.description), { json: !!spec.json });
    if (spec.assumePeerNapi) cmd.option('--assume-peer-napi', ASSUME_HELP);
    cmd.action(async (...a: unknown[]) => {
      a.pop(); // the Command
      const o = a.pop() as Opts;
      const pos = a.flatMap((x) => (x === undefined ? [] : Array.isArray(x) ? (x as string[]) : [x as string]));
      await runAlone(spec.parse(pos, o), o);
    });
  }
}

export const registerFdb = (program: Command): void => register(program, 'fdb');
export const registerVni = (program: Command): void => register(program, 'vni');
export const registerPeer = (program: Command): void => register(program, 'peer');
export const registerNeigh = (program: Command): void => register(program, 'neigh');
