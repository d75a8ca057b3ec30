// The xvtep metric families, rendered in the Prometheus text format straight
// from the kernel at scrape time: every counter is the sum of the per-CPU
// rows in xv_stats as they are now, nothing is accumulated in JS between
// scrapes (a restarted manager therefore continues where the maps are).
// Written by hand rather than through prom-client objects: 4096 VNIs x a
// dozen series through label hashing would not fit a 50 ms scrape.
import { type Datapath, DROP_REASONS, EVENTS, GLOBAL_STATS_SLOT, LAYOUT_VERSION } from '../datapath/index.js';
import { UNDERLAY_CHANGES, type EndpointStates, type ManagerState, type UnderlayState } from '../reconcile/index.js';
import { CHUNK_BYTES, ChunkPool } from './chunks.js';
import { DROP0, EVENT0, RX_BYTES, RX_PACKETS, STAT_FIELDS, TX_BYTES, TX_PACKETS, countEntries, readStatsSums } from './read.js';

export interface RenderOptions {
  /** VNIs beyond this many (lowest first) are summed into vni="other". */
  maxVniSeries: number;
  state: ManagerState;
  /** What the daemon's endpoint watcher counts (null: no daemon watches). */
  endpoints: EndpointCounts | null;
  /** The daemon's underlay watcher record (null: no daemon watches). */
  underlay?: UnderlayState | null;
  version: string;
}

/** The two numbers a scrape shows of the endpoint watcher's record. */
export interface EndpointCounts {
  missing: number;
  reattachments: number;
}

export function endpointCountsOf(s: EndpointStates | null): EndpointCounts | null {
  return s && { missing: s.endpoints.filter((e) => e.state === 'missing').length, reattachments: s.reattachments };
}

/**
 * The exposition text, written as bytes straight into 64 KB chunks from a
 * pool. A 4096-VNI scrape has ~25k lines; built as strings (template, concat,
 * number to text) they were megabytes of garbage per scrape, and V8 grew the
 * daemon's heap by tens of megabytes to absorb it. The per-VNI lines are
 * therefore written from preencoded pieces and digits, allocating nothing;
 * the few dozen other lines are still strings.
 */
class Out {
  readonly #done: Buffer[] = [];
  #buf: Buffer;
  #len = 0;
  constructor(private readonly pool: ChunkPool) {
    this.#buf = pool.take();
  }
  /** Room for n more bytes in the current chunk. */
  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    this.#done.push(this.#buf.subarray(0, this.#len));
    // Nothing written today needs more than a chunk; a longer text gets a buffer of its own.
    this.#buf = n <= CHUNK_BYTES ? this.pool.take() : Buffer.allocUnsafeSlow(n);
    this.#len = 0;
  }
  #text(s: string): void {
    this.#room(s.length * 3); // UTF-8 worst case
    this.#len += this.#buf.write(s, this.#len, 'utf8');
  }
  #bytes(b: Buffer): void {
    b.copy(this.#buf, this.#len);
    this.#len += b.length;
  }
  /** A number as Prometheus text; integers (every counter) digit by digit. */
  #num(n: number): void {
    if (!(Number.isSafeInteger(n) && n >= 0)) {
      this.#len += this.#buf.write(String(n), this.#len, 'latin1');
      return;
    }
    const b = this.#buf;
    let p = this.#len;
    if (n < 0x80000000) { // small integers: int32 arithmetic
      let x = n | 0;
      let digits = 1;
      for (let y = x; y >= 10; y = (y / 10) | 0) digits++;
      this.#len = p += digits;
      do {
        const q = (x / 10) | 0;
        b[--p] = 48 + x - q * 10;
        x = q;
      } while (x > 0);
      return;
    }
    let digits = 1;
    for (let y = n; y >= 10; y = (y - (y % 10)) / 10) digits++;
    this.#len = p += digits;
    do {
      const d = n % 10; // exact below 2^53, as is the division that follows
      b[--p] = 48 + d;
      n = (n - d) / 10;
    } while (n > 0);
  }
  family(name: string, type: 'counter' | 'gauge', help: string): void {
    this.#text(`# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`);
  }
  sample(name: string, labels: string, value: number): void {
    this.#text(labels ? `${name}{${labels}} ` : `${name} `);
    this.#room(32);
    this.#num(value);
    this.#buf[this.#len++] = 10;
  }
  /** `<head><vni><tail><value>\n`, head and tail preencoded (e.g. `name{vni="` and `"} `). */
  vniSample(head: Buffer, vni: number, tail: Buffer, value: number): void {
    this.#room(head.length + tail.length + 64);
    this.#bytes(head);
    this.#num(vni);
    this.#bytes(tail);
    this.#num(value);
    this.#buf[this.#len++] = 10;
  }
  chunks(): Buffer[] {
    return [...this.#done, this.#buf.subarray(0, this.#len)];
  }
}

