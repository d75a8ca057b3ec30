// The cluster agent inside `xvtep run`: keeps this node's records in etcd
// under its own lease, follows everyone's records (list, then watch from the
// listed revision + 1; relist and diff after any break), and hands the
// resulting view to the daemon, which applies it through the ordinary
// reconcile path (apply worker: merge with the file, validate, make-before-
// break, rollback). Nothing here touches a map: while etcd is away the
// maps keep the last view applied; a relist on return applies the difference.
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import type { ClusterConfig } from '../config/index.js';
import { etcdClient } from './etcd.js';
import { memberKey, parseKey, parseMember, parseVniRecord, RECORD_VERSION, vniKey, type MemberRecord, type VniRecord } from './records.js';
import { writeClusterStatus, writeClusterView, type ClusterStatus } from './store.js';
import { viewOf, type ClusterView, type Members } from './view.js';

export interface LocalNode {
  address: string;
  family: 4 | 6;
  port: number;
  /** Per VNI of the file: its local FDB MACs and its neighbours. */
  vnis: Array<{ vni: number; macs: string[]; neighbors: Array<{ ip: string; mac: string }> }>;
  software: string;
  layout: number;
  /** Most FDB entries the maps take: a record naming more is refused. */
  fdbCapacity: number;
}

export interface AgentOptions {
  cluster: ClusterConfig;
  pinDir: string;
  local: LocalNode;
  /** MACs learned on local endpoints now, per VNI (a walk of the FDB). */
  learned: () => Map<number, string[]>;
  /**
   * Applies a view (already written to the view file, for the next start)
   * through the reconcile path; resolves true when it was applied.
   */
  apply: (trigger: string, view: ClusterView) => Promise<boolean>;
  /**
   * Until this settles the agent connects, takes a lease and lists, but
   * neither publishes nor applies: the daemon's first apply (which may
   * still find another daemon on the pin dir) goes first, and takes the
   * first view itself (firstView, applied).
   */
  hold?: Promise<void>;
  log: (m: string) => void;
  /** How often local learning is compared with what is published. Default 200 ms. */
  learnPollMs?: number;
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;
/** etcd's default --max-txn-ops is 128. */
const TXN_OPS = 100;
/** Keys per page of a list: member records are ~200 bytes, a VNI record up to ~1.3 MB (65,536 MACs). */
const LIST_PAGE_KEYS = 1000;
/** grpc-js's answer to a message past its receive limit. */
const TOO_LARGE = /larger than max|RESOURCE_EXHAUSTED/i;

class Broken extends Error {}

export class ClusterAgent {
  readonly #o: AgentOptions;
  readonly #c: ClusterConfig;
  #local: LocalNode;
  readonly #client: Etcd3;
  #closed = false;
  #leaseId: string | null = null;
  #leaseTtl = 0;
  #lastKeepAlive = 0;
  #revision = 0;
  #state: Members = { members: new Map(), vnis: new Map() };
  /** Raw value and lease of this node's own keys as etcd has them. */
  #own = new Map<string, { value: string; lease: string }>();
  #firstSeen = new Map<string, number>();
  #refusedSeen = new Set<string>();
  /** Last valid value of every key we follow, so a refused update keeps the previous one. */
  #etcdUp = false;
  #etcdError: string | null = 'not connected yet';
  #lastContact: number | null = null;
  #lastSync: number | null = null;
  #applied: string | null = null;
  #applying: Promise<void> | null = null;
  #again = false;
  /** key → value last written or confirmed in etcd. */
  #published = new Map<string, string>();
  #learnTimer: NodeJS.Timeout | undefined;
  #statusTimer: NodeJS.Timeout | undefined;
  #wake: (() => void) | null = null;
  #breakSession: ((e: Error) => void) | null = null;
  #publishing: Promise<void> = Promise.resolve();
  #released: boolean;
  /** Settles with the first listed view, or null once the first session fails. */
  #first: { promise: Promise<ClusterView | null>; resolve: (v: ClusterView | null) => void };
  readonly counters = { refused: 0, conflicts: 0, watchEvents: 0, resyncs: 0, leaseLost: 0, applies: 0, applyFailures: 0, published: 0, listPages: 0 };

