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

/** A change of this host's own learned MACs (the data path's xv_learn_ring, datapath's LearnEvents). */
export interface LearnChange {
  vni: number;
  mac: string;
  /** new, move: learned on an endpoint; left: now behind a remote VTEP. */
  kind: 'new' | 'move' | 'left';
}

/** Events of local learning as the data path writes them. */
export interface LearnFeed {
  start(onEvents: (events: LearnChange[]) => void, onError: (e: Error) => void): void;
  /** Events lost so far because the feed was full (only ever grows). */
  drops(): number;
  close(): void;
}

export type FdbAhead = (view: ClusterView) => { written: number; pending: number; replacedLocal: Array<{ vni: number; mac: string }> };

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
  /** How often the FDB is walked for local learning. Default 5000 ms with learn events (useDatapath), 200 ms without. */
  learnPollMs?: number;
  /** How long learn events are gathered before one publish. Default 15 ms. */
  learnCoalesceMs?: number;
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;
/** etcd's default --max-txn-ops is 128. */
const TXN_OPS = 100;
/** Keys per page of a list: member records are ~200 bytes, a VNI record up to ~1.3 MB (65,536 MACs). */
const LIST_PAGE_KEYS = 1000;
/** grpc-js's answer to a message past its receive limit. */
const TOO_LARGE = /larger than max|RESOURCE_EXHAUSTED/i;

