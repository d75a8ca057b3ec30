// The validated, normalized configuration the rest of xvtep consumes. Every
// default is filled in, so consumers never re-derive one; every value is in
// canonical text form so equal things compare equal as strings.
import type { IpFamily, ListenAddress } from './addresses.js';

export type { IpFamily, ListenAddress };

export type XdpMode = 'native' | 'skb';
/** How TC programs attach: auto prefers tcx (linux 6.6) where the kernel has it, else netlink clsact filters. */
export type TcMode = 'auto' | 'tcx' | 'netlink';
/**
 * XDP on a VNI's endpoint interfaces, beside the tcx program every endpoint
 * gets: `on` attaches xv_xdp_endpoint (small frames encapsulated in XDP),
 * `frags` its multi-buffer variant (endpoint MTU above a page), `off` tcx
 * only, `auto` decides per interface by its kind: XDP on everything but a
 * veth, whose peer loses TSO once any XDP program sits on the veth.
 */
export const ENDPOINT_XDP = ['off', 'on', 'frags', 'auto'] as const;
export type EndpointXdpSetting = (typeof ENDPOINT_XDP)[number];
/** IPv4 DF bit of the outer header: `inherit` copies it from the inner IPv4 header (kernel vxlan `df`). */
export type DfMode = 'unset' | 'set' | 'inherit';

export interface UnderlayConfig {
  /** The NIC carrying VXLAN; XDP attaches here. Required. */
  readonly interface: string;
  /** Local VTEP address; null: the manager takes the interface's first global address of `family` (or of any family when that is null too). */
  readonly address: string | null;
  /** Family of the whole underlay, from `address`, else from the peers/FDB remotes; null when the file names no underlay address at all. */
  readonly family: IpFamily | null;
  /** UDP destination port. Default 4789 (IANA). */
  readonly port: number;
  /** Lowest outer UDP source port (inclusive). Default 32768. */
  readonly srcPortMin: number;
  /** Highest outer UDP source port (inclusive). Default 60999: Linux's ip_local_port_range, which is also the kernel vxlan default. */
  readonly srcPortMax: number;
  /** XDP attach mode on `interface`. Default `native`. */
  readonly xdpMode: XdpMode;
  /** TC hooks: tcx links or netlink filters. Default `auto`. */
  readonly tcMode: TcMode;
  /** Outer TTL / hop limit, 1..255. Default 64. */
  readonly ttl: number;
  /** Outer TOS / traffic class 0..255, or `inherit` from the inner IP header. Default 0. */
  readonly tos: number | 'inherit';
  /** Outer IPv4 DF bit. Default `unset`. Ignored for an IPv6 underlay. */
  readonly df: DfMode;
  /** Compute the outer UDP checksum over IPv6. Default true. IPv4 always sends 0. */
  readonly udpChecksumV6: boolean;
  /**
   * Accept VXLAN over IPv6 with a zero outer UDP checksum (the kernel vxlan's
   * udp6zerocsumrx). Default false: dropped, as the kernel does. Non-zero
   * checksums are always verified.
   */
  readonly udpZeroChecksumRxV6: boolean;
  /** Underlay MTU override; null: read from the interface. */
  readonly mtu: number | null;
}

/** A static FDB entry: the MAC lives behind a remote VTEP, or behind one of this VNI's endpoints. */
export type FdbEntry =
  | { readonly kind: 'remote'; readonly mac: string; readonly remote: string }
  | { readonly kind: 'local'; readonly mac: string; readonly endpoint: string };

/** A proxy ARP (IPv4) / ND (IPv6) entry answered on the VNI's behalf. */
export interface NeighborEntry {
  readonly ip: string;
  readonly family: IpFamily;
  readonly mac: string;
}

