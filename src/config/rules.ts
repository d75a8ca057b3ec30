// Cross-field rules, run as zod superRefine steps. They may see values whose
// own field check failed, even of the wrong type (the parse is dirty, not
// aborted; see schema.ts), so every value is re-checked here and skipped when
// invalid: its own error is already reported.
import type { z } from 'zod';
import { interfaceNameProblem, normalizeMac, parseIp, ZERO_MAC, type IpAddress } from './addresses.js';
import { formatPath, type PathSegment } from './errors.js';
import { MTU_MIN_V6, VNI_MAX } from './limits.js';
import type { RawConfig, RawFdbEntry, RawUnderlay, RawVni } from './schema.js';

type Ctx = z.RefinementCtx;

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

export function fdbEntryRules(e: RawFdbEntry, ctx: Ctx): void {
  if (e.remote === undefined && e.endpoint === undefined) {
    report(ctx, [], 'an FDB entry needs either remote (a VTEP address) or endpoint (a local interface of this VNI)');
  } else if (e.remote !== undefined && e.endpoint !== undefined) {
    report(ctx, ['endpoint'], 'an FDB entry has either remote or endpoint, not both');
  } else if (e.endpoint !== undefined && normalizeMac(e.mac) === ZERO_MAC) {
    report(ctx, ['mac'], `${ZERO_MAC} is the flood destination; it takes a remote, not an endpoint`);
  }
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

/** Every address the underlay sends to or from, in file order. */
function underlayUses(c: RawConfig): UnderlayUse[] {
  const uses: UnderlayUse[] = [];
  const add = (path: PathSegment[], text: string | undefined) => {
    // Non-unicast addresses already have their own error; a family complaint would be noise.
    const ip = text === undefined ? null : parseIp(text);
    if (ip?.kind === 'unicast') uses.push({ path, ip });
  };
  add(['underlay', 'address'], c.underlay.address);
  c.vnis.forEach((v, i) => {
    v.peers.forEach((p, j) => add(['vnis', i, 'peers', j], p));
    v.fdb.forEach((e, j) => add(['vnis', i, 'fdb', j, 'remote'], e.remote));
  });
  return uses;
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
  // header type, so the first address named fixes it for all others.
  const [reference, ...others] = underlayUses(c);
  if (reference) {
    const fromAddress = reference.path[0] === 'underlay';
    for (const use of others) {
      if (use.ip.family === reference.ip.family) continue;
      const message = fromAddress
        ? `${use.ip.text} is ${familyName(use.ip)} but underlay.address ${reference.ip.text} is ${familyName(reference.ip)}; a VTEP has one underlay family`
        : `${use.ip.text} is ${familyName(use.ip)} but ${formatPath(reference.path)} ${reference.ip.text} is ${familyName(reference.ip)}; all peers and FDB remotes must share one family`;
      report(ctx, use.path, message);
    }
    if (reference.ip.family === 6 && isNumber(c.underlay.mtu) && c.underlay.mtu < MTU_MIN_V6) {
      report(ctx, ['underlay', 'mtu'], `MTU ${c.underlay.mtu} is below ${MTU_MIN_V6}, the IPv6 minimum, for an IPv6 underlay`);
    }
  }
}
