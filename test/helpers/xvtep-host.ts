// Programs xvtep for one namespace-lab host directly through src/datapath,
// without the manager: one Datapath.load() per host (each has its own maps),
// every map written consistently inside the host's netns, then attached.
//
// What "consistently" means here (bpf/include/xvtep_maps.h):
//  - each VNI gets its own stats slot (1, 2, ...), and its endpoints and peers
//    carry copies of that slot and of the VNI's flags;
//  - every endpoint is in xv_devs (XDP unicast redirects) and in its VNI's
//    flood ports (xv_bcast inner devmap, XDP BUM) and flood list locals
//    (xv_bum, TC BUM); the flood list's remotes default to the VNI's peers;
//  - devmaps and attach resolve interface names in the calling thread's
//    netns, so all of it runs inside lab.in(ns, ...);
//  - xv_gen is bumped last, after everything that could alter a decision.
//
// XVTEP_TEST_BPF_OBJECT=<path> loads another build of the object (default:
// build/bpf/xvtep.bpf.o of this checkout).
import { ifindexOf } from '../../src/bpf/index.js';
import {
  DEFAULT_TC, Datapath, NetlinkHook, attachEndpoint, attachUnderlay, familyOf, vniInfoOf,
  type Attachment, type EndpointXdp, type FdbRecord, type StatsValue, type UnderlayMode, type VniSettings, type VtepSettings,
} from '../../src/datapath/index.js';
import type { Lab } from './lab.js';
import { forcedTcMode } from './tcmode.js';

export type FdbSpec = { mac: string; remote: string } | { mac: string; endpoint: string };

export interface VniSpec {
  vni: number;
  /** Host-side interface names (in the host's netns) of the VNI's endpoints. */
  endpoints: string[];
  /** Remote VTEPs allowed to send for this VNI (xv_peer). */
  peers?: string[];
  /** Remote VTEPs BUM is replicated to (xv_bum); default: peers. */
  flood?: string[];
  learning?: boolean;
  allowUnknownPeers?: boolean;
  proxyArp?: boolean;
  proxyNd?: boolean;
  /** Static FDB entries. */
  fdb?: FdbSpec[];
  /** Proxy ARP/ND entries (xv_neigh). */
  neighbors?: Array<{ ip: string; mac: string }>;
}

export interface XvtepHostSpec {
  lab: Lab;
  ns: string;
  /** Underlay interface name in ns. */
  underlay: string;
  /** Local VTEP address (its family is the underlay's). */
  localAddress: string;
  port?: number;
  underlayMode?: UnderlayMode;
  endpointXdp?: EndpointXdp;
  /** Overrides of the VTEP-wide settings. */
  settings?: Partial<VtepSettings>;
  vnis: VniSpec[];
  /**
   * Add `ip neigh ... managed` entries for every peer on the underlay (the
   * kernel resolves and keeps them resolved), as bpf/README.md recommends.
   * Default true. Without them the first BUM frame reaches only one of the
   * peers whose next hop is unresolved (the others count flood_skipped).
   */
  managedNeighbours?: boolean;
}

export interface XvtepVni {
  vni: number;
  slot: number;
  settings: VniSettings;
  /** Endpoint name -> ifindex (in the host's netns). */
  endpoints: Map<string, number>;
}

export interface XvtepHost {
  dp: Datapath;
  ns: string;
  localAddress: string;
  underlayIfindex: number;
  vnis: Map<number, XvtepVni>;
  attachments: Attachment[];
  /** What attach changed (forwarding, GRO), for the test log. */
  notes: string[];
  ifindex(endpoint: string): number;
  /** The VNI's counters, summed over CPUs. */
  stats(vni: number): StatsValue;
  /** FDB entries of a VNI (all of them, or only learned ones). */
  fdb(vni: number, opts?: { learnedOnly?: boolean }): FdbRecord[];
  /** Re-writes xv_config with changed settings (bumps the generation). */
  reconfigure(s: Partial<VtepSettings>): void;
  close(): void;
}

function underlayMtuOf(lab: Lab, ns: string, iface: string): number {
  return Number(lab.exec(ns, 'cat', `/sys/class/net/${iface}/mtu`).trim());
}

