// Domain records over the data path maps: what the control plane reads and
// writes, in the words of `bridge fdb` rather than bytes. Every read goes to
// the kernel; nothing here caches.
import { BpfMap, UpdateFlag, formatIPv4, formatIPv6, macInto, type UpdateFlagValue } from '../bpf/index.js';
import {
  AF_INET, AF_INET6, BUM_MAX_LOCAL, BUM_MAX_REMOTE4, BUM_MAX_REMOTE6, FdbFlag, VniFlag, addrBytes, familyOf, formatAddr,
  type FdbEntryValue, type FdbKey, type VniInfo,
  addrKeyCodec, bumCodec, epInfoCodec, neighValCodec, peerValCodec, vniInfoCodec,
} from './layout.js';
import type { ValueOf } from '../bpf/index.js';

export interface VniSettings {
  learning: boolean;
  allowUnknownPeers: boolean;
  proxyArp: boolean;
  proxyNd: boolean;
  /** Row of xv_stats holding this VNI's counters. */
  statsSlot: number;
  /** Cap on the VNI's learned FDB entries; 0 or absent = none. */
  maxLearned?: number;
}

/** A VNI's learned entries as the data path counts them, and its cap. */
export interface LearnCount { vni: number; learned: number; max: number }

export type FdbDest = { kind: 'remote'; remote: string } | { kind: 'local'; ifindex: number };

export interface FdbRecord {
  vni: number;
  mac: string;
  dest: FdbDest;
  /** Installed by the control plane; the data path never overwrites it. */
  static: boolean;
  /** CLOCK_MONOTONIC ns of the last learn/refresh (learned entries). */
  updatedNs: number;
}

export interface PeerRecord { vni: number; address: string }
export interface NeighborRecord { vni: number; ip: string; mac: string }
export interface EndpointRecord { ifindex: number; vni: number }
/** What xv_ep and xv_peer values copy from their VNI. */
export interface VniCopy { statsSlot: number; flags: number }
export interface FloodList { vni: number; remotes: string[]; locals: number[] }

export function vniInfoOf(s: VniSettings): VniInfo {
  const flags = (s.learning ? 0 : VniFlag.NO_LEARN) | (s.allowUnknownPeers ? VniFlag.ALLOW_UNKNOWN_PEER : 0) |
    (s.proxyArp ? VniFlag.PROXY_ARP : 0) | (s.proxyNd ? VniFlag.PROXY_ND : 0);
  return { statsSlot: s.statsSlot, flags, learnMax: s.maxLearned ?? 0, learned: 0 };
}

export function vniSettingsOf(v: VniInfo): VniSettings {
  return {
    learning: (v.flags & VniFlag.NO_LEARN) === 0,
    allowUnknownPeers: (v.flags & VniFlag.ALLOW_UNKNOWN_PEER) !== 0,
    proxyArp: (v.flags & VniFlag.PROXY_ARP) !== 0,
    proxyNd: (v.flags & VniFlag.PROXY_ND) !== 0,
    statsSlot: v.statsSlot,
    maxLearned: v.learnMax,
  };
}