export interface VniConfig {
  /** 1..16777215, unique in the file. */
  readonly vni: number;
  /** Local endpoint interfaces (host side), each bound to exactly one VNI. */
  readonly endpoints: readonly string[];
  /** Remote VTEPs: the flood list and the decap allow-list. Default []. */
  readonly peers: readonly string[];
  /** Static FDB entries. Default []. */
  readonly fdb: readonly FdbEntry[];
  /** Static proxy ARP/ND entries. Default []. */
  readonly neighbors: readonly NeighborEntry[];
  /** Learn inner source MACs from decapsulated packets. Default true. */
  readonly learning: boolean;
  /** Accept VXLAN from sources not in `peers`. Default false: the allow-list is on. */
  readonly allowUnknownPeers: boolean;
  /** Answer ARP/ND from `neighbors` instead of flooding (kernel vxlan `proxy`). Default: true iff `neighbors` is non-empty. */
  readonly proxyArp: boolean;
  /** Lifetime of learned FDB entries in seconds; 0: never expire. Default 300 (kernel vxlan `ageing`). */
  readonly ageingSeconds: number;
  /**
   * Learned FDB entries this VNI may hold; at the cap a new source MAC is not
   * learned (frames still flow, event learn_limit). 0: no per-VNI cap.
   * Default capacity.fdb / 16 (docs/reliability.md).
   */
  readonly maxLearned: number;
  /** XDP on this VNI's endpoints (see ENDPOINT_XDP). Default `auto`. */
  readonly endpointXdp: EndpointXdpSetting;
}

export interface MetricsConfig {
  /** Serve Prometheus metrics. Default true. */
  readonly enabled: boolean;
  /** Where GET /metrics is served. Default 127.0.0.1:9469. */
  readonly listen: ListenAddress;
  /** At most this many VNIs get per-VNI series; the rest are summed. Default 4096. */
  readonly maxVniSeries: number;
}

export interface StateConfig {
  /** bpffs directory holding pinned maps and links. Absolute, normalized. Default /sys/fs/bpf/xvtep. */
  readonly pinDir: string;
}

/** BPF map capacities (max_entries). What the file lists must fit. */
export interface CapacityConfig {
  /** VNIs. Default 4096. */
  readonly vnis: number;
  /** Endpoint interfaces over all VNIs. Default 4096. */
  readonly endpoints: number;
  /** (VNI, peer) pairs over all VNIs. Default 16384. */
  readonly peers: number;
  /** FDB entries, static and learned, over all VNIs. Default 65536. */
  readonly fdb: number;
  /** Proxy ARP/ND entries over all VNIs. Default 16384. */
  readonly neighbors: number;
}

/** Where the cluster's shared records live (docs/cluster.md). */
export interface EtcdConfig {
  /** http(s)://host:port of each etcd member, as written. */
  readonly endpoints: readonly string[];
  /** PEM files, absolute paths; null when not set. */
  readonly caFile: string | null;
  readonly certFile: string | null;
  readonly keyFile: string | null;
}

export interface ClusterConfig {
  readonly etcd: EtcdConfig;
  /** Key prefix, starting and ending with /. Default /xvtep/v1/. */
  readonly prefix: string;
  /** This node's name in the cluster. Default: the hostname. */
  readonly nodeName: string;
  /** TTL of the lease this node's records live under, 2..3600. Default 10. */
  readonly leaseTtlSeconds: number;
}

export interface Config {
  readonly underlay: UnderlayConfig;
  readonly vnis: readonly VniConfig[];
  readonly metrics: MetricsConfig;
  readonly state: StateConfig;
  readonly capacity: CapacityConfig;
  /** Peers, FDB and neighbours from etcd (src/cluster); null: the file alone. */
  readonly cluster: ClusterConfig | null;
}

/** Defaults for every optional key, in file form (what a user would write). */
export const CONFIG_DEFAULTS = {
  underlay: {
    port: 4789,
    srcPortMin: 32768,
    srcPortMax: 60999,
    xdpMode: 'native',
    tcMode: 'auto',
    ttl: 64,
    tos: 0,
    df: 'unset',
    udpChecksumV6: true,
    udpZeroChecksumRxV6: false,
  },
  vni: { learning: true, allowUnknownPeers: false, ageingSeconds: 300, endpointXdp: 'auto' },
  metrics: { enabled: true, listen: '127.0.0.1:9469', maxVniSeries: 4096 },
  state: { pinDir: '/sys/fs/bpf/xvtep' },
  capacity: { vnis: 4096, endpoints: 4096, peers: 16384, fdb: 65536, neighbors: 16384 },
  cluster: { prefix: '/xvtep/v1/', leaseTtlSeconds: 10 },
} as const;