const WALK_WITH_FEED_MS = 5000;
const WALK_ALONE_MS = 200;
const COALESCE_MS = 15;
/** How often the generation is read to notice edits the data path reports no event for. */
const GEN_CHECK_MS = 200;

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
  #appliedView: ClusterView | null = null;
  #applying: Promise<void> | null = null;
  #again = false;
  /** key → value last written or confirmed in etcd. */
  #published = new Map<string, string>();
  #learnTimer: NodeJS.Timeout | undefined;
  /** This host's learned MACs per VNI as last walked, kept current by learn events. */
  #learned = new Map<number, Set<string>>();
  #coalesce: NodeJS.Timeout | undefined;
  #dropsSeen = 0;
  #walkMs: number;
  /** The learn feed, once started (undefined: none, or it failed to start: the walk alone). */
  #feed: LearnFeed | undefined;
  /** A feed was offered (started or not): the walk-only status says why. */
  #feedOffered = false;
  #fdbAhead: FdbAhead | undefined;
  /** Reads xv_gen (useDatapath); the value the last walk saw, and the timer comparing them. */
  #generation: (() => number | bigint) | undefined;
  #genSeen: number | bigint | undefined;
  #genError: string | null = null;
  #genTimer: NodeJS.Timeout | undefined;
  #statusTimer: NodeJS.Timeout | undefined;
  #wake: (() => void) | null = null;
  #breakSession: ((e: Error) => void) | null = null;
  #publishing: Promise<void> = Promise.resolve();
  #released: boolean;
  /** Resolves once this node's records were first written after the hold (published()). */
  #firstPublish!: () => void;
  readonly #firstPublished = new Promise<void>((r) => (this.#firstPublish = r));
  /** Settles with the first listed view, or null once the first session fails. */
  #first: { promise: Promise<ClusterView | null>; resolve: (v: ClusterView | null) => void };
  readonly counters = {
    refused: 0, conflicts: 0, watchEvents: 0, resyncs: 0, leaseLost: 0, applies: 0, applyFailures: 0, published: 0, listPages: 0,
    learnEvents: 0, learnRingDrops: 0, learnWalks: 0, learnBatches: 0, fdbAhead: 0, appliesAhead: 0,
  };
  #fdbAheadError: string | null = null;

  constructor(o: AgentOptions) {
    this.#o = o;
    this.#c = o.cluster;
    this.#local = o.local;
    this.#released = !o.hold;
    let resolve!: (v: ClusterView | null) => void;
    this.#first = { promise: new Promise((r) => (resolve = r)), resolve };
    void o.hold?.then(() => {
      this.#released = true;
      this.#walk(null);
    }, () => {});
    this.#client = etcdClient(o.cluster);
    this.#walkMs = o.learnPollMs ?? WALK_ALONE_MS;
    this.#walk(null);
    void this.#run();
    this.#learnTimer = setInterval(() => this.#walk(null), this.#walkMs);
    this.#statusTimer = setInterval(() => {
      this.#checkDrops();
      this.#writeStatus();
    }, 1000);
  }

  /**
   * The daemon's data path is open (the agent starts while it loads). From
   * now on local learning comes as it happens from learnFeed (published after
   * learnCoalesceMs, the walk then only a safety net; absent, as with pins of
   * an xvtep without the ring: the walk alone, every learnPollMs), and
   * fdbAhead writes a view's new FDB entries into the maps at once, ahead of
   * the apply (the daemon's ClusterFdbWriter): how many, how many it left to
   * the apply, and the local learned entries a member's claim replaced.
   * generation reads the maps' cache generation: with learn events, a change
   * the agent did not walk after (`xvtep fdb del`/`flush`, `vni del`, a
   * batch: CLI edits change the maps in their own process, and the data path
   * reports no event for a deletion) leads to a walk within GEN_CHECK_MS.
   */
  useDatapath(d: { learnFeed?: LearnFeed; fdbAhead?: FdbAhead; generation?: () => number | bigint }): void {
    if (this.#closed) {
      d.learnFeed?.close();
      return;
    }
    this.#fdbAhead = d.fdbAhead;
    if (d.learnFeed && !this.#feed) this.#startFeed(d.learnFeed);
    if (this.#o.learnPollMs === undefined && this.#feed) {
      this.#walkMs = WALK_WITH_FEED_MS;
      clearInterval(this.#learnTimer);
      this.#learnTimer = setInterval(() => this.#walk(null), this.#walkMs);
    }
    // without the feed the walk runs every WALK_ALONE_MS anyway
    if (d.generation && this.#feed && !this.#genTimer) {
      this.#generation = d.generation;
      this.#genSeen = this.#readGeneration();
      this.#genTimer = setInterval(() => this.#checkGeneration(), GEN_CHECK_MS);
    }
  }

  #startFeed(feed: LearnFeed): void {
    this.#feedOffered = true;
    try {
      this.#dropsSeen = feed.drops();
      feed.start((evs) => this.#onLearn(evs), (e) => {
        this.#o.log(`cluster: learn events: ${e.message}; walking the FDB instead`);
        this.#walk('learn event error');
      });
      this.#feed = feed;
    } catch (e) {
      feed.close();
      this.#o.log(`cluster: learn events unavailable (${(e as Error).message}); walking the FDB every ${this.#o.learnPollMs ?? WALK_ALONE_MS} ms`);
    }
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
    this.#appliedView = view;
    this.counters.applies++;
    try {
      writeClusterView(this.#o.pinDir, view);
    } catch (e) {
      this.#o.log(`cluster: cannot write the view: ${(e as Error).message}`);
    }
  }

  /**
   * Learned entries the ageing sweep (or any other deletion the data path
   * does not report) removed: they leave etcd with the next publish.
   */
  forget(entries: ReadonlyArray<{ vni: number; mac: string }>): void {
    let changed = false;
    for (const e of entries) changed = this.#learned.get(e.vni)?.delete(e.mac) || changed;
    if (changed) this.#publishSoon();
  }

  /**
   * The maps were changed by an apply (a MAC another member now publishes,
   * an endpoint gone): learned entries may have been replaced or removed
   * without an event, so walk the FDB now.
   */
  rescan(): void {
    this.#walk('after an apply');
  }

  /**
   * True once this node's records are in etcd after the daemon's first apply
   * (the other members allow its frames once they have them), false if that
   * took longer than timeoutMs (etcd slow or down: traffic flows without it).
   */
  published(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      this.#firstPublished.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
  }

  /** Counts file-vs-cluster conflicts reported by an apply (the file won them). */
  addConflicts(n: number): void {
    this.counters.conflicts += n;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#learnTimer);
    clearInterval(this.#genTimer);
    clearInterval(this.#statusTimer);
    clearTimeout(this.#coalesce);
    this.#feed?.close();
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
      this.#firstPublish();
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
    // not behind an apply in progress (~0.1-0.8 s): new MACs go in now
    if (this.#fdbAhead && this.#released && !this.#closed) this.#writeFdbAhead(this.view());
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
        // Only new MACs toward existing peers, all in the maps already: the
        // apply would find nothing to do (and costs a worker process).
        if (this.#appliedView && onlyFdbAdded(this.#appliedView, v) && this.#writeFdbAhead(v) === 0) {
          this.#applied = text;
          this.#appliedView = v;
          this.counters.appliesAhead++;
          continue;
        }
        this.counters.applies++;
        const ok = await this.#o.apply(trigger, v);
        if (ok) {
          this.#applied = text;
          this.#appliedView = v;
        } else this.counters.applyFailures++;
      } while (this.#again && !this.#closed);
    })().finally(() => {
      this.#applying = null;
      this.#writeStatus();
      // An event between the loop's last check and here only set #again.
      if (this.#again && !this.#closed) this.#scheduleApply(trigger);
    });
  }

  /**
   * Other members' new MACs into the FDB now; the apply that follows does
   * the rest (and finds these done). Returns how many of the view's entries
   * are left to the apply (-1: all, no writer or it failed).
   */
  #writeFdbAhead(v: ClusterView): number {
    if (!this.#fdbAhead) return -1;
    try {
      const r = this.#fdbAhead(v);
      this.counters.fdbAhead += r.written;
      if (r.replacedLocal.length) this.forget(r.replacedLocal);
      this.#fdbAheadError = null;
      return r.pending;
    } catch (e) {
      const msg = (e as Error).message;
      if (msg !== this.#fdbAheadError) this.#o.log(`cluster: writing FDB entries ahead of the apply: ${msg}; the apply follows`);
      this.#fdbAheadError = msg;
      return -1;
    }
  }

  // ---- local learning ----

  #readDrops(): number {
    try {
      return this.#feed?.drops() ?? 0;
    } catch (e) {
      this.#o.log(`cluster: reading learn event drops: ${(e as Error).message}`);
      return this.#dropsSeen;
    }
  }

  /** Events were lost (a full ring): only a walk knows what they said. */
  #checkDrops(): void {
    if (!this.#feed) return;
    const d = this.#readDrops();
    if (d === this.#dropsSeen) return;
    const lost = d - this.#dropsSeen;
    this.#dropsSeen = d;
    this.counters.learnRingDrops += lost;
    this.#o.log(`cluster: ${lost} learn event(s) lost (ring full); walking the FDB`);
    this.#walk('learn events lost');
  }

  #readGeneration(): number | bigint | undefined {
    try {
      const g = this.#generation?.();
      this.#genError = null;
      return g;
    } catch (e) {
      const m = (e as Error).message;
      if (m !== this.#genError) this.#o.log(`cluster: reading the maps' generation: ${m}`);
      this.#genError = m;
      return this.#genSeen;
    }
  }

  /** Someone changed the maps since the last walk (a CLI edit, an apply): walk. */
  #checkGeneration(): void {
    if (this.#closed || !this.#released) return;
    if (this.#readGeneration() !== this.#genSeen) this.#walk('the maps were edited');
  }

  #onLearn(evs: LearnChange[]): void {
    if (this.#closed) return;
    this.counters.learnEvents += evs.length;
    let changed = false;
    for (const e of evs) {
      let set = this.#learned.get(e.vni);
      if (e.kind === 'left') {
        changed = (set?.delete(e.mac) ?? false) || changed;
        continue;
      }
      if (!set) this.#learned.set(e.vni, (set = new Set()));
      if (!set.has(e.mac)) {
        set.add(e.mac);
        changed = true;
      }
    }
    if (changed) this.#publishSoon();
    this.#checkDrops();
  }

  /** Replaces what is known of local learning with a walk of the FDB; publishes what changed. */
  #walk(why: string | null): void {
    // before the hold settles the data path may not be open, or may be another daemon's
    if (this.#closed || !this.#released) return;
    let learned: Map<number, string[]>;
    // read before the walk: an edit during it is caught by the next check
    if (this.#generation) this.#genSeen = this.#readGeneration();
    try {
      learned = this.#o.learned();
    } catch (e) {
      this.#o.log(`cluster: reading learned entries${why ? ` (${why})` : ''}: ${(e as Error).message}`);
      return;
    }
    this.counters.learnWalks++;
    this.#learned = new Map([...learned].map(([vni, macs]) => [vni, new Set(macs)]));
    this.#publishIfChanged();
  }

  /** Gathers the events of the next few milliseconds into one publish (one etcd txn). */
  #publishSoon(): void {
    if (this.#coalesce) return;
    this.#coalesce = setTimeout(() => {
      this.#coalesce = undefined;
      this.counters.learnBatches++;
      this.#publishIfChanged();
    }, this.#o.learnCoalesceMs ?? COALESCE_MS);
  }

  #learningText(): string {
    if (!this.#feed) return `FDB walk every ${this.#walkMs} ms (${this.#feedOffered ? 'learn events unavailable' : 'the pinned data path predates xv_learn_ring'})`;
    return `learn events (BPF ring buffer), published after ${this.#o.learnCoalesceMs ?? COALESCE_MS} ms in one txn; ` +
      `FDB walk every ${this.#walkMs} ms, after each apply, when events were lost` +
      `${this.#genTimer ? ` and within ${GEN_CHECK_MS} ms of an edit of the maps` : ''}`;
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
    for (const v of l.vnis) {
      const macs = [...new Set([...v.macs, ...(this.#learned.get(v.vni) ?? [])])].sort();
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
      learning: this.#learningText(),
      at: new Date(now).toISOString(),
    };
  }

  #writeStatus(): void {
    // A daemon refused on a pin dir another one serves writes nothing there.
    if (!this.#released) return;
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
      ['xvtep_cluster_learn_events_total', 'counter', 'Local learning events received from the data path (xv_learn_ring)', s.counters.learnEvents],
      ['xvtep_cluster_learn_ring_drops_total', 'counter', 'Local learning events the data path lost to a full ring since this agent started (each led to an FDB walk)', s.counters.learnRingDrops],
      ['xvtep_cluster_learn_walks_total', 'counter', 'FDB walks for local learning (periodic, after applies, after lost events)', s.counters.learnWalks],
      ['xvtep_cluster_learn_batches_total', 'counter', 'Coalesced publishes of learning events', s.counters.learnBatches],
      ['xvtep_cluster_fdb_ahead_total', 'counter', "Other members' FDB entries written into the maps as their record arrived, ahead of the full apply", s.counters.fdbAhead],
      ['xvtep_cluster_applies_ahead_total', 'counter', 'Cluster views that only added MACs toward existing peers, complete once written ahead: no full apply', s.counters.appliesAhead],
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

/** Whether `next` only adds FDB entries to `prev` (same VNIs, peers, neighbours; no entry gone or moved). */
function onlyFdbAdded(prev: ClusterView, next: ClusterView): boolean {
  const pk = Object.keys(prev.vnis), nk = Object.keys(next.vnis);
  if (pk.length !== nk.length) return false;
  for (const k of nk) {
    const a = prev.vnis[k], b = next.vnis[k]!;
    if (!a || JSON.stringify(a.peers) !== JSON.stringify(b.peers) || JSON.stringify(a.neighbors) !== JSON.stringify(b.neighbors)) return false;
    const now = new Map(b.fdb.map((e) => [e.mac, e.remote]));
    for (const e of a.fdb) if (now.get(e.mac) !== e.remote) return false;
  }
  return true;
}

function keep<T>(prev: Map<string, T>, next: Map<string, T>, id: string): void {
  const v = prev.get(id);
  if (v !== undefined && prev !== next) next.set(id, v);
}