export class VniTable {
  constructor(readonly map: BpfMap<number, VniInfo>) {}
  get(vni: number): VniSettings | undefined {
    const v = this.map.get(vni);
    return v && vniSettingsOf(v);
  }
  /**
   * Writes a VNI's settings and keeps its learned count (the data path's
   * increments between the read and the write are lost; the next ageing
   * sweep recounts).
   */
  set(vni: number, s: VniSettings, flags: UpdateFlagValue = UpdateFlag.ANY): void {
    const learned = this.map.get(vni)?.learned ?? 0;
    this.map.set(vni, { ...vniInfoOf(s), learned }, flags);
  }
  /** Learned count and cap of every VNI. */
  learnCounts(): LearnCount[] {
    return this.map.lookupBatch().map(([vni, v]) => ({ vni, learned: v.learned, max: v.learnMax }));
  }
  /**
   * Sets each VNI's learned count to `counts` (missing = 0), rewriting only
   * those that differ. Returns the total.
   */
  setLearned(counts: ReadonlyMap<number, number>): number {
    let total = 0;
    for (const [vni, v] of this.map.lookupBatch()) {
      const n = counts.get(vni) ?? 0;
      total += n;
      if (v.learned !== n) this.map.set(vni, { ...v, learned: n }, UpdateFlag.EXIST);
    }
    return total;
  }
  delete(vni: number): boolean {
    return this.map.delete(vni);
  }
  list(): Map<number, VniSettings> {
    return new Map(this.map.lookupBatch().map(([k, v]) => [k, vniSettingsOf(v)]));
  }
  /**
   * Every VNI in VNI order with its stats slot, learned count and cap, as
   * columns: what a scrape needs of 4096 VNIs. Objects per VNI (the learn
   * counts' [key, value] pairs, records and a Map) lived through the whole
   * scrape, so its scavenges kept them, and surviving bytes are what V8
   * grows the young generation by (31 scrapes in one process: 16 MB of new
   * space with them, 8-12 MB without; 18:30, loaded).
   */
  rowsByVni(): VniRows {
    const cap = this.map.info.maxEntries, vs = this.map.info.valueSize;
    const { statsSlot, learnMax, learned } = vniInfoCodec.offsets;
    const vni = new Uint32Array(cap), slot = new Uint32Array(cap), learnedAt = new Uint32Array(cap), maxAt = new Uint32Array(cap);
    let n = 0;
    this.map.forEachBatch((keys, values, count) => {
      for (let i = 0; i < count && n < cap; i++, n++) {
        const o = i * vs;
        vni[n] = keys.readUInt32LE(i * 4);
        slot[n] = values.readUInt32LE(o + statsSlot);
        maxAt[n] = values.readUInt32LE(o + learnMax);
        learnedAt[n] = values.readUInt32LE(o + learned);
      }
    });
    // A hash walk comes in bucket order: sort vni * 2^24 + walk index (exact in a double) and permute.
    const order = new Float64Array(n);
    for (let i = 0; i < n; i++) order[i] = vni[i]! * SLOT_SPAN + i;
    order.sort();
    const rows: VniRows = { length: n, vni: new Uint32Array(n), slot: new Uint32Array(n), learned: new Uint32Array(n), max: new Uint32Array(n) };
    for (let k = 0; k < n; k++) {
      const i = order[k]! % SLOT_SPAN;
      rows.vni[k] = vni[i]!;
      rows.slot[k] = slot[i]!;
      rows.learned[k] = learnedAt[i]!;
      rows.max[k] = maxAt[i]!;
    }
    return rows;
  }
}

/** VniTable.rowsByVni(): column k of each array is the k-th VNI in VNI order. */
export interface VniRows {
  length: number;
  vni: Uint32Array;
  slot: Uint32Array;
  learned: Uint32Array;
  max: Uint32Array;
}

/** Stats slots are below 2^24 (one per VNI at most); packed with a 24-bit VNI the pair stays exact in a double. */
export const SLOT_SPAN = 2 ** 24;

const NO_REMOTE = Buffer.alloc(16);

export function fdbKeyOf(vni: number, mac: string): FdbKey {
  return { vni, mac };
}

export function fdbValueOf(r: Pick<FdbRecord, 'dest' | 'static' | 'updatedNs'>): FdbEntryValue {
  const flags = (r.static ? FdbFlag.STATIC : 0) | (r.dest.kind === 'local' ? FdbFlag.LOCAL : 0);
  if (r.dest.kind === 'local') {
    return { remote: NO_REMOTE, ifindex: r.dest.ifindex, family: 0, flags, updatedNs: r.updatedNs };
  }
  return { remote: addrBytes(r.dest.remote), ifindex: 0, family: familyOf(r.dest.remote), flags, updatedNs: r.updatedNs };
}

export function fdbRecordOf(k: FdbKey, v: FdbEntryValue): FdbRecord {
  const dest: FdbDest = (v.flags & FdbFlag.LOCAL) !== 0
    ? { kind: 'local', ifindex: v.ifindex }
    : { kind: 'remote', remote: formatAddr(v.remote, v.family) };
  return { vni: k.vni, mac: k.mac, dest, static: (v.flags & FdbFlag.STATIC) !== 0, updatedNs: v.updatedNs };
}

/** Entries per batch syscall when writing or deleting many. */
const FDB_CHUNK = 65536;
const FDB_KEY = 12, FDB_VALUE = 32;

