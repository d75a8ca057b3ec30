// The manager's picture of a data path: what each map should hold (or does
// hold, when read back), in domain words. Both the desired state (from a
// config file or a live edit) and the live state (read from the kernel) are
// `Tables`, so one diff serves reloads, `config diff` and CLI edits.
import type { FdbRecord, FloodList, NeighborRecord, PeerRecord, VniSettings, VtepSettings } from '../datapath/index.js';
import type { EndpointXdpSetting } from '../config/index.js';

export type { FdbRecord, FloodList, NeighborRecord, PeerRecord, VniSettings };
export type Settings = VtepSettings;

export interface EndpointEntry {
  ifindex: number;
  vni: number;
}

/** Everything the control plane owns in the maps. Keys are strings so Maps compare cheaply. */
export interface Tables {
  settings: Settings | undefined;
  vnis: Map<number, VniSettings>;
  endpoints: Map<number, EndpointEntry>;
  devs: Set<number>;
  peers: Map<string, PeerRecord>;
  neighbors: Map<string, NeighborRecord>;
  /** Static and (live only) learned entries. */
  fdb: Map<string, FdbRecord>;
  flood: Map<number, FloodList>;
  /** Local endpoints per VNI in the xv_bcast inner devmap. */
  floodPorts: Map<number, number[]>;
  /**
   * Live only: VNIs whose slot and flags copied into xv_ep or xv_peer differ
   * from xv_vni. Only an apply that died between writing the VNI and
   * rewriting the copies (SIGKILL: no journal runs) leaves this behind, and
   * a diff against the VNI alone would never see it.
   */
  staleCopies: Set<number>;
  /**
   * Desired only: the endpointXdp setting of each endpoint (by ifindex). Not
   * in any map: the attachments carry it (an endpoint-<iface>-xdp pin or
   * none). An endpoint missing here keeps what is live, or gets `auto` when
   * it is attached now (CLI edits, which start from the live state).
   */
  endpointXdp: Map<number, EndpointXdpSetting>;
}

export const fdbKey = (vni: number, mac: string): string => `${vni}|${mac}`;
export const addrKey = (vni: number, address: string): string => `${vni}|${address}`;

export function emptyTables(): Tables {
  return {
    settings: undefined, vnis: new Map(), endpoints: new Map(), devs: new Set(), peers: new Map(),
    neighbors: new Map(), fdb: new Map(), flood: new Map(), floodPorts: new Map(), staleCopies: new Set(), endpointXdp: new Map(),
  };
}

export const ZERO_MAC = '00:00:00:00:00:00';
