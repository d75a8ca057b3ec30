// The file format as a zod schema: shapes, types, ranges, defaults and the
// cross-field rules (rules.ts). zod aborts a whole object on a plain type
// error (z.string() given a number), which would silence the cross-field
// rules of every enclosing object; so leaf values are checked by `leaf`, whose
// failures leave the parse "dirty" instead and the rules still run. The rules
// therefore re-check the types they rely on. Canonical forms are produced
// afterwards, by normalize.ts, from a fully valid parse.
import { posix } from 'node:path';
import { z } from 'zod';
import {
  fdbMacProblem,
  interfaceNameProblem,
  neighborMacProblem,
  overlayAddressProblem,
  parseListen,
  underlayAddressProblem,
} from './addresses.js';
import { describeExpected, describeValue } from './describe.js';
import { CAPACITY_MAX, MTU_MIN, VNI_MAX } from './limits.js';
import { registerLeaf, strictLeavesAccept, ZodLongList } from './long-list.js';
import { configRules, etcdRules, fdbEntryProblem, fdbEntryRules, underlayRules, vniRules } from './rules.js';
import { CONFIG_DEFAULTS as D, ENDPOINT_XDP } from './types.js';

/** A scalar of type T (per `is`) that also passes `problem`; T is what a valid parse yields. */
function leaf<T>(
  is: (value: unknown) => value is T,
  expected: string,
  problem: (value: T) => string | null = () => null,
): z.ZodType<T, z.ZodTypeDef, T> {
  const schema = z.any().superRefine((value: unknown, ctx) => {
    const message =
      value === undefined ? 'required key is missing'
      : !is(value) ? `expected ${expected}, got ${describeValue(value)}`
      : problem(value);
    if (message !== null) ctx.addIssue({ code: z.ZodIssueCode.custom, message });
  });
  registerLeaf(schema, (value) => value !== undefined && is(value) && problem(value) === null);
  return schema as unknown as z.ZodType<T, z.ZodTypeDef, T>;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isInteger = (v: unknown): v is number => Number.isInteger(v);

const text = (problem?: (value: string) => string | null) => leaf(isString, describeExpected('string'), problem);
const flag = () => leaf(isBoolean, describeExpected('boolean'));

function intIn(min: number, max: number, label?: string) {
  return leaf(isInteger, describeExpected('integer'), (v) =>
    v >= min && v <= max ? null : `${label ? `${label} ` : ''}${v} is out of range ${min}..${max}`,
  );
}

function oneOf<const T extends string>(values: readonly T[]) {
  const is = (v: unknown): v is T => typeof v === 'string' && (values as readonly string[]).includes(v);
  return leaf(is, `one of ${values.join(', ')}`);
}

const interfaceName = text(interfaceNameProblem);
const underlayAddress = text(underlayAddressProblem);
const port = intIn(1, 65535, 'port');

const isTos = (v: unknown): v is number | 'inherit' => v === 'inherit' || (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255);
const tos = leaf(isTos, 'inherit or an integer 0..255');

function pinDirProblem(value: string): string | null {
  if (!posix.isAbsolute(value)) return `${describeValue(value)} is not an absolute path`;
  if (value.includes('\0')) return 'a path cannot contain NUL';
  if (posix.normalize(value) === '/') return 'the pin directory cannot be / itself';
  return null;
}

const underlayShape = z
  .object({
    interface: interfaceName,
    address: underlayAddress.optional(),
    port: port.default(D.underlay.port),
    srcPortMin: port.default(D.underlay.srcPortMin),
    srcPortMax: port.default(D.underlay.srcPortMax),
    xdpMode: oneOf(['native', 'skb']).default(D.underlay.xdpMode),
    tcMode: oneOf(['auto', 'tcx', 'netlink']).default(D.underlay.tcMode),
    ttl: intIn(1, 255, 'TTL').default(D.underlay.ttl),
    tos: tos.default(D.underlay.tos),
    df: oneOf(['unset', 'set', 'inherit']).default(D.underlay.df),
    udpChecksumV6: flag().default(D.underlay.udpChecksumV6),
    udpZeroChecksumRxV6: flag().default(D.underlay.udpZeroChecksumRxV6),
    mtu: intIn(MTU_MIN, 65535, 'MTU').optional(),
  })
  .strict();
const underlaySchema = underlayShape.superRefine(underlayRules);

const fdbEntryShape = z
  .object({
    mac: text(fdbMacProblem),
    remote: underlayAddress.optional(),
    endpoint: interfaceName.optional(),
  })
  .strict();
export const fdbEntrySchema = fdbEntryShape.superRefine(fdbEntryRules);
/** Exported for the test that holds it to zod's own verdict on each entry. */
export const fdbEntryAccepts = strictLeavesAccept(fdbEntryShape, fdbEntryProblem);
const fdbList = ZodLongList.create(fdbEntrySchema, fdbEntryAccepts);

const neighborSchema = z
  .object({
    ip: text(overlayAddressProblem),
    mac: text(neighborMacProblem),
  })
  .strict();

const vniShape = z
  .object({
    vni: intIn(1, VNI_MAX, 'VNI'),
    endpoints: z.array(interfaceName).min(1, 'at least one endpoint interface is required'),
    peers: z.array(underlayAddress).default([]),
    fdb: fdbList.default([]),
    neighbors: z.array(neighborSchema).default([]),
    learning: flag().default(D.vni.learning),
    allowUnknownPeers: flag().default(D.vni.allowUnknownPeers),
    proxyArp: flag().optional(),
    ageingSeconds: intIn(0, 0xffffffff).default(D.vni.ageingSeconds),
    maxLearned: intIn(0, CAPACITY_MAX, 'maxLearned').optional(),
    endpointXdp: oneOf(ENDPOINT_XDP).default(D.vni.endpointXdp),
  })
  .strict();
const vniSchema = vniShape.superRefine(vniRules);

const metricsSchema = z
  .object({
    enabled: flag().default(D.metrics.enabled),
    listen: text((v) => {
      const parsed = parseListen(v);
      return typeof parsed === 'string' ? parsed : null;
    }).default(D.metrics.listen),
    maxVniSeries: intIn(0, VNI_MAX).default(D.metrics.maxVniSeries),
  })
  .strict();

const stateSchema = z
  .object({ pinDir: text(pinDirProblem).default(D.state.pinDir) })
  .strict();

const capacity = (fallback: number) => intIn(1, CAPACITY_MAX).default(fallback);
export const capacitySchema = z
  .object({
    vnis: capacity(D.capacity.vnis),
    endpoints: capacity(D.capacity.endpoints),
    peers: capacity(D.capacity.peers),
    fdb: capacity(D.capacity.fdb),
    neighbors: capacity(D.capacity.neighbors),
  })
  .strict();

/** http(s)://host:port of one etcd member; the client speaks gRPC over it. */
function etcdEndpointProblem(value: string): string | null {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return `${describeValue(value)} is not a URL (e.g. https://192.0.2.254:2379)`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `${describeValue(value)}: the scheme must be http or https`;
  if (u.pathname !== '/' || u.search || u.hash || u.username) return `${describeValue(value)}: only scheme://host:port, no path, query or user`;
  return null;
}

function absoluteFile(value: string): string | null {
  return posix.isAbsolute(value) && !value.includes('\0') ? null : `${describeValue(value)} is not an absolute path`;
}

function prefixProblem(value: string): string | null {
  if (!/^\/[\x21-\x7e]*\/$/.test(value) || value.includes('//')) return `${describeValue(value)} must start and end with / (printable ASCII, no //), e.g. /xvtep/v1/`;
  return null;
}

function nodeNameProblem(value: string): string | null {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(value) ? null : `${describeValue(value)} is not a node name (1..63 of A-Z a-z 0-9 . _ -, starting with a letter or digit)`;
}

const etcdShape = z
  .object({
    endpoints: z.array(text(etcdEndpointProblem)).min(1, 'at least one etcd endpoint is required'),
    caFile: text(absoluteFile).optional(),
    certFile: text(absoluteFile).optional(),
    keyFile: text(absoluteFile).optional(),
  })
  .strict();
const etcdSchema = etcdShape.superRefine(etcdRules);

const clusterShape = z
  .object({
    etcd: etcdSchema,
    prefix: text(prefixProblem).default(D.cluster.prefix),
    nodeName: text(nodeNameProblem).optional(),
    leaseTtlSeconds: intIn(2, 3600, 'lease TTL').default(D.cluster.leaseTtlSeconds),
  })
  .strict();

const configShape = z
  .object({
    underlay: underlaySchema,
    vnis: z.array(vniSchema).min(1, 'at least one VNI is required'),
    metrics: metricsSchema.default({}),
    state: stateSchema.default({}),
    capacity: capacitySchema.default({}),
    cluster: clusterShape.optional(),
  })
  .strict();
export const configSchema = configShape.superRefine(configRules);

// Types come from the shapes, not the refined schemas: the rules are typed by
// them, and deriving them from the refined schemas would be circular.
/** The file after schema validation: defaults filled, values not yet canonical. */
export type RawConfig = z.output<typeof configShape>;
export type RawUnderlay = z.output<typeof underlayShape>;
export type RawVni = z.output<typeof vniShape>;
export type RawFdbEntry = z.output<typeof fdbEntryShape>;
export type RawEtcd = z.output<typeof etcdShape>;
/** What a config file may contain, as TypeScript sees it (for code that generates one). */
export type ConfigInput = z.input<typeof configSchema>;
