// Syntax and classification of the identifiers a config file names: IP
// addresses, MAC addresses, Linux interface names and listen endpoints. Pure
// functions; "problem" helpers return a human message or null.
import { isIP } from 'node:net';

/**
 * node:net's own IPv4 pattern (lib/internal/net.js): isIP(s) === 4 exactly
 * when it matches. Tested first so that a command line of IPv4 addresses
 * never loads node:net, a few milliseconds of a CLI's start (docs/cli.md).
 */
export const IPV4_RE = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;

/** isIP of node:net, without loading it for an IPv4 address. */
export const ipFamily = (s: string): 0 | 4 | 6 => (IPV4_RE.test(s) ? 4 : (isIP(s) as 0 | 4 | 6));
import { describeValue } from './describe.js';

export type IpFamily = 4 | 6;

/** What an address is used for on the wire, as far as a VTEP cares. */
export type IpKind =
  | 'unicast'
  | 'unspecified'
  | 'loopback'
  | 'multicast'
  | 'broadcast'
  | 'link-local'
  | 'ipv4-mapped';

export interface IpAddress {
  /** Canonical text: dotted quad, or RFC 5952 compressed lower-case IPv6. */
  readonly text: string;
  readonly family: IpFamily;
  readonly kind: IpKind;
}

// Large files repeat a few VTEP addresses in every FDB entry: classify each
// text once. Bounded, so a hostile file cannot grow it without limit.
const parsed = new Map<string, IpAddress | null>();

/** Parses an IP literal; null when it is not one (zone indexes included) or not a string. */
export function parseIp(input: unknown): IpAddress | null {
  if (typeof input !== 'string') return null;
  const hit = parsed.get(input);
  if (hit !== undefined) return hit;
  const r = parseIpUncached(input);
  if (r) Object.freeze(r);
  if (parsed.size >= 4096) parsed.clear();
  parsed.set(input, r);
  return r;
}

function parseIpUncached(input: string): IpAddress | null {
  // node:net accepts "fe80::1%eth0"; a zone only means something next to an
  // interface, which a config address is not, so reject it here.
  if (input.includes('%')) return null;
  const family = ipFamily(input);
  if (family === 4) return { text: input, family: 4, kind: ipv4Kind(input) };
  if (family === 6) {
    const words = ipv6Words(input);
    return { text: formatIpv6(words), family: 6, kind: ipv6Kind(words) };
  }
  return null;
}

function ipv4Kind(text: string): IpKind {
  const [a = 0, b = 0] = text.split('.').map(Number);
  if (text === '255.255.255.255') return 'broadcast';
  if (a === 0) return 'unspecified'; // 0.0.0.0/8: "this network", never a destination
  if (a === 127) return 'loopback';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a === 169 && b === 254) return 'link-local';
  return 'unicast';
}

function ipv6Kind(w: readonly number[]): IpKind {
  const [w0 = 0, , , , , w5 = 0, , w7 = 0] = w;
  const upperZero = w.slice(0, 5).every((x) => x === 0);
  if (upperZero && w5 === 0 && w[6] === 0 && w7 === 0) return 'unspecified';
  if (upperZero && w5 === 0 && w[6] === 0 && w7 === 1) return 'loopback';
  if (upperZero && w5 === 0xffff) return 'ipv4-mapped';
  if ((w0 & 0xff00) === 0xff00) return 'multicast';
  if ((w0 & 0xffc0) === 0xfe80) return 'link-local';
  return 'unicast';
}

