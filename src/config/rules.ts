// Cross-field rules, run as zod superRefine steps. They may see values whose
// own field check failed, even of the wrong type (the parse is dirty, not
// aborted; see schema.ts), so every value is re-checked here and skipped when
// invalid: its own error is already reported.
import type { z } from 'zod';
import { interfaceNameProblem, normalizeMac, parseIp, ZERO_MAC, type IpAddress } from './addresses.js';
import { formatPath, type PathSegment } from './errors.js';
import { MTU_MIN_V6, VNI_MAX } from './limits.js';

type Ctx = z.RefinementCtx;

// What the rules read of a parse. schema.ts's Raw* types have these fields
// and more (its superRefine calls check that they fit); they are declared
// here because schema.ts builds its schemas from these rules.
interface RawUnderlay {
  readonly interface: string;
  readonly address?: string;
  readonly srcPortMin: number;
  readonly srcPortMax: number;
  readonly mtu?: number;
}
interface RawFdbEntry {
  readonly mac: string;
  readonly remote?: string;
  readonly endpoint?: string;
}
interface RawVni {
  readonly vni: number;
  readonly endpoints: readonly string[];
  readonly peers: readonly string[];
  readonly fdb: readonly RawFdbEntry[];
  readonly neighbors: readonly { readonly ip: string; readonly mac: string }[];
}
interface RawEtcd {
  readonly endpoints: readonly string[];
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}
interface RawConfig {
  readonly underlay: RawUnderlay;
  readonly vnis: readonly RawVni[];
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number';

function report(ctx: Ctx, path: PathSegment[], message: string): void {
  ctx.addIssue({ code: 'custom', path, message });
}

/** Where `relative` is in the file, for messages that point at another entry. */
function at(ctx: Ctx, relative: PathSegment[]): string {
  return formatPath([...ctx.path, ...relative]);
}

export function underlayRules(u: RawUnderlay, ctx: Ctx): void {
  const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
  if (isPort(u.srcPortMin) && isPort(u.srcPortMax) && u.srcPortMin > u.srcPortMax) {
    report(ctx, ['srcPortMin'], `srcPortMin ${u.srcPortMin} is greater than srcPortMax ${u.srcPortMax}`);
  }
}

/** The one problem of an FDB entry's own fields together, or null; also the long-list fast path's check (long-list.ts). */
export function fdbEntryProblem(e: RawFdbEntry): { path: PathSegment[]; message: string } | null {
  if (e.remote === undefined && e.endpoint === undefined) {
    return { path: [], message: 'an FDB entry needs either remote (a VTEP address) or endpoint (a local interface of this VNI)' };
  }
  if (e.remote !== undefined && e.endpoint !== undefined) return { path: ['endpoint'], message: 'an FDB entry has either remote or endpoint, not both' };
  if (e.endpoint !== undefined && normalizeMac(e.mac) === ZERO_MAC) {
    return { path: ['mac'], message: `${ZERO_MAC} is the flood destination; it takes a remote, not an endpoint` };
  }
  return null;
}

/** Client certificates come in pairs, and TLS files only mean something over https. */
export function etcdRules(e: RawEtcd, ctx: Ctx): void {
  if ((e.certFile === undefined) !== (e.keyFile === undefined)) {
    report(ctx, [e.certFile === undefined ? 'certFile' : 'keyFile'], 'certFile and keyFile go together (the client certificate and its key)');
  }
  const tls = e.caFile !== undefined || e.certFile !== undefined || e.keyFile !== undefined;
  if (!Array.isArray(e.endpoints)) return;
  const schemes = new Set(e.endpoints.filter(isString).map((u) => u.split(':')[0]));
  if (schemes.size > 1) report(ctx, ['endpoints'], 'all endpoints use the same scheme (http or https)');
  else if (tls && schemes.has('http')) report(ctx, ['endpoints'], 'caFile/certFile/keyFile are set but the endpoints are http://; use https://');
}

export function fdbEntryRules(e: RawFdbEntry, ctx: Ctx): void {
  const p = fdbEntryProblem(e);
  if (p) report(ctx, p.path, p.message);
}

export function vniRules(v: RawVni, ctx: Ctx): void {
  const endpoints = new Map<string, number>();
  v.endpoints.forEach((name, i) => {
    if (!isString(name)) return;
    const first = endpoints.get(name);
    if (first === undefined) endpoints.set(name, i);
    else report(ctx, ['endpoints', i], `endpoint ${name} is already listed at ${at(ctx, ['endpoints', first])}`);
  });

  const peers = new Map<string, number>();
  v.peers.forEach((text, i) => {
    const ip = parseIp(text);
    if (!ip) return;
    const first = peers.get(ip.text);
    if (first === undefined) peers.set(ip.text, i);
    else report(ctx, ['peers', i], `peer ${ip.text} is already listed at ${at(ctx, ['peers', first])}`);
  });

  // Unicast MACs have one location; the all-zero MAC may repeat, once per
  // flood destination, as `bridge fdb append` allows.
  const fdbKeys = new Map<string, number>();
  v.fdb.forEach((e, i) => {
    const mac = normalizeMac(e.mac);
    if (isString(e.endpoint) && interfaceNameProblem(e.endpoint) === null && !endpoints.has(e.endpoint)) {
      report(ctx, ['fdb', i, 'endpoint'], `${e.endpoint} is not an endpoint of VNI ${v.vni} (endpoints: ${[...endpoints.keys()].join(', ')})`);
    }
    if (mac === null) return;
    const remote = e.remote !== undefined ? parseIp(e.remote)?.text : undefined;
    const key = mac === ZERO_MAC ? `${mac} ${remote ?? ''}` : mac;
    if (mac === ZERO_MAC && remote === undefined) return;
    const first = fdbKeys.get(key);
    if (first === undefined) fdbKeys.set(key, i);
    else if (mac === ZERO_MAC) {
      report(ctx, ['fdb', i, 'remote'], `the flood entry for ${remote} is already at ${at(ctx, ['fdb', first])}`);
    } else report(ctx, ['fdb', i, 'mac'], `MAC ${mac} already has an FDB entry at ${at(ctx, ['fdb', first])}`);
  });

  const neighbors = new Map<string, number>();
  v.neighbors.forEach((n, i) => {
    const ip = parseIp(n.ip);
    if (!ip) return;
    const first = neighbors.get(ip.text);
    if (first === undefined) neighbors.set(ip.text, i);
    else report(ctx, ['neighbors', i, 'ip'], `neighbor ${ip.text} is already defined at ${at(ctx, ['neighbors', first])}`);
  });
}

interface UnderlayUse {
  readonly path: PathSegment[];
  readonly ip: IpAddress;
}

// Non-unicast addresses already have their own error; a family complaint would be noise.
function unicast(text: string | undefined): IpAddress | null {
  const ip = text === undefined ? null : parseIp(text);
  return ip?.kind === 'unicast' ? ip : null;
}

/** The first address the underlay sends to or from, in file order: it fixes the family. */
function underlayReference(c: RawConfig): UnderlayUse | undefined {
  const own = unicast(c.underlay.address);
  if (own) return { path: ['underlay', 'address'], ip: own };
  for (let i = 0; i < c.vnis.length; i++) {
    const v = c.vnis[i]!;
    for (let j = 0; j < v.peers.length; j++) {
      const ip = unicast(v.peers[j]);
      if (ip) return { path: ['vnis', i, 'peers', j], ip };
    }
    for (let j = 0; j < v.fdb.length; j++) {
      const ip = unicast(v.fdb[j]!.remote);
      if (ip) return { path: ['vnis', i, 'fdb', j, 'remote'], ip };
    }
  }
  return undefined;
}

const familyName = (ip: IpAddress) => `IPv${ip.family}`;

export function configRules(c: RawConfig, ctx: Ctx): void {
  const vnis = new Map<number, number>();
  c.vnis.forEach((v, i) => {
    if (!Number.isInteger(v.vni) || v.vni < 1 || v.vni > VNI_MAX) return; // already reported
    const first = vnis.get(v.vni);
    if (first === undefined) vnis.set(v.vni, i);
    else report(ctx, ['vnis', i, 'vni'], `VNI ${v.vni} is already defined at ${formatPath(['vnis', first])}`);
  });

  const owners = new Map<string, number>();
  c.vnis.forEach((v, i) => {
    v.endpoints.forEach((name, j) => {
      if (!isString(name)) return;
      if (name === c.underlay.interface) {
        report(ctx, ['vnis', i, 'endpoints', j], `${name} is the underlay interface; it cannot also be an endpoint`);
        return;
      }
      const owner = owners.get(name);
      if (owner === undefined) owners.set(name, i);
      else if (owner !== i) {
        report(ctx, ['vnis', i, 'endpoints', j], `endpoint ${name} is already bound to VNI ${c.vnis[owner]?.vni} at ${formatPath(['vnis', owner])}`);
      }
    });
  });

  // One underlay family per VTEP: the data path encapsulates with one outer
  // header type, so the first address named fixes it for all others. Paths
  // are built only for the addresses that differ (a large FDB has 100k).
  const reference = underlayReference(c);
  if (reference) {
    const fromAddress = reference.path[0] === 'underlay';
    const other = (text: string | undefined, path: () => PathSegment[]) => {
      const ip = unicast(text);
      if (!ip || ip.family === reference.ip.family) return;
      const message = fromAddress
        ? `${ip.text} is ${familyName(ip)} but underlay.address ${reference.ip.text} is ${familyName(reference.ip)}; a VTEP has one underlay family`
        : `${ip.text} is ${familyName(ip)} but ${formatPath(reference.path)} ${reference.ip.text} is ${familyName(reference.ip)}; all peers and FDB remotes must share one family`;
      report(ctx, path(), message);
    };
    c.vnis.forEach((v, i) => {
      v.peers.forEach((p, j) => other(p, () => ['vnis', i, 'peers', j]));
      v.fdb.forEach((e, j) => other(e.remote, () => ['vnis', i, 'fdb', j, 'remote']));
    });
    if (reference.ip.family === 6 && isNumber(c.underlay.mtu) && c.underlay.mtu < MTU_MIN_V6) {
      report(ctx, ['underlay', 'mtu'], `MTU ${c.underlay.mtu} is below ${MTU_MIN_V6}, the IPv6 minimum, for an IPv6 underlay`);
    }
  }
}