/** Key bytes of struct xv_fdb_key (fdbKeyCodec) at `o`: vni, mac, 2 bytes of padding left zero. */
function fdbKeyInto(vni: number, mac: string, b: Buffer, o: number): void {
  b.writeUInt32LE(vni, o);
  macInto(mac, b, o + 4);
}

/** Value bytes of struct xv_fdb_entry (fdbEntryCodec) at `o`; padding left zero. */
function fdbValueInto(r: Pick<FdbRecord, 'dest' | 'static' | 'updatedNs'>, b: Buffer, o: number): void {
  const local = r.dest.kind === 'local';
  if (local) b.writeUInt32LE((r.dest as { ifindex: number }).ifindex, o + 16);
  else {
    const remote = (r.dest as { remote: string }).remote;
    addrBytes(remote).copy(b, o);
    b[o + 20] = familyOf(remote);
  }
  b[o + 21] = (r.static ? FdbFlag.STATIC : 0) | (local ? FdbFlag.LOCAL : 0);
  b.writeUInt32LE(r.updatedNs % 0x100000000, o + 24);
  b.writeUInt32LE(Math.floor(r.updatedNs / 0x100000000), o + 28);
}

export class FdbTable {
  constructor(readonly map: BpfMap<FdbKey, FdbEntryValue>) {}
  get(vni: number, mac: string): FdbRecord | undefined {
    const k = fdbKeyOf(vni, mac);
    const v = this.map.get(k);
    return v && fdbRecordOf(k, v);
  }
  set(r: FdbRecord, flags: UpdateFlagValue = UpdateFlag.ANY): void {
    this.map.set(fdbKeyOf(r.vni, r.mac), fdbValueOf(r), flags);
  }
  /**
   * Encoded straight into the batch buffers (xv_fdb's layout, which
   * test/datapath/layout.test.ts holds to the codecs): a reload of 100k
   * entries would otherwise build 300k short-lived objects on the way.
   */
  setMany(rs: readonly FdbRecord[]): number {
    const chunk = Math.min(FDB_CHUNK, rs.length);
    const keys = Buffer.alloc(FDB_KEY * chunk), values = Buffer.alloc(FDB_VALUE * chunk);
    let done = 0;
    for (let i = 0; i < rs.length; i += chunk) {
      const n = Math.min(chunk, rs.length - i);
      keys.fill(0);
      values.fill(0);
      for (let j = 0; j < n; j++) {
        const r = rs[i + j]!;
        fdbKeyInto(r.vni, r.mac, keys, j * FDB_KEY);
        fdbValueInto(r, values, j * FDB_VALUE);
      }
      done += this.map.updateBatchRaw(keys, values, n);
    }
    return done;
  }
  delete(vni: number, mac: string): boolean {
    return this.map.delete(fdbKeyOf(vni, mac));
  }
  deleteMany(ks: ReadonlyArray<{ vni: number; mac: string }>): number {
    const chunk = Math.min(FDB_CHUNK, ks.length);
    const keys = Buffer.alloc(FDB_KEY * chunk);
    let done = 0;
    for (let i = 0; i < ks.length; i += chunk) {
      const n = Math.min(chunk, ks.length - i);
      keys.fill(0);
      for (let j = 0; j < n; j++) fdbKeyInto(ks[i + j]!.vni, ks[i + j]!.mac, keys, j * FDB_KEY);
      done += this.map.deleteBatchRaw(keys, n);
    }
    return done;
  }
  /**
   * The whole table in one batch walk, decoded straight from the kernel's
   * bytes: the generic codecs cost ~3 us an entry, a third of a second at
   * 100k entries, and reconcile reads it whole.
   */
  list(): FdbRecord[] {
    const out: FdbRecord[] = [];
    const remotes = new Map<number, FdbDest>();
    this.map.forEachBatch((keys, values, n) => {
      for (let i = 0; i < n; i++) out.push(fdbRecordAt(keys, i * FDB_KEY, values, i * FDB_VALUE, remotes));
    });
    return out;
  }
  /**
   * Learned entries not refreshed for longer than their VNI's ageing time
   * (seconds; 0 = never), from one batch walk: only those are decoded, so a
   * daemon sweeping 100k static entries every 30 s builds nothing for them.
   */
  learnedOlderThan(ageingSeconds: (vni: number) => number, nowNs: number, kept?: Map<number, number>): FdbRecord[] {
    const out: FdbRecord[] = [];
    const remotes = new Map<number, FdbDest>();
    this.map.forEachBatch((keys, values, n) => {
      for (let i = 0; i < n; i++) {
        const k = i * FDB_KEY, o = i * FDB_VALUE;
        if ((values[o + 21]! & FdbFlag.STATIC) !== 0) continue;
        const vni = keys.readUInt32LE(k);
        const age = ageingSeconds(vni);
        const updatedNs = values.readUInt32LE(o + 24) + values.readUInt32LE(o + 28) * 0x100000000;
        if (age > 0 && nowNs - updatedNs > age * 1e9) out.push(fdbRecordAt(keys, k, values, o, remotes));
        else if (kept) kept.set(vni, (kept.get(vni) ?? 0) + 1);
      }
    });
    return out;
  }
}

