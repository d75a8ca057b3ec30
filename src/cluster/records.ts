// The key schema under the cluster prefix and the records stored there.
// Every record is checked before it is used: a record from etcd is input
// like a config file, and one that does not validate is refused (logged,
// counted, never applied), with the same address and MAC rules as the file.
//
//   <prefix>members/<node>        MemberRecord (JSON), under <node>'s lease
//   <prefix>vnis/<vni>/<node>     VniRecord (JSON): <node>'s MACs and IP→MAC
//                                 pairs in <vni>, one key per node and VNI,
//                                 so a learned MAC rewrites one small key
import { neighborMacProblem, normalizeMac, overlayAddressProblem, parseIp, underlayAddressProblem, VNI_MAX } from '../config/index.js';

/** Schema version of the records; a member on another version is refused, not misread. */
export const RECORD_VERSION = 1;
/** More entries in one record than any map could hold is refused outright. */
export const RECORD_MAX_ENTRIES = 65536;

export interface MemberRecord {
  v: number;
  name: string;
  address: string;
  family: 4 | 6;
  port: number;
  vnis: number[];
  software: string;
  layout: number;
}

export interface VniRecord {
  v: number;
  /** MACs behind this node in this VNI: the file's local FDB entries and learned ones. */
  macs: string[];
  /** IP→MAC pairs it knows (the file's neighbors). */
  neighbors: Array<{ ip: string; mac: string }>;
}

export type Key =
  | { kind: 'member'; node: string }
  | { kind: 'vni'; vni: number; node: string };

const NODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const memberKey = (prefix: string, node: string) => `${prefix}members/${node}`;
export const vniKey = (prefix: string, vni: number, node: string) => `${prefix}vnis/${vni}/${node}`;

/** What a key under the prefix names; a string says why it is not one of ours. */
export function parseKey(prefix: string, key: string): Key | string {
  if (!key.startsWith(prefix)) return 'outside the prefix';
  const parts = key.slice(prefix.length).split('/');
  if (parts[0] === 'members' && parts.length === 2 && NODE.test(parts[1]!)) return { kind: 'member', node: parts[1]! };
  if (parts[0] === 'vnis' && parts.length === 3 && NODE.test(parts[2]!)) {
    const vni = /^[1-9][0-9]{0,7}$/.test(parts[1]!) ? Number(parts[1]) : NaN;
    if (!(vni >= 1 && vni <= VNI_MAX)) return `VNI ${JSON.stringify(parts[1])} is out of range 1..${VNI_MAX}`;
    return { kind: 'vni', vni, node: parts[2]! };
  }
  return 'not a members/<node> or vnis/<vni>/<node> key';
}

function json(text: string): Record<string, unknown> | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return `not JSON (${(e as Error).message})`;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'not a JSON object';
  return v as Record<string, unknown>;
}

const isInt = (v: unknown, min: number, max: number): v is number => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

/** A member record, normalized, or why it is refused. */
export function parseMember(node: string, text: string): MemberRecord | string {
  const o = json(text);
  if (typeof o === 'string') return o;
  if (o.v !== RECORD_VERSION) return `record version ${JSON.stringify(o.v)}, this xvtep reads ${RECORD_VERSION}`;
  if (o.name !== node) return `name ${JSON.stringify(o.name)} does not match its key's node ${node}`;
  if (typeof o.address !== 'string') return 'address: not a string';
  const problem = underlayAddressProblem(o.address);
  if (problem) return `address: ${problem}`;
  const ip = parseIp(o.address)!;
  if (o.family !== ip.family) return `family ${JSON.stringify(o.family)} does not match address ${o.address}`;
  if (!isInt(o.port, 1, 65535)) return `port ${JSON.stringify(o.port)} is not 1..65535`;
  if (!Array.isArray(o.vnis) || o.vnis.length > 4096 || !o.vnis.every((v) => isInt(v, 1, VNI_MAX))) return `vnis: not a list of at most 4096 VNIs 1..${VNI_MAX}`;
  return {
    v: RECORD_VERSION, name: node, address: ip.text, family: ip.family, port: o.port, vnis: [...new Set(o.vnis as number[])].sort((a, b) => a - b),
    software: typeof o.software === 'string' ? o.software.slice(0, 64) : '', layout: isInt(o.layout, 0, 0xffffffff) ? o.layout : 0,
  };
}

/** A per-VNI record, normalized, or why it is refused; maxEntries is what the maps can take. */
export function parseVniRecord(text: string, maxEntries = RECORD_MAX_ENTRIES): VniRecord | string {
  const o = json(text);
  if (typeof o === 'string') return o;
  if (o.v !== RECORD_VERSION) return `record version ${JSON.stringify(o.v)}, this xvtep reads ${RECORD_VERSION}`;
  if (!Array.isArray(o.macs)) return 'macs: not a list';
  if (!Array.isArray(o.neighbors)) return 'neighbors: not a list';
  const limit = Math.min(maxEntries, RECORD_MAX_ENTRIES);
  if (o.macs.length > limit) return `macs: ${o.macs.length} entries, more than the ${limit} the maps can take`;
  if (o.neighbors.length > limit) return `neighbors: ${o.neighbors.length} entries, more than the ${limit} the maps can take`;
  const macs: string[] = [];
  for (const [i, m] of o.macs.entries()) {
    const problem = typeof m !== 'string' ? 'not a string' : neighborMacProblem(m);
    if (problem) return `macs[${i}]: ${problem}`;
    macs.push(normalizeMac(m)!);
  }
  const neighbors: VniRecord['neighbors'] = [];
  for (const [i, n] of o.neighbors.entries()) {
    if (n === null || typeof n !== 'object' || typeof n.ip !== 'string' || typeof n.mac !== 'string') return `neighbors[${i}]: not an { ip, mac } object`;
    const problem = overlayAddressProblem(n.ip) ?? neighborMacProblem(n.mac);
    if (problem) return `neighbors[${i}]: ${problem}`;
    neighbors.push({ ip: parseIp(n.ip)!.text, mac: normalizeMac(n.mac)! });
  }
  return { v: RECORD_VERSION, macs: [...new Set(macs)].sort(), neighbors };
}