export async function startXvtep(spec: XvtepHostSpec): Promise<XvtepHost> {
  const { lab, ns } = spec;
  const family = familyOf(spec.localAddress);
  const dp = await Datapath.load({ objectPath: process.env.XVTEP_TEST_BPF_OBJECT || undefined });
  const attachments: Attachment[] = [];
  const vnis = new Map<number, XvtepVni>();
  let settings: VtepSettings;
  try {
    const mtu = underlayMtuOf(lab, ns, spec.underlay);
    lab.in(ns, () => {
      const underlayIfindex = ifindexOf(spec.underlay);
      settings = {
        underlayIfindex, port: spec.port ?? 4789, localAddress: spec.localAddress, underlayMtu: mtu,
        srcPortMin: 0, srcPortMax: 0, ttl: 0, tos: 0, tosInherit: false, df: 'unset', udp6ZeroChecksum: false,
        fdbRefreshMs: 0, epChecksumComplete: false, nhCacheMs: 0, ...spec.settings,
      };
      dp.configure(settings);
      spec.vnis.forEach((v, i) => {
        const s: VniSettings = {
          learning: v.learning ?? true, allowUnknownPeers: v.allowUnknownPeers ?? false,
          proxyArp: v.proxyArp ?? false, proxyNd: v.proxyNd ?? false, statsSlot: i + 1,
        };
        dp.vnis.set(v.vni, s);
        const info = vniInfoOf(s);
        const eps = new Map<string, number>();
        for (const name of v.endpoints) {
          const ifindex = ifindexOf(name);
          eps.set(name, ifindex);
          dp.endpoints.set(ifindex, v.vni, info);
          dp.devs.set(ifindex, ifindex);
        }
        for (const p of v.peers ?? []) dp.peers.add(v.vni, p, info);
        dp.flood.set({ vni: v.vni, remotes: v.flood ?? v.peers ?? [], locals: [...eps.values()] });
        dp.setFloodPorts(v.vni, [...eps.values()]);
        for (const f of v.fdb ?? []) {
          dp.fdb.set({
            vni: v.vni, mac: f.mac, static: true, updatedNs: 0,
            dest: 'remote' in f ? { kind: 'remote', remote: f.remote } : { kind: 'local', ifindex: ifindexOf(f.endpoint) },
          });
        }
        for (const n of v.neighbors ?? []) dp.neighbors.set({ vni: v.vni, ip: n.ip, mac: n.mac });
        vnis.set(v.vni, { vni: v.vni, slot: s.statsSlot, settings: s, endpoints: eps });
      });
      dp.bumpGeneration();
      if (spec.managedNeighbours ?? true) {
        const peers = new Set(spec.vnis.flatMap((v) => [...(v.peers ?? []), ...(v.flood ?? [])]));
        for (const p of peers) lab.exec(ns, 'ip', 'neigh', 'replace', p, 'dev', spec.underlay, 'managed');
      }
      const tc = { ...DEFAULT_TC, mode: forcedTcMode ?? DEFAULT_TC.mode };
      attachments.push(attachUnderlay(dp, spec.underlay, spec.underlayMode ?? 'native', family === 6 ? 6 : 4, tc));
      for (const v of spec.vnis) {
        for (const name of v.endpoints) attachments.push(attachEndpoint(dp, name, { xdp: spec.endpointXdp ?? 'none', tc }));
      }
    });
  } catch (e) {
    release(lab, ns, attachments);
    dp.close();
    throw e;
  }
  const host: XvtepHost = {
    dp, ns, localAddress: spec.localAddress, underlayIfindex: settings!.underlayIfindex, vnis, attachments,
    notes: attachments.flatMap((a) => a.notes),
    ifindex(endpoint) {
      for (const v of vnis.values()) {
        const i = v.endpoints.get(endpoint);
        if (i !== undefined) return i;
      }
      throw new Error(`${endpoint} is not an endpoint of ${ns}`);
    },
    stats(vni) {
      const v = vnis.get(vni);
      if (!v) throw new Error(`VNI ${vni} is not configured on ${ns}`);
      return dp.readStats(v.slot);
    },
    fdb(vni, opts = {}) {
      return dp.fdb.list().filter((r) => r.vni === vni && (!opts.learnedOnly || !r.static));
    },
    reconfigure(s) {
      settings = { ...settings!, ...s };
      dp.configure(settings);
    },
    close() {
      release(lab, ns, attachments.splice(0));
      dp.close();
    },
  };
  return host;
}

/**
 * Detaches what closing does not: links go with their last fd, a netlink
 * filter stays on the interface until removed (in its namespace).
 */
function release(lab: Lab, ns: string, attachments: Attachment[]): void {
  for (const a of attachments) {
    for (const l of a.links.values()) {
      if (l instanceof NetlinkHook) {
        try {
          lab.in(ns, () => l.detach());
        } catch {
          // the interface (or the namespace) is gone, and the filter with it
        }
      }
      l.close();
    }
  }
}

/** The MAC of an interface, read inside its namespace. */
export function macOf(lab: Lab, ns: string, iface: string): string {
  return lab.exec(ns, 'cat', `/sys/class/net/${iface}/address`).trim();
}

/** An interface counter from /sys (inside the namespace). */
export function ifStat(lab: Lab, ns: string, iface: string, counter: 'rx_packets' | 'tx_packets' | 'rx_bytes' | 'tx_bytes'): number {
  return Number(lab.exec(ns, 'cat', `/sys/class/net/${iface}/statistics/${counter}`).trim());
}