/** Preencoded pieces of the per-VNI lines, made once per process. */
const pieces = new Map<string, Buffer>();
const piece = (s: string): Buffer => {
  let b = pieces.get(s);
  if (!b) pieces.set(s, (b = Buffer.from(s, 'utf8')));
  return b;
};

// Everything after the FDB count is synchronous, so one summing array serves
// every scrape of this process (1.2 MB for 4096 VNIs; allocating it each time
// fed the arenas too).
let sumsScratch: Float64Array | undefined;

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * The xvtep families as UTF-8 exposition text, in chunks to write in order,
 * taken from `pool`: give them back (pool.give) once they are written.
 */
export async function renderXvtepMetrics(dp: Datapath, o: RenderOptions, pool = new ChunkPool(0)): Promise<Buffer[]> {
  const fdb = await dp.fdbCounts();
  const vnis = dp.vnis.rowsByVni();
  const sums = (sumsScratch = readStatsSums(dp, sumsScratch));
  const limit = Math.max(0, o.maxVniSeries);
  const shown = Math.min(limit, vnis.length), rest = vnis.length - shown;
  const out = new Out(pool);
  const vniAt = (k: number) => vnis.vni[k]!;
  // Where the k-th VNI's counters start in `sums`; a slot outside xv_stats (-1) reads as zeros.
  const rowAt = (k: number) => {
    const r = vnis.slot[k]! * STAT_FIELDS;
    return r < sums.length ? r : -1;
  };
  const at = (row: Float64Array, r: number, i: number) => (r < 0 ? 0 : row[r + i]!);
  const other = new Float64Array(STAT_FIELDS);
  for (let k = shown; k < vnis.length; k++) for (let i = 0, r = rowAt(k); i < STAT_FIELDS; i++) other[i]! += at(sums, r, i);

  const close = piece('"} ');
  const perVni = (name: string, idx: number, help: string) => {
    out.family(name, 'counter', help);
    const head = piece(`${name}{vni="`);
    for (let k = 0; k < shown; k++) out.vniSample(head, vniAt(k), close, at(sums, rowAt(k), idx));
    if (rest) out.sample(name, 'vni="other"', other[idx]!);
  };
  perVni('xvtep_vni_receive_packets_total', RX_PACKETS, 'VXLAN packets decapsulated and delivered to a local endpoint.');
  perVni('xvtep_vni_receive_bytes_total', RX_BYTES, 'Inner frame bytes (incl. the inner Ethernet header) received.');
  perVni('xvtep_vni_transmit_packets_total', TX_PACKETS, 'Frames encapsulated towards a remote VTEP (every flood copy counts).');
  perVni('xvtep_vni_transmit_bytes_total', TX_BYTES, 'Inner frame bytes (incl. the inner Ethernet header) transmitted.');
  perVni('xvtep_vni_learn_limit_total', EVENT0 + EVENTS.indexOf('learn_limit'),
    'New source MACs not learned because the VNI (or all VNIs together) reached its cap on learned entries; the frames were forwarded.');
  // Learned entries per VNI as the data path counts them (each ageing sweep recounts), and the caps.
  const gauge = (name: string, help: string, values: Uint32Array) => {
    out.family(name, 'gauge', help);
    const head = piece(`${name}{vni="`);
    let sum = 0;
    for (let k = 0; k < shown; k++) out.vniSample(head, vniAt(k), close, values[k]!);
    for (let k = shown; k < vnis.length; k++) sum += values[k]!;
    if (rest) out.sample(name, 'vni="other"', sum);
  };
  gauge('xvtep_vni_fdb_learned', 'Learned FDB entries of the VNI as the data path counts them.', vnis.learned);
  gauge('xvtep_vni_fdb_learned_limit', 'vnis[].maxLearned: the cap on the VNI\'s learned entries (0 = no per-VNI cap).', vnis.max);
  // Only reasons that occurred: 11 reasons x 4096 VNIs of zeros would triple every scrape.
  const DROPS = 'xvtep_vni_drop_packets_total';
  out.family(DROPS, 'counter', 'Packets dropped for a VNI, by reason (reasons that never occurred are omitted).');
  const dropHead = piece(`${DROPS}{vni="`);
  const dropTails = DROP_REASONS.map((reason) => piece(`",reason="${reason}"} `));
  for (let k = 0; k < shown; k++) {
    const r = rowAt(k);
    for (let i = 0; i < DROP_REASONS.length; i++) {
      const v = at(sums, r, DROP0 + i);
      if (v > 0) out.vniSample(dropHead, vniAt(k), dropTails[i]!, v);
    }
  }
  if (rest) {
    for (let i = 0; i < DROP_REASONS.length; i++) {
      if (other[DROP0 + i]! > 0) out.sample(DROPS, `vni="other",reason="${DROP_REASONS[i]}"`, other[DROP0 + i]!);
    }
  }
  const global = GLOBAL_STATS_SLOT * STAT_FIELDS;
  out.family('xvtep_drop_packets_total', 'counter', 'Packets dropped before a VNI was known (unknown VNI, malformed), by reason.');
  DROP_REASONS.forEach((reason, i) => out.sample('xvtep_drop_packets_total', `reason="${reason}"`, at(sums, global, DROP0 + i)));
  out.family('xvtep_events_total', 'counter', 'Data path events over all VNIs (learning, proxy answers, floods, ...).');
  const events = new Float64Array(EVENTS.length);
  for (let r = 0; r < sums.length; r += STAT_FIELDS) for (let i = 0; i < EVENTS.length; i++) events[i]! += sums[r + EVENT0 + i]!;
  EVENTS.forEach((e, i) => out.sample('xvtep_events_total', `event="${e}"`, events[i]!));

  out.family('xvtep_vni_series_limit', 'gauge', 'metrics.maxVniSeries: VNIs beyond it are summed into vni="other".');
  out.sample('xvtep_vni_series_limit', '', limit);
  out.family('xvtep_vnis_over_series_limit', 'gauge', 'VNIs whose counters are summed into vni="other".');
  out.sample('xvtep_vnis_over_series_limit', '', rest);

  out.family('xvtep_fdb_entries', 'gauge', 'FDB entries by type.');
  out.sample('xvtep_fdb_entries', 'type="static"', fdb.static);
  out.sample('xvtep_fdb_entries', 'type="learned"', fdb.learned);
  out.family('xvtep_fdb_learned_limit', 'gauge', 'Learned entries allowed over all VNIs (the rest of the FDB is reserved for static entries); 0 = no cap.');
  out.sample('xvtep_fdb_learned_limit', '', dp.settings()?.learnMaxTotal ?? 0);
  const peers = countEntries(dp.peers.map);
  out.family('xvtep_peers', 'gauge', 'Remote VTEPs allowed per VNI, summed over VNIs.');
  out.sample('xvtep_peers', '', peers);
  const maps: Array<[string, number, number]> = [
    ['xv_vni', vnis.length, dp.vnis.map.info.maxEntries],
    ['xv_ep', countEntries(dp.endpoints.map), dp.endpoints.map.info.maxEntries],
    ['xv_fdb', fdb.static + fdb.learned, dp.fdb.map.info.maxEntries],
    ['xv_peer', peers, dp.peers.map.info.maxEntries],
    ['xv_neigh', countEntries(dp.neighbors.map), dp.neighbors.map.info.maxEntries],
  ];
  out.family('xvtep_map_entries', 'gauge', 'Entries in each control-plane map.');
  for (const [m, n] of maps) out.sample('xvtep_map_entries', `map="${m}"`, n);
  out.family('xvtep_map_capacity', 'gauge', 'max_entries of each control-plane map.');
  for (const [m, , c] of maps) out.sample('xvtep_map_capacity', `map="${m}"`, c);

  out.family('xvtep_endpoints_missing', 'gauge', 'Endpoint interfaces of the config that do not exist now (xvtep run attaches them when they appear).');
  out.sample('xvtep_endpoints_missing', '', o.endpoints?.missing ?? 0);
  out.family('xvtep_endpoint_reattachments_total', 'counter', 'Endpoints that came back (re-created interface) and were attached again by this daemon.');
  out.sample('xvtep_endpoint_reattachments_total', '', o.endpoints?.reattachments ?? 0);

  if (o.underlay) {
    const u = o.underlay;
    out.family('xvtep_underlay_up', 'gauge', '1 if the underlay interface exists under its configured name and its link is up.');
    out.sample('xvtep_underlay_up', `interface="${esc(u.iface)}"`, u.state === 'up' ? 1 : 0);
    out.family('xvtep_underlay_changes_total', 'counter', 'Underlay interface edges seen by this daemon: link down/up, gone, renamed, re-created, MTU and address changes.');
    for (const c of UNDERLAY_CHANGES) out.sample('xvtep_underlay_changes_total', `change="${c}"`, u.changes[c] ?? 0);
  }

  const s = o.state;
  out.family('xvtep_config_reloads_total', 'counter', 'Config applies attempted (attach, reloads, SIGHUP, file changes).');
  out.sample('xvtep_config_reloads_total', '', s.reloads);
  out.family('xvtep_config_reload_failures_total', 'counter', 'Config applies that failed (invalid file, or rolled back).');
  out.sample('xvtep_config_reload_failures_total', '', s.reloadFailures);
  out.family('xvtep_config_last_reload_successful', 'gauge', '1 if the last config apply succeeded.');
  out.sample('xvtep_config_last_reload_successful', '', s.lastReload === null || s.lastReload.ok ? 1 : 0);
  out.family('xvtep_config_generation', 'gauge', 'Successful config applies since attach.');
  out.sample('xvtep_config_generation', '', s.generation);
  out.family('xvtep_build_info', 'gauge', 'Build information; always 1.');
  out.sample('xvtep_build_info', `version="${esc(o.version)}",layout_version="${LAYOUT_VERSION}",nodejs="${esc(process.version)}"`, 1);
  return out.chunks();
}