/** Eight 16-bit words of an address that node:net already accepted as IPv6. */
function ipv6Words(input: string): number[] {
  let s = input.toLowerCase();
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    s = `${s.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = s.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length > 1 ? 8 - head.length - rest.length : 0;
  return [...head, ...Array<string>(fill).fill('0'), ...rest].map((h) => parseInt(h, 16));
}

/** RFC 5952: lower case, no leading zeros, longest (first) zero run of 2+ as "::". */
function formatIpv6(words: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

const KIND_TEXT: Record<Exclude<IpKind, 'unicast'>, string> = {
  unspecified: 'an unspecified address',
  loopback: 'a loopback address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  'link-local': 'a link-local address',
  'ipv4-mapped': 'an IPv4-mapped IPv6 address (write the IPv4 address instead)',
};

/**
 * Underlay addresses (local VTEP, peers, FDB remotes) must be routable unicast.
 * Link-local is rejected for both families: an IPv6 link-local needs a zone the
 * file cannot express, and neither family's link-local routes beyond one hop.
 */
export function underlayAddressProblem(value: string): string | null {
  const ip = parseIp(value);
  if (!ip) return `${describeValue(value)} is not an IP address`;
  if (ip.kind !== 'unicast') return `${value} is ${KIND_TEXT[ip.kind]}; a VTEP address must be routable unicast`;
  return null;
}

/** Overlay neighbor addresses: any unicast, link-local included (ND needs fe80::). */
export function overlayAddressProblem(value: string): string | null {
  const ip = parseIp(value);
  if (!ip) return `${describeValue(value)} is not an IP address`;
  if (ip.kind !== 'unicast' && ip.kind !== 'link-local') {
    return `${value} is ${KIND_TEXT[ip.kind]}; a neighbor address must be unicast`;
  }
  return null;
}

const MAC_RE = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}$/i;

export const ZERO_MAC = '00:00:00:00:00:00';

/** Lower-case colon form, or null when not a MAC (or not a string). Separators must not be mixed. */
export function normalizeMac(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  if (isCanonicalMac(value)) return value;
  return MAC_RE.test(value) ? value.toLowerCase().replaceAll('-', ':') : null;
}

/**
 * Already lower case and colon separated: returned as is, without the regex
 * and two new strings (a large FDB is checked three times over, 100k MACs).
 */
function isCanonicalMac(s: string): boolean {
  if (s.length !== 17) return false;
  for (let i = 0; i < 17; i++) {
    const c = s.charCodeAt(i);
    if (i % 3 === 2) {
      if (c !== 58) return false; // ':'
    } else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false; // 0-9 a-f
  }
  return true;
}

/** The I/G bit: set for multicast and broadcast destinations. */
export function isMulticastMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

export function macSyntaxProblem(value: string): string | null {
  return normalizeMac(value) === null
    ? `${describeValue(value)} is not a MAC address (expected six hex pairs such as 02:00:00:00:00:01)`
    : null;
}

/** FDB keys: unicast, or all-zero for the default/flood destination (`bridge fdb append 00:00:00:00:00:00`). */
export function fdbMacProblem(value: string): string | null {
  const mac = normalizeMac(value);
  if (mac === null) return macSyntaxProblem(value);
  if (isMulticastMac(mac)) {
    return `${mac} is a multicast MAC; FDB entries need a unicast MAC, or ${ZERO_MAC} for the flood default`;
  }
  return null;
}

/** Neighbor answers: a real station's unicast MAC. */
export function neighborMacProblem(value: string): string | null {
  const mac = normalizeMac(value);
  if (mac === null) return macSyntaxProblem(value);
  if (isMulticastMac(mac)) return `${mac} is a multicast MAC; a neighbor MAC must be unicast`;
  if (mac === ZERO_MAC) return `${mac} cannot be a neighbor's MAC`;
  return null;
}

/** The kernel's dev_valid_name(): 1..15 bytes (IFNAMSIZ 16 with NUL), not "." or "..", no '/', ':' or whitespace. */
export function interfaceNameProblem(value: string): string | null {
  const shown = describeValue(value);
  if (value.length === 0) return 'an interface name cannot be empty';
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > 15) return `${shown} is not an interface name: ${bytes} bytes, the kernel allows at most 15`;
  if (value === '.' || value === '..') return `${shown} is not an interface name`;
  // eslint-disable-next-line no-control-regex
  if (/[/:\s\u0000-\u001f\u007f]/.test(value)) {
    return `${shown} is not an interface name: '/', ':', whitespace and control characters are not allowed`;
  }
  return null;
}

export interface ListenAddress {
  /** An IP literal (IPv6 without brackets, canonical) or a host name. */
  readonly host: string;
  readonly port: number;
}

const HOSTNAME_RE = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** `host:port` or `[v6]:port`; the unspecified addresses are fine here (listen on all). */
export function parseListen(value: string): ListenAddress | string {
  const shown = describeValue(value);
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(value);
  const plain = bracketed ? null : /^([^:]*):([^:]*)$/.exec(value);
  if (!bracketed && !plain) {
    return value.split(':').length > 2
      ? `${shown} is not host:port; put an IPv6 address in brackets, e.g. [::1]:9469`
      : `${shown} is not host:port (e.g. 127.0.0.1:9469)`;
  }
  const [, hostText = '', portText = ''] = (bracketed ?? plain) as RegExpExecArray;
  let host: string;
  if (bracketed) {
    const ip = parseIp(hostText);
    if (!ip || ip.family !== 6) return `${shown}: ${describeValue(hostText)} in brackets is not an IPv6 address`;
    host = ip.text;
  } else if (parseIp(hostText)) {
    host = hostText;
  } else if (HOSTNAME_RE.test(hostText)) {
    host = hostText.toLowerCase();
  } else {
    return `${shown}: ${describeValue(hostText)} is neither an IP address nor a host name`;
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) return `${shown}: port ${describeValue(portText)} is not in 1..65535`;
  return { host, port };
}
