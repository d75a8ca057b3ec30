// `bridge fdb`-style keyword arguments: `vni 42 dst 192.0.2.2 dev veth0`.
import { describeValue, ipFamily, overlayAddressProblem, underlayAddressProblem } from '../config/index.js';
import { UsageError } from './errors.js';

export type KeywordSpec = Record<string, 'value' | 'multi'>;

export function parseKeywords(words: readonly string[], spec: KeywordSpec, what: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < words.length; i++) {
    const k = words[i]!;
    const kind = spec[k];
    if (!kind) throw new UsageError(`${what}: unexpected ${describeValue(k)} (expected one of: ${Object.keys(spec).join(', ')})`);
    const v = words[++i];
    if (v === undefined) throw new UsageError(`${what}: "${k}" needs a value`);
    const prev = out.get(k) ?? [];
    if (kind === 'value' && prev.length) throw new UsageError(`${what}: "${k}" given twice`);
    out.set(k, [...prev, v]);
  }
  return out;
}

export function one(m: Map<string, string[]>, k: string): string | undefined {
  return m.get(k)?.[0];
}

export function vniArg(v: string | undefined, what: string): number {
  if (v === undefined) throw new UsageError(`${what}: "vni N" is required`);
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 16777215) throw new UsageError(`${what}: vni ${describeValue(v)} is not 1..16777215`);
  return Number(v);
}

const MAC_RE = /^([0-9a-f]{2})([:-])[0-9a-f]{2}(\2[0-9a-f]{2}){4}$/i;

export function macArg(v: string | undefined, what: string, opts: { unicast?: boolean } = {}): string {
  if (v === undefined || !MAC_RE.test(v)) throw new UsageError(`${what}: ${describeValue(v ?? '')} is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  const mac = v.toLowerCase().replace(/-/g, ':');
  if (opts.unicast && (parseInt(mac.slice(0, 2), 16) & 1) === 1) throw new UsageError(`${what}: ${mac} is a multicast MAC`);
  return mac;
}

/**
 * Canonical text of an address (RFC 5952 for IPv6), as the maps render it.
 * `use` applies the config file's rules to what is being added: a VTEP
 * (peer, FDB or flood destination) must be routable unicast, a neighbor
 * unicast; deletions take any address so a bad entry can always be removed.
 */
export function ipArg(v: string | undefined, what: string, use: 'vtep' | 'neighbor' | 'any' = 'any'): string {
  // A batch names the same few VTEPs on 100,000 lines: check each once.
  const key = `${use} ${v}`;
  const seen = checkedIps.get(key);
  if (seen !== undefined) return seen;
  const ip = checkIp(v, what, use);
  if (checkedIps.size < 4096) checkedIps.set(key, ip);
  return ip;
}

const checkedIps = new Map<string, string>();

function checkIp(v: string | undefined, what: string, use: 'vtep' | 'neighbor' | 'any'): string {
  if (v === undefined || ipFamily(v) === 0) throw new UsageError(`${what}: ${describeValue(v ?? '')} is not an IP address`);
  // node:net takes fe80::1%eth0; a zone means nothing in a map key
  if (v.includes('%')) throw new UsageError(`${what}: ${describeValue(v)} has a zone index (%...); give the address alone`);
  const problem = use === 'vtep' ? underlayAddressProblem(v) : use === 'neighbor' ? overlayAddressProblem(v) : null;
  if (problem) throw new UsageError(`${what}: ${problem}`);
  if (ipFamily(v) === 4) return v;
  return new URL(`http://[${v}]/`).hostname.slice(1, -1);
}

export function onOffArg(v: string | undefined, what: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw new UsageError(`${what}: ${describeValue(v)} must be on or off`);
}
