// A schema-valid file → the canonical, frozen Config. Runs only when the
// schema reported nothing, so every value here is known to parse.
import { hostname } from 'node:os';
import { posix } from 'node:path';
import { normalizeMac, parseIp, parseListen, type IpAddress, type ListenAddress } from './addresses.js';
import type { RawConfig, RawVni } from './schema.js';
import { defaultMaxLearned } from './learn.js';
import type { Config, FdbEntry, IpFamily, VniConfig } from './types.js';

function ip(text: string): IpAddress {
  const parsed = parseIp(text);
  if (!parsed) throw new Error(`internal: ${text} passed validation but is not an IP address`);
  return parsed;
}

function mac(text: string): string {
  const parsed = normalizeMac(text);
  if (parsed === null) throw new Error(`internal: ${text} passed validation but is not a MAC`);
  return parsed;
}

function underlayFamily(raw: RawConfig): IpFamily | null {
  if (raw.underlay.address !== undefined) return ip(raw.underlay.address).family;
  for (const v of raw.vnis) {
    const first = v.peers[0] ?? v.fdb.find((e) => e.remote !== undefined)?.remote;
    if (first !== undefined) return ip(first).family;
  }
  return null;
}

function vni(v: RawVni, fdbCapacity: number): VniConfig {
  return {
    vni: v.vni,
    endpoints: [...v.endpoints],
    peers: v.peers.map((p) => ip(p).text),
    // Frozen here, so deepFreeze stops at the list instead of walking 100k entries.
    fdb: Object.freeze(v.fdb.map(
      (e): FdbEntry => Object.freeze(
        e.remote !== undefined
          ? { kind: 'remote', mac: mac(e.mac), remote: ip(e.remote).text }
          : { kind: 'local', mac: mac(e.mac), endpoint: e.endpoint ?? '' },
      ),
    )),
    neighbors: v.neighbors.map((n) => {
      const addr = ip(n.ip);
      return { ip: addr.text, family: addr.family, mac: mac(n.mac) };
    }),
    learning: v.learning,
    allowUnknownPeers: v.allowUnknownPeers,
    // Static neighbors exist to be answered; without them there is nothing to proxy.
    proxyArp: v.proxyArp ?? v.neighbors.length > 0,
    ageingSeconds: v.ageingSeconds,
    maxLearned: v.maxLearned ?? defaultMaxLearned(fdbCapacity),
    endpointXdp: v.endpointXdp,
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

export function normalizeConfig(raw: RawConfig): Config {
  const u = raw.underlay;
  const listen = parseListen(raw.metrics.listen) as ListenAddress;
  const pinDir = posix.normalize(raw.state.pinDir).replace(/\/+$/, '');
  return deepFreeze<Config>({
    underlay: {
      interface: u.interface,
      address: u.address !== undefined ? ip(u.address).text : null,
      family: underlayFamily(raw),
      port: u.port,
      srcPortMin: u.srcPortMin,
      srcPortMax: u.srcPortMax,
      xdpMode: u.xdpMode,
      tcMode: u.tcMode,
      ttl: u.ttl,
      tos: u.tos,
      df: u.df,
      udpChecksumV6: u.udpChecksumV6,
      udpZeroChecksumRxV6: u.udpZeroChecksumRxV6,
      mtu: u.mtu ?? null,
    },
    vnis: raw.vnis.map((v) => vni(v, raw.capacity.fdb)),
    metrics: { enabled: raw.metrics.enabled, listen: { host: listen.host, port: listen.port }, maxVniSeries: raw.metrics.maxVniSeries },
    state: { pinDir },
    capacity: { ...raw.capacity },
    cluster: raw.cluster === undefined ? null : {
      etcd: {
        endpoints: [...raw.cluster.etcd.endpoints],
        caFile: raw.cluster.etcd.caFile ?? null,
        certFile: raw.cluster.etcd.certFile ?? null,
        keyFile: raw.cluster.etcd.keyFile ?? null,
      },
      prefix: raw.cluster.prefix,
      nodeName: raw.cluster.nodeName ?? hostname(),
      leaseTtlSeconds: raw.cluster.leaseTtlSeconds,
    },
  });
}