/**
 * The record of the entry at key offset k and value offset o. Entries behind
 * the same IPv4 VTEP share one frozen dest (a VTEP has few remotes, 100k entries).
 */
function fdbRecordAt(keys: Buffer, k: number, values: Buffer, o: number, remotes: Map<number, FdbDest>): FdbRecord {
  const flags = values[o + 21]!;
  let dest: FdbDest;
  if ((flags & FdbFlag.LOCAL) !== 0) dest = { kind: 'local', ifindex: values.readUInt32LE(o + 16) };
  else if (values[o + 20] === AF_INET) {
    const a = values.readUInt32BE(o);
    dest = remotes.get(a) ?? Object.freeze({ kind: 'remote' as const, remote: formatIPv4(values, o) });
    remotes.set(a, dest);
  } else dest = { kind: 'remote', remote: formatIPv6(values, o) };
  return {
    vni: keys.readUInt32LE(k),
    mac: `${HEX[keys[k + 4]!]}:${HEX[keys[k + 5]!]}:${HEX[keys[k + 6]!]}:${HEX[keys[k + 7]!]}:${HEX[keys[k + 8]!]}:${HEX[keys[k + 9]!]}`,
    dest,
    static: (flags & FdbFlag.STATIC) !== 0,
    updatedNs: values.readUInt32LE(o + 24) + values.readUInt32LE(o + 28) * 0x100000000,
  };
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

type AddrKey = ValueOf<typeof addrKeyCodec>;

export function addrKeyOf(vni: number, address: string): AddrKey {
  return { vni, family: familyOf(address), addr: addrBytes(address) };
}

function addressOf(k: AddrKey): string {
  return formatAddr(k.addr, k.family);
}

/**
 * Peers and endpoints carry a copy of their VNI's stats slot and flags so the
 * hot path needs one lookup, not two. Writers pass the VNI's current info;
 * Datapath.setVni() rewrites the copies when a VNI changes.
 */
export class PeerTable {
  constructor(readonly map: BpfMap<AddrKey, ValueOf<typeof peerValCodec>>) {}
  has(vni: number, address: string): boolean {
    return this.map.has(addrKeyOf(vni, address));
  }
  add(vni: number, address: string, info: VniInfo): void {
    this.map.set(addrKeyOf(vni, address), { statsSlot: info.statsSlot, vniFlags: info.flags });
  }
  addMany(ps: readonly PeerRecord[], infoOf: (vni: number) => VniInfo): number {
    return this.map.updateBatch(ps.map((p) => {
      const i = infoOf(p.vni);
      return [addrKeyOf(p.vni, p.address), { statsSlot: i.statsSlot, vniFlags: i.flags }] as const;
    }));
  }
  delete(vni: number, address: string): boolean {
    return this.map.delete(addrKeyOf(vni, address));
  }
  deleteMany(ps: readonly PeerRecord[]): number {
    return this.map.deleteBatch(ps.map((p) => addrKeyOf(p.vni, p.address)));
  }
  list(): PeerRecord[] {
    return this.map.lookupBatch().map(([k]) => ({ vni: k.vni, address: addressOf(k) }));
  }
  /** Every peer with the VNI slot and flags copied into it. */
  listWithCopies(): Array<PeerRecord & { copy: VniCopy }> {
    return this.map.lookupBatch().map(([k, v]) => ({ vni: k.vni, address: addressOf(k), copy: { statsSlot: v.statsSlot, flags: v.vniFlags } }));
  }
}

export class NeighborTable {
  constructor(readonly map: BpfMap<AddrKey, ValueOf<typeof neighValCodec>>) {}
  get(vni: number, ip: string): string | undefined {
    return this.map.get(addrKeyOf(vni, ip))?.mac;
  }
  set(n: NeighborRecord): void {
    this.map.set(addrKeyOf(n.vni, n.ip), { mac: n.mac });
  }
  setMany(ns: readonly NeighborRecord[]): number {
    return this.map.updateBatch(ns.map((n) => [addrKeyOf(n.vni, n.ip), { mac: n.mac }] as const));
  }
  delete(vni: number, ip: string): boolean {
    return this.map.delete(addrKeyOf(vni, ip));
  }
  deleteMany(ns: ReadonlyArray<{ vni: number; ip: string }>): number {
    return this.map.deleteBatch(ns.map((n) => addrKeyOf(n.vni, n.ip)));
  }
  list(): NeighborRecord[] {
    return this.map.lookupBatch().map(([k, v]) => ({ vni: k.vni, ip: addressOf(k), mac: v.mac }));
  }
}

export class EndpointTable {
  constructor(readonly map: BpfMap<number, ValueOf<typeof epInfoCodec>>) {}
  get(ifindex: number): number | undefined {
    return this.map.get(ifindex)?.vni;
  }
  set(ifindex: number, vni: number, info: VniInfo): void {
    this.map.set(ifindex, { vni, statsSlot: info.statsSlot, vniFlags: info.flags });
  }
  delete(ifindex: number): boolean {
    return this.map.delete(ifindex);
  }
  list(): EndpointRecord[] {
    return this.map.lookupBatch().map(([ifindex, v]) => ({ ifindex, vni: v.vni }));
  }
  /** Every endpoint with the VNI slot and flags copied into it. */
  listWithCopies(): Array<EndpointRecord & { copy: VniCopy }> {
    return this.map.lookupBatch().map(([ifindex, v]) => ({ ifindex, vni: v.vni, copy: { statsSlot: v.statsSlot, flags: v.vniFlags } }));
  }
}

/** Head-end replication lists; a whole list is replaced in one update. */
export class FloodTable {
  constructor(readonly map: BpfMap<number, ValueOf<typeof bumCodec>>) {}

  static encode(f: FloodList): ValueOf<typeof bumCodec> {
    const v4 = f.remotes.filter((r) => familyOf(r) === AF_INET);
    const v6 = f.remotes.filter((r) => familyOf(r) === AF_INET6);
    if (v4.length > BUM_MAX_REMOTE4 || v6.length > BUM_MAX_REMOTE6 || f.locals.length > BUM_MAX_LOCAL) {
      throw new RangeError(`VNI ${f.vni}: flood list holds at most ${BUM_MAX_REMOTE4} IPv4 peers, ` +
        `${BUM_MAX_REMOTE6} IPv6 peers and ${BUM_MAX_LOCAL} endpoints (got ${v4.length}, ${v6.length}, ${f.locals.length})`);
    }
    return {
      nRemote4: v4.length, nRemote6: v6.length, nLocal: f.locals.length,
      remote4: v4.map((r) => addrBytes(r).subarray(0, 4)),
      remote6: v6.map((r) => addrBytes(r)),
      local: [...f.locals],
    };
  }

  static decode(vni: number, v: ValueOf<typeof bumCodec>): FloodList {
    return {
      vni,
      remotes: [
        ...v.remote4.slice(0, v.nRemote4).map((b) => formatAddr(b, AF_INET)),
        ...v.remote6.slice(0, v.nRemote6).map((b) => formatAddr(b, AF_INET6)),
      ],
      locals: v.local.slice(0, v.nLocal),
    };
  }

  get(vni: number): FloodList | undefined {
    const v = this.map.get(vni);
    return v && FloodTable.decode(vni, v);
  }
  set(f: FloodList): void {
    this.map.set(f.vni, FloodTable.encode(f));
  }
  delete(vni: number): boolean {
    return this.map.delete(vni);
  }
  list(): FloodList[] {
    return this.map.lookupBatch().map(([vni, v]) => FloodTable.decode(vni, v));
  }
}