  constructor(o: AgentOptions) {
    this.#o = o;
    this.#c = o.cluster;
    this.#local = o.local;
    this.#released = !o.hold;
    let resolve!: (v: ClusterView | null) => void;
    this.#first = { promise: new Promise((r) => (resolve = r)), resolve };
    void o.hold?.then(() => {
      this.#released = true;
      this.#publishIfChanged();
    }, () => {});
    this.#client = etcdClient(o.cluster);
    void this.#run();
    this.#learnTimer = setInterval(() => this.#publishIfChanged(), o.learnPollMs ?? 200);
    this.#statusTimer = setInterval(() => this.#writeStatus(), 1000);
  }

  /** The file changed (a reload): new VNIs, local entries or address. */
  update(local: LocalNode): void {
    this.#local = local;
    this.#published.clear();
    this.#publishIfChanged();
    this.#scheduleApply('cluster (file reloaded)');
  }

  /**
   * The view of the first list, for the daemon's first apply: null when
   * etcd failed first or did not answer within ms (the apply then merges
   * the view file of the previous run, as any apply does).
   */
  firstView(ms: number): Promise<ClusterView | null> {
    let t: NodeJS.Timeout | undefined;
    return Promise.race([this.#first.promise, new Promise<null>((r) => (t = setTimeout(() => r(null), ms)))]).finally(() => clearTimeout(t));
  }

  /** The daemon applied this view itself (its first apply): the agent's own apply of it is skipped. */
  applied(view: ClusterView): void {
    this.#applied = JSON.stringify(view);
    this.counters.applies++;
    try {
      writeClusterView(this.#o.pinDir, view);
    } catch (e) {
      this.#o.log(`cluster: cannot write the view: ${(e as Error).message}`);
    }
  }

  /** Counts file-vs-cluster conflicts reported by an apply (the file won them). */
  addConflicts(n: number): void {
    this.counters.conflicts += n;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#learnTimer);
    clearInterval(this.#statusTimer);
    this.#breakSession?.(new Broken('closing'));
    this.#wake?.();
    await this.#applying;
    this.#writeStatus();
    // The lease is left to expire (not revoked): a daemon restarted within
    // the TTL takes its records back without other members seeing them go.
    this.#client.close();
  }

  // ---- sessions: connect, list, publish, watch, until something breaks ----

  async #run(): Promise<void> {
    let backoff = BACKOFF_MIN_MS;
    while (!this.#closed) {
      const started = Date.now();
      try {
        await this.#session();
      } catch (e) {
        if (this.#closed) break;
        const msg = (e as Error).message;
        if (this.#etcdUp || this.#etcdError !== msg) this.#o.log(`cluster: etcd ${this.#etcdUp ? 'lost' : 'unavailable'}: ${msg}; keeping the last known state, retrying`);
        this.#etcdUp = false;
        this.#etcdError = msg;
        this.#first.resolve(null);
        this.#writeStatus();
      }
      if (Date.now() - started > 10_000) backoff = BACKOFF_MIN_MS;
      await new Promise<void>((r) => {
        const t = setTimeout(r, backoff);
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.#wake = null;
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    }
  }

  async #session(): Promise<void> {
    const broken = new Promise<never>((_, reject) => (this.#breakSession = reject));
    broken.catch(() => {});
    const race = <T>(p: Promise<T>) => Promise.race([p, broken]);
    let keepTimer: NodeJS.Timeout | undefined;
    let watcher: Watcher | undefined;
    let stream: Awaited<ReturnType<Etcd3['leaseClient']['leaseKeepAlive']>> | undefined;
    try {
      // A lease from before the break is kept if etcd still knows it: keys
      // stay where they are and no one sees a change.
      if (this.#leaseId) {
        const ttl = await race(this.#client.leaseClient.leaseTimeToLive({ ID: this.#leaseId }));
        if (Number(ttl.TTL) <= 0) this.#leaseLost('expired while etcd was unreachable');
      }
      // The grant and the list do not depend on each other: one round trip, not two.
      const listed = this.#list();
      listed.catch(() => {});
      if (!this.#leaseId) {
        const g = await race(this.#client.leaseClient.leaseGrant({ TTL: this.#c.leaseTtlSeconds }));
        this.#leaseId = g.ID;
        this.#leaseTtl = Number(g.TTL);
        this.#lastKeepAlive = Date.now();
        this.#o.log(`cluster: lease ${BigInt(g.ID).toString(16)} granted (TTL ${g.TTL} s)`);
      }
      stream = await race(this.#client.leaseClient.leaseKeepAlive());
      const s = stream;
      s.on('data', (res: { ID: string; TTL: string }) => {
        if (Number(res.TTL) <= 0) {
          this.#leaseLost('etcd says it expired');
          this.#breakSession?.(new Broken('own lease lost'));
          return;
        }
        this.#lastKeepAlive = Date.now();
        this.#lastContact = Date.now();
        this.#leaseTtl = Number(res.TTL);
      });
      s.on('error', (e: Error) => this.#breakSession?.(new Broken(`lease keepalive: ${e.message}`)));
      s.on('end', () => this.#breakSession?.(new Broken('lease keepalive stream ended')));
      const id = this.#leaseId;
      const kaEvery = Math.max(300, (this.#c.leaseTtlSeconds * 1000) / 4);
      s.write({ ID: id });
      keepTimer = setInterval(() => {
        // No answer for half the TTL: etcd is gone or stuck; say so early.
        if (Date.now() - this.#lastKeepAlive > (this.#c.leaseTtlSeconds * 1000) / 2 + kaEvery) {
          this.#breakSession?.(new Broken(`no lease keepalive answer for ${Date.now() - this.#lastKeepAlive} ms`));
          return;
        }
        s.write({ ID: id });
      }, kaEvery);

      await race(listed);
      this.#etcdUp = true;
      this.#etcdError = null;
      this.#published.clear();
      this.#writeStatus();
      // Keys of ours under another lease: a previous run of this node (SIGKILLed,
      // restarted within its TTL). The publish just moved them to our lease;
      // its lease goes now instead of at its TTL.
      const old = new Set([...this.#own.values()].map((o) => o.lease).filter((l) => l !== '0' && l !== this.#leaseId));
      if (this.#o.hold) await race(this.#o.hold);
      const before = this.counters.published;
      await race(this.#publish(true));
      const n = this.counters.published - before;
      this.#o.log(`cluster: published ${n} record change(s) under lease ${BigInt(this.#leaseId!).toString(16)}`);
      for (const id of old) {
        await race(this.#client.leaseClient.leaseRevoke({ ID: id })).catch(() => {});
        this.#o.log(`cluster: took the records of lease ${BigInt(id).toString(16)} back (a previous run) and revoked it`);
      }

      watcher = this.#client.watch().prefix(this.#c.prefix).startRevision(String(this.#revision + 1)).watcher();
      watcher.on('data', (res: IWatchResponse) => this.#onWatch(res));
      watcher.on('disconnected', (e: Error) => this.#breakSession?.(new Broken(`watch: ${e.message}`)));
      // Compaction past our revision, or any cancel: list again (flannel #2471).
      watcher.on('error', (e: Error) => this.#breakSession?.(new Broken(`watch: ${e.message}`)));
      await broken;
    } finally {
      this.#breakSession = null;
      clearInterval(keepTimer);
      (stream as unknown as NodeJS.EventEmitter | undefined)?.removeAllListeners();
      stream?.on('error', () => {});
      try {
        stream?.end();
      } catch {
        // already gone
      }
      if (watcher) {
        watcher.removeAllListeners();
        watcher.on('error', () => {});
        void watcher.cancel().catch(() => {});
      }
    }
  }

  #leaseLost(why: string): void {
    if (!this.#leaseId) return;
    this.counters.leaseLost++;
    this.#o.log(`cluster: own lease ${BigInt(this.#leaseId).toString(16)} lost (${why}); granting a new one and publishing again, maps untouched`);
    this.#leaseId = null;
    this.#published.clear();
  }

  /**
   * Everything under the prefix, as of one revision, replaces what we knew:
   * a diff, not a flush. Read in pages (grpc-js refuses a message over
   * 4 MiB, ~200,000 MACs in one range): each page continues after the last
   * key, all at the first page's revision. A page still too large is read
   * again with half the keys; a revision compacted between pages fails the
   * list, and the session's retry lists again from the top.
   */
  async #list(): Promise<void> {
    const next: Members = { members: new Map(), vnis: new Map() };
    const own = new Map<string, { value: string; lease: string }>();
    const end = prefixEnd(this.#c.prefix);
    let from = Buffer.from(this.#c.prefix);
    let revision: string | undefined;
    let limit = LIST_PAGE_KEYS;
    for (;;) {
      let res: Awaited<ReturnType<Etcd3['kv']['range']>>;
      try {
        res = await this.#client.kv.range({ key: from, range_end: end, limit, ...(revision ? { revision } : {}) });
      } catch (e) {
        if (limit > 1 && TOO_LARGE.test((e as Error).message)) {
          limit = Math.max(1, limit >> 1);
          continue;
        }
        throw e;
      }
      this.#lastContact = Date.now();
      revision ??= res.header.revision;
      for (const kv of res.kvs) this.#ingest(next, own, kv, 'Put');
      this.counters.listPages++;
      if (!res.more || !res.kvs.length) break;
      from = Buffer.concat([res.kvs.at(-1)!.key, Buffer.from([0])]);
    }
    this.#state = next;
    this.#own = own;
    this.#revision = Number(revision);
    this.counters.resyncs++;
    this.#lastSync = Date.now();
    this.#first.resolve(this.view());
    this.#scheduleApply('cluster resync');
  }

  #onWatch(res: IWatchResponse): void {
    this.#lastContact = Date.now();
    const events = (res as IWatchResponse & { events?: Array<{ type: 'Put' | 'Delete'; kv: IKeyValue }> }).events ?? [];
    for (const ev of events) this.#ingest(this.#state, this.#own, ev.kv, ev.type);
    this.counters.watchEvents += events.length;
    this.#revision = Math.max(this.#revision, Number(res.header.revision));
    this.#lastSync = Date.now();
    if (events.length) this.#scheduleApply('cluster watch');
  }

  /** One key's new value (or deletion) into `m`; a record that does not validate is refused and the last valid one stays. */
  #ingest(m: Members, own: Map<string, { value: string; lease: string }>, kv: IKeyValue, type: 'Put' | 'Delete'): void {
    const key = kv.key.toString();
    const k = parseKey(this.#c.prefix, key);
    const rev = Number(kv.mod_revision);
    if (typeof k === 'string') {
      if (type === 'Put') this.#refuse(key, rev, k);
      return;
    }
    if (k.node === this.#c.nodeName) {
      if (type === 'Delete') own.delete(key);
      else own.set(key, { value: kv.value.toString(), lease: kv.lease });
    }
    if (type === 'Delete') {
      if (k.kind === 'vni') m.vnis.delete(`${k.vni}/${k.node}`);
      else if (m.members.delete(k.node) && m === this.#state) this.#o.log(`cluster: member ${k.node} left (its record is gone)`);
      return;
    }
    const text = kv.value.toString();
    if (k.kind === 'member') {
      const r = parseMember(k.node, text);
      const problem = typeof r === 'string' ? r
        : k.node !== this.#c.nodeName && r.family !== this.#local.family ? `IPv${r.family} underlay, this node's is IPv${this.#local.family}`
        : k.node !== this.#c.nodeName && r.port !== this.#local.port ? `UDP port ${r.port}, this node's is ${this.#local.port}`
        : null;
      if (problem !== null) return this.#refuse(key, rev, problem, () => keep(this.#state.members, m.members, k.node));
      if (!m.members.has(k.node) && !this.#state.members.has(k.node)) this.#o.log(`cluster: member ${k.node} joined (${(r as MemberRecord).address})`);
      m.members.set(k.node, { rec: r as MemberRecord, rev });
      if (!this.#firstSeen.has(k.node)) this.#firstSeen.set(k.node, Date.now());
    } else {
      const r = parseVniRecord(text, this.#local.fdbCapacity);
      if (typeof r === 'string') return this.#refuse(key, rev, r, () => keep(this.#state.vnis, m.vnis, `${k.vni}/${k.node}`));
      m.vnis.set(`${k.vni}/${k.node}`, { rec: r as VniRecord, rev, vni: k.vni, node: k.node });
    }
  }

  /** `keep` carries the key's last valid value into a relist, as a watch keeps it. */
  #refuse(key: string, rev: number, why: string, keep?: () => void): void {
    keep?.();
    const id = `${key}@${rev}`;
    if (this.#refusedSeen.has(id)) return; // the same record seen again by a relist
    this.#refusedSeen.add(id);
    this.counters.refused++;
    this.#o.log(`cluster: refused ${key} (revision ${rev}): ${why}; not applied`);
  }

  // ---- applying the view ----

  view(): ClusterView {
    return viewOf(this.#state, { name: this.#c.nodeName, address: this.#local.address, vnis: this.#local.vnis.map((v) => v.vni) });
  }

  #scheduleApply(trigger: string): void {
    if (this.#applying) {
      this.#again = true;
      return;
    }
    this.#applying = (async () => {
      if (this.#o.hold) await this.#o.hold.catch(() => {});
      if (this.#closed) return;
      do {
        this.#again = false;
        const v = this.view();
        const text = JSON.stringify(v);
        if (text === this.#applied) continue;
        try {
          writeClusterView(this.#o.pinDir, v);
        } catch (e) {
          this.#o.log(`cluster: cannot write the view: ${(e as Error).message}`);
          break;
        }
        this.counters.applies++;
        const ok = await this.#o.apply(trigger, v);
        if (ok) this.#applied = text;
        else this.counters.applyFailures++;
      } while (this.#again && !this.#closed);
    })().finally(() => {
      this.#applying = null;
      this.#writeStatus();
      // An event between the loop's last check and here only set #again.
      if (this.#again && !this.#closed) this.#scheduleApply(trigger);
    });
  }

  // ---- publishing this node's records ----

  #records(): Map<string, string> {
    const l = this.#local;
    const out = new Map<string, string>();
    const member: MemberRecord = {
      v: RECORD_VERSION, name: this.#c.nodeName, address: l.address, family: l.family, port: l.port,
      vnis: l.vnis.map((v) => v.vni).sort((a, b) => a - b), software: l.software, layout: l.layout,
    };
    out.set(memberKey(this.#c.prefix, this.#c.nodeName), JSON.stringify(member));
    let learned: Map<number, string[]>;
    try {
      learned = this.#o.learned();
    } catch (e) {
      this.#o.log(`cluster: reading learned entries: ${(e as Error).message}`);
      learned = new Map();
    }
    for (const v of l.vnis) {
      const macs = [...new Set([...v.macs, ...(learned.get(v.vni) ?? [])])].sort();
      const rec: VniRecord = { v: RECORD_VERSION, macs, neighbors: v.neighbors };
      out.set(vniKey(this.#c.prefix, v.vni, this.#c.nodeName), JSON.stringify(rec));
    }
    return out;
  }

  #publishIfChanged(): void {
    if (!this.#etcdUp || !this.#leaseId || this.#closed || !this.#released) return;
    this.#publishing = this.#publishing.then(() => this.#publish(false)).catch((e: unknown) => {
      this.#breakSession?.(new Broken(`publish: ${(e as Error).message}`));
    });
  }

  /**
   * Writes what differs from etcd (value or lease), and deletes own keys
   * that are no longer ours: a restarted daemon whose records are unchanged
   * moves them to its new lease and nobody's maps change.
   */
  async #publish(all: boolean): Promise<void> {
    const lease = this.#leaseId;
    if (!lease) return;
    const want = this.#records();
    const ops: Array<{ request_put?: { key: Buffer; value: Buffer; lease: string }; request_delete_range?: { key: Buffer } }> = [];
    for (const [key, value] of want) {
      const have = this.#own.get(key);
      if (!all && this.#published.get(key) === value && have?.lease === lease) continue;
      if (have && have.value === value && have.lease === lease) {
        this.#published.set(key, value);
        continue;
      }
      ops.push({ request_put: { key: Buffer.from(key), value: Buffer.from(value), lease } });
    }
    for (const key of this.#own.keys()) if (!want.has(key)) ops.push({ request_delete_range: { key: Buffer.from(key) } });
    for (let i = 0; i < ops.length; i += TXN_OPS) {
      await this.#client.kv.txn({ compare: [], success: ops.slice(i, i + TXN_OPS), failure: [] });
      this.#lastContact = Date.now();
    }
    for (const [key, value] of want) {
      this.#published.set(key, value);
      this.#own.set(key, { value, lease });
    }
    for (const key of [...this.#own.keys()]) if (!want.has(key)) this.#own.delete(key);
    this.counters.published += ops.length;
  }

  // ---- status ----

  status(): ClusterStatus {
    const now = Date.now();
    const macCount = new Map<string, number>();
    for (const r of this.#state.vnis.values()) macCount.set(r.node, (macCount.get(r.node) ?? 0) + r.rec.macs.length);
    return {
      daemonPid: process.pid, node: this.#c.nodeName, prefix: this.#c.prefix, endpoints: [...this.#c.etcd.endpoints],
      etcdUp: this.#etcdUp, etcdError: this.#etcdError, lastContact: this.#lastContact ? new Date(this.#lastContact).toISOString() : null,
      lease: this.#leaseId ? {
        id: BigInt(this.#leaseId).toString(16), ttlSeconds: this.#c.leaseTtlSeconds,
        ttlLeftSeconds: Math.max(0, Math.round((this.#leaseTtl - (now - this.#lastKeepAlive) / 1000) * 10) / 10),
      } : null,
      revision: this.#revision, lastSync: this.#lastSync ? new Date(this.#lastSync).toISOString() : null,
      members: [...this.#state.members.values()].map((s) => ({
        name: s.rec.name, address: s.rec.address, vnis: s.rec.vnis, macs: macCount.get(s.rec.name) ?? 0,
        ageSeconds: Math.round((now - (this.#firstSeen.get(s.rec.name) ?? now)) / 1000), software: s.rec.software,
      })).sort((a, b) => (a.name < b.name ? -1 : 1)),
      counters: { ...this.counters },
      learning: `FDB walk every ${this.#o.learnPollMs ?? 200} ms`,
      at: new Date(now).toISOString(),
    };
  }

  #writeStatus(): void {
    try {
      writeClusterStatus(this.#o.pinDir, this.status());
    } catch (e) {
      this.#o.log(`cluster: cannot write status: ${(e as Error).message}`);
    }
  }

  /** Prometheus text for the daemon's /metrics. */
  metrics(): string {
    const s = this.status();
    const lines = [
      ['xvtep_cluster_members', 'gauge', 'Members with a valid record in etcd, this node included', s.members.length],
      ['xvtep_cluster_etcd_up', 'gauge', '1 while etcd answers, 0 while the last known state is kept', s.etcdUp ? 1 : 0],
      ['xvtep_cluster_last_sync_timestamp_seconds', 'gauge', 'When the last list or watch event from etcd was taken in', this.#lastSync ? this.#lastSync / 1000 : 0],
      ['xvtep_cluster_revision', 'gauge', 'Last etcd revision taken in', s.revision],
      ['xvtep_cluster_lease_ttl_left_seconds', 'gauge', "Seconds left on this node's lease as of the last keepalive", s.lease?.ttlLeftSeconds ?? 0],
      ['xvtep_cluster_records_refused_total', 'counter', 'Records from etcd that did not validate and were not applied', s.counters.refused],
      ['xvtep_cluster_conflicts_total', 'counter', 'Cluster entries that conflicted with the file (the file won)', s.counters.conflicts],
      ['xvtep_cluster_watch_events_total', 'counter', 'Watch events received', s.counters.watchEvents],
      ['xvtep_cluster_resyncs_total', 'counter', 'Full lists of the prefix (start, after an outage, compaction or a broken watch)', s.counters.resyncs],
      ['xvtep_cluster_lease_lost_total', 'counter', 'Times this node lost its lease and granted a new one', s.counters.leaseLost],
      ['xvtep_cluster_applies_total', 'counter', 'Cluster views handed to the reconcile path', s.counters.applies],
      ['xvtep_cluster_apply_failures_total', 'counter', 'Cluster views the reconcile path refused (the previous state stays)', s.counters.applyFailures],
    ] as const;
    return lines.map(([name, type, help, value]) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`).join('');
  }
}

/** The range_end that covers every key starting with prefix. */
function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  b[b.length - 1]! += 1;
  return b;
}

function keep<T>(prev: Map<string, T>, next: Map<string, T>, id: string): void {
  const v = prev.get(id);
  if (v !== undefined && prev !== next) next.set(id, v);
}
