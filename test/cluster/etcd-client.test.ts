// The etcd v3 client xvtep relies on (npm etcd3 1.1.2, last release 2024) is
// checked here against a real etcd 3.4 (Debian's etcd-server) in a lab
// namespace, part by part: leases and keepalive, a lost lease and a new one,
// watch from a revision, the compaction error, etcd down and back, TLS with
// client certificates, and a 3-member cluster losing its leader. The exact
// events and error classes asserted here are what docs/etcd-client.md names.
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3, EtcdError, EtcdLeaseInvalidError, GRPCOutOfRangeError, GRPCUnavailableError, isRecoverableError, type IOptions, type IKeyValue, type Lease } from 'etcd3';
import { handleWhen, noop, retry } from 'cockatiel';
import { Lab, sh } from '../helpers/lab.js';
// @ts-expect-error: a plain .mjs bench module without types
import { seedMembers, simMac, simName } from '../../bench/lib/etcd-seed.mjs';
import { startEtcd, type EtcdCluster, type EtcdMember } from '../helpers/etcd.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A constant backoff for watch reconnection (etcd3's default grows to 30 s). */
function constantBackoff(ms: number) {
  const b = { duration: ms, next: () => b };
  return b;
}

/** Resolves with the first emission of event (its arguments), rejects after ms. */
function nextEvent<T extends unknown[] = unknown[]>(em: EventEmitter, event: string, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      em.off(event, on);
      reject(new Error(`no '${event}' within ${ms} ms`));
    }, ms);
    const on = (...args: unknown[]) => {
      clearTimeout(t);
      resolve(args as T);
    };
    em.once(event, on);
  });
}

/** Polls fn until it returns true (bounded); returns the milliseconds it took. */
async function until(fn: () => Promise<boolean>, ms: number, what: string, stepMs = 100): Promise<number> {
  const t0 = Date.now();
  let last: unknown;
  while (Date.now() - t0 < ms) {
    try {
      if (await fn()) return Date.now() - t0;
    } catch (e) {
      last = e;
    }
    await sleep(stepMs);
  }
  throw new Error(`${what}: not true after ${ms} ms${last ? ` (last error: ${String(last)})` : ''}`);
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection, got a value');
}

const hex = (leaseId: string) => BigInt(leaseId).toString(16);

describe('etcd3 against one etcd 3.4 member', () => {
  let lab: Lab;
  let etcd: EtcdCluster;
  const clients: Etcd3[] = [];
  const client = (extra: Partial<IOptions> = {}) => {
    const c = new Etcd3({ hosts: etcd.rootEndpoints, ...extra });
    clients.push(c);
    return c;
  };
  const keyExists = async (k: string) => {
    const r = await etcd.etcdctl(['get', '--keys-only', k]);
    return r.out.trim() === k;
  };

  beforeAll(async () => {
    lab = new Lab('ec');
    etcd = await startEtcd(lab);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await etcd?.destroy();
    lab?.destroy();
  });

  it('puts, gets and deletes keys under a lease; revoking the lease removes its keys', async () => {
    const c = client();
    const lease = c.lease(10);
    const id = await lease.grant();
    await lease.put('/t1/a').value('1');
    await lease.put('/t1/b').value('2');
    const res = await c.getAll().prefix('/t1/').exec();
    expect(res.kvs.map((kv) => [kv.key.toString(), kv.value.toString(), kv.lease])).toEqual([['/t1/a', '1', id], ['/t1/b', '2', id]]);
    // etcd itself says the keys hang on that lease (etcdctl speaks hex)
    const ttl = await etcd.etcdctl(['lease', 'timetolive', hex(id), '--keys']);
    const attached = /attached keys\(\[([^\]]*)\]\)/.exec(ttl.out)?.[1]?.split(' ').sort(); // etcd lists them in no set order
    expect(attached).toEqual(['/t1/a', '/t1/b']);
    expect(await c.delete().key('/t1/a').exec()).toMatchObject({ deleted: '1' });
    expect(await c.get('/t1/a').string()).toBeNull();
    await lease.revoke();
    expect(await keyExists('/t1/b')).toBe(false);
  });

  it('keepalive holds keys well past the TTL; without it they go at the TTL', async () => {
    const c = client();
    const lease = c.lease(2);
    let kept = 0;
    lease.on('keepaliveSucceeded', () => kept++);
    await lease.put('/t2/k').value('v');
    await sleep(5000); // 2.5 TTLs
    expect(await keyExists('/t2/k')).toBe(true);
    expect(kept).toBeGreaterThanOrEqual(3); // one every TTL/3
    // release(): keepalive stops, nothing revoked — what a SIGKILLed daemon leaves behind
    const t0 = Date.now();
    lease.release();
    await until(async () => !(await keyExists('/t2/k')), 6000, 'key of a released 2 s lease gone');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });

  it('a lease revoked by another client is reported as lost (EtcdLeaseInvalidError); a new one works', async () => {
    const c = client();
    const lease = c.lease(3);
    const id = await lease.grant();
    await lease.put('/t3/k').value('v');
    const lost = nextEvent<[Error]>(lease, 'lost', 6000); // keepalives go every TTL/3 = 1 s
    await etcd.etcdctl(['lease', 'revoke', hex(id)]);
    const [err] = await lost;
    expect(err).toBeInstanceOf(EtcdLeaseInvalidError);
    expect(lease.revoked()).toBe(true);
    expect(await keyExists('/t3/k')).toBe(false);
    // a put under the dead lease is refused by etcd with the same class
    const putErr = await errorOf(c.put('/t3/x').value('v').lease(id).exec());
    expect(putErr).toBeInstanceOf(EtcdLeaseInvalidError);
    expect(putErr.message).toMatch(/requested lease not found/);
    const fresh = c.lease(3);
    expect(await fresh.grant()).not.toBe(id);
    await fresh.put('/t3/k').value('again');
    expect(await c.get('/t3/k').string()).toBe('again');
    await fresh.revoke();
  });

  it('etcd away less than the TTL: keepalive resumes, the lease and its keys survive', async () => {
    const c = client();
    const lease = c.lease(6);
    let lost: unknown;
    lease.on('lost', (e) => (lost = e));
    await lease.put('/t4/k').value('v');
    await etcd.members[0]!.stop();
    await sleep(1500);
    etcd.members[0]!.start();
    await etcd.waitHealthy();
    // the restarted etcd gives every lease a full TTL again; the client's keepalive reconnects
    await nextEvent(lease, 'keepaliveSucceeded', 8000);
    expect(lost).toBeUndefined();
    expect(await keyExists('/t4/k')).toBe(true);
    await lease.revoke();
  });

  it('etcd away more than 2×TTL: the client declares the lease lost; its keys come back with etcd and expire a TTL later', async () => {
    const c = client();
    // TTL 5: after the restart the old lease lives 5 s more, time enough to see its keys back on a loaded machine
    const lease = c.lease(5);
    const id = await lease.grant();
    await lease.put('/t5/old').value('v');
    await lease.put('/t5/moved').value('v');
    const lost = nextEvent<[Error]>(lease, 'lost', 25_000);
    const t0 = Date.now();
    await etcd.members[0]!.stop();
    try {
      const [err] = await lost;
      const after = Date.now() - t0;
      expect(err).toBeInstanceOf(EtcdLeaseInvalidError);
      expect(err.message).toMatch(/lost connection to etcd and our lease has expired/);
      expect(after).toBeGreaterThanOrEqual(5000); // not before the TTL could have run out
    } finally {
      etcd.members[0]!.start();
      await etcd.waitHealthy();
    }
    // The old lease is still in etcd's data dir, renewed to a full TTL by the restart.
    expect(await keyExists('/t5/old')).toBe(true);
    // What xvtep does on 'lost': grant a new lease and put its records again under it.
    const fresh = c.lease(10);
    const freshId = await fresh.grant();
    expect(freshId).not.toBe(id);
    await fresh.put('/t5/moved').value('v2');
    await until(async () => !(await keyExists('/t5/old')), 15_000, 'keys of the orphaned lease expire');
    // the re-put key moved to the new lease and stays
    expect(await c.get('/t5/moved').string()).toBe('v2');
    await fresh.revoke();
  });

  it('a restarted daemon can take its records back: read the old lease from the keys, re-put under a new lease, revoke the old', async () => {
    const c = client();
    const old = c.lease(30);
    const oldId = await old.grant();
    await old.put('/ta/rec').value('same');
    old.release(); // the daemon was SIGKILLed: no revoke, no more keepalives
    // the restarted daemon: etcd3's Lease cannot adopt an existing ID, but the raw lease RPCs take one
    const kv = (await c.get('/ta/rec').exec()).kvs[0]!;
    expect(kv.lease).toBe(oldId);
    const left = await c.leaseClient.leaseTimeToLive({ ID: kv.lease });
    expect(Number(left.TTL)).toBeGreaterThan(0);
    expect(Number(left.TTL)).toBeLessThanOrEqual(30);
    const w = await c.watch().prefix('/ta/').startRevision(String(Number(kv.mod_revision) + 1)).create();
    const events: string[] = [];
    w.on('put', (k: IKeyValue, prev?: IKeyValue) => events.push(`put ${k.value.toString()} prev=${prev?.value.toString()}`));
    w.on('delete', (k: IKeyValue) => events.push(`delete ${k.key.toString()}`));
    const fresh = c.lease(30);
    await fresh.put('/ta/rec').value('same');
    await c.leaseClient.leaseRevoke({ ID: oldId });
    await sleep(500);
    // watchers see one put with the same value (no delete): a no-op for a reconcile that diffs values
    expect(events).toEqual(['put same prev=undefined']);
    expect(await c.get('/ta/rec').string()).toBe('same');
    await w.cancel();
    await fresh.revoke();
  });

  it('a batch of 128 puts under one lease in one transaction (the default --max-txn-ops); 129 is refused', async () => {
    const c = client();
    const lease = c.lease(30);
    const id = await lease.grant();
    const op = (i: number) => ({ request_put: { key: Buffer.from(`/tb/${String(i).padStart(4, '0')}`), value: Buffer.from(String(i)), lease: id } });
    const before = await etcd.revision();
    const r = await c.kv.txn({ compare: [], success: Array.from({ length: 128 }, (_, i) => op(i)), failure: [] });
    expect(r.succeeded).toBe(true);
    expect(Number(r.header.revision)).toBe(before + 1); // one revision for the whole batch
    expect(await c.getAll().prefix('/tb/').count()).toBe(128);
    const tooMany = await errorOf(c.kv.txn({ compare: [], success: Array.from({ length: 129 }, (_, i) => op(i)), failure: [] }));
    expect(tooMany.message).toMatch(/too many operations in txn request/);
    await lease.revoke();
    expect(await c.getAll().prefix('/tb/').count()).toBe(0);
  });

  it('the start-up bench seeder writes 1,000 members × 10 MACs under one lease in 16 transactions', async () => {
    const c = client();
    const before = await etcd.revision();
    const r = await seedMembers(c, { prefix: '/seed/', members: 1000, macsPerMember: 10, vnis: [100], ttlSeconds: 30 });
    expect(r).toMatchObject({ keys: 2000, txns: 16, revision: before + 16 });
    expect(await c.getAll().prefix('/seed/members/').count()).toBe(1000);
    expect(await c.getAll().prefix('/seed/vnis/100/').count()).toBe(1000);
    const m = JSON.parse((await c.get(`/seed/members/${simName(999)}`).string())!);
    expect(m).toMatchObject({ v: 1, name: simName(999), family: 6, port: 4789, vnis: [100] });
    const v = JSON.parse((await c.get(`/seed/vnis/100/${simName(999)}`).string())!);
    expect(v.macs).toHaveLength(10);
    expect(v.macs[9]).toBe(simMac(999, 9));
    expect((await c.get(`/seed/vnis/100/${simName(0)}`).exec()).kvs[0]!.lease).toBe(r.leaseId);
    await (r.lease as Lease).revoke();
    expect(await c.getAll().prefix('/seed/').count()).toBe(0);
  });

  it('a watch from listed revision + 1 delivers exactly the later events, in order', async () => {
    const c = client();
    await c.put('/t6/a').value('1');
    await c.put('/t6/b').value('1');
    const listed = await c.getAll().prefix('/t6/').exec();
    const rev = Number(listed.header.revision);
    expect(listed.kvs.length).toBe(2);
    await c.put('/t6/c').value('1');
    await c.delete().key('/t6/a').exec();
    await c.put('/t6/b').value('2');
    const seen: { type: string; key: string; value: string; mod: number }[] = [];
    const w = await c.watch().prefix('/t6/').startRevision(String(rev + 1)).create();
    w.on('put', (kv: IKeyValue) => seen.push({ type: 'put', key: kv.key.toString(), value: kv.value.toString(), mod: Number(kv.mod_revision) }));
    w.on('delete', (kv: IKeyValue) => seen.push({ type: 'delete', key: kv.key.toString(), value: '', mod: Number(kv.mod_revision) }));
    await until(async () => seen.length >= 3, 5000, 'three events');
    await c.put('/t6/d').value('1');
    await until(async () => seen.length >= 4, 5000, 'the fourth (live) event');
    await sleep(300);
    expect(seen.map(({ type, key, value }) => [type, key, value])).toEqual([
      ['put', '/t6/c', '1'], ['delete', '/t6/a', ''], ['put', '/t6/b', '2'], ['put', '/t6/d', '1']]);
    expect(seen.map((e) => e.mod)).toEqual([rev + 1, rev + 2, rev + 3, rev + 4]);
    expect(Number(w.lastRevision())).toBe(rev + 5);
    await w.cancel();
  });

  it('known gap: on connect the resume revision jumps to the current revision before the replayed events arrive', async () => {
    const c = client();
    const rev = await etcd.revision();
    for (let i = 0; i < 5; i++) await c.put(`/tg/${i}`).value('1');
    const w = c.watch().prefix('/tg/').startRevision(String(rev + 1)).watcher();
    let atConnect: { last: number; events: number } | undefined;
    let events = 0;
    w.on('put', () => events++);
    w.on('connected', () => (atConnect = { last: Number(w.lastRevision()), events }));
    await until(async () => events === 5, 5000, 'the five replayed events');
    // Had the stream broken right after 'connected', etcd3 would have resumed from rev + 6 and
    // skipped rev + 1 .. rev + 5: so xvtep relists after every 'disconnected' instead of trusting the resume.
    expect(atConnect).toEqual({ last: rev + 6, events: 0 });
    await w.cancel();
  });

  it('a watch from a compacted revision ends with an error event (EtcdError "Watcher canceled: "), no data; a live watch survives compaction', async () => {
    const c = client();
    await c.put('/t7/a').value('1');
    const listed = await c.getAll().prefix('/t7/').exec();
    const rev = Number(listed.header.revision);
    // a watch that is up to date when the compaction happens keeps going
    const live: string[] = [];
    const lw = await c.watch().prefix('/t7/').startRevision(String(rev + 1)).create();
    lw.on('put', (kv: IKeyValue) => live.push(kv.key.toString()));
    await c.put('/t7/b').value('1');
    await c.put('/t7/c').value('1');
    await until(async () => live.length === 2, 5000, 'live events before compaction');
    const compacted = await etcd.compact();
    expect(compacted).toBeGreaterThan(rev + 1);
    await c.put('/t7/d').value('1');
    await until(async () => live.length === 3, 5000, 'live event after compaction');
    expect(live).toEqual(['/t7/b', '/t7/c', '/t7/d']);
    await lw.cancel();

    // reading at a compacted revision: GRPCOutOfRangeError (gRPC code 11) with etcd's message
    const readErr = await errorOf(c.get('/t7/a').revision(String(rev)).string());
    expect(readErr).toBeInstanceOf(GRPCOutOfRangeError);
    expect(readErr.message).toMatch(/required revision has been compacted/);

    // watching from it: 'connected', then 'error' — the compact revision itself is not passed on
    const w = c.watch().prefix('/t7/').startRevision(String(rev + 1)).watcher();
    let data = 0;
    w.on('data', () => data++);
    const [err] = await nextEvent<[Error]>(w, 'error', 5000);
    expect(err).toBeInstanceOf(EtcdError);
    expect(err.message).toBe('Watcher canceled: ');
    expect(data).toBe(0);
    // how to recover: list again (its revision) and watch from there + 1
    const relisted = await c.getAll().prefix('/t7/').exec();
    expect(relisted.kvs.map((kv) => kv.key.toString())).toEqual(['/t7/a', '/t7/b', '/t7/c', '/t7/d']);
    const w2 = await c.watch().prefix('/t7/').startRevision(String(Number(relisted.header.revision) + 1)).create();
    const got = nextEvent<[IKeyValue]>(w2, 'put', 5000);
    await c.put('/t7/e').value('1');
    expect((await got)[0].key.toString()).toBe('/t7/e');
    await w2.cancel();
  });

  it('etcd down: calls fail fast with GRPCUnavailableError, then the open circuit; the watch reconnects and resumes when etcd returns', async () => {
    // 1 s between watch reconnects: its failed attempts count on the same circuit breaker the get below is to meet closed
    const c = client({ faultHandling: { watchBackoff: constantBackoff(1000) } });
    const w = await c.watch().prefix('/t8/').create();
    const puts: string[] = [];
    w.on('put', (kv: IKeyValue) => puts.push(kv.value.toString()));
    await c.put('/t8/k').value('before');
    await until(async () => puts.length === 1, 5000, 'event before the outage');
    const disconnected = nextEvent<[Error]>(w, 'disconnected', 10_000);
    await etcd.members[0]!.stop();
    try {
      const [de] = await disconnected;
      // a stopping etcd either drops the connection or resets the stream first, whichever wins
      expect(de.message).toMatch(/^14 UNAVAILABLE: Connection dropped|^13 INTERNAL: Received RST_STREAM/);
      const t0 = Date.now();
      const e1 = await errorOf(c.get('/t8/k').string());
      const failMs = Date.now() - t0;
      expect(e1).toBeInstanceOf(GRPCUnavailableError);
      expect(failMs).toBeLessThan(5000); // no deadline needed: nothing listens, it fails at once
      // three failures in a row open the host's circuit (5 s): calls then fail without trying
      await errorOf(c.get('/t8/k').string());
      await errorOf(c.get('/t8/k').string());
      const e3 = await errorOf(c.get('/t8/k').string());
      // cockatiel's BrokenCircuitError (its .name stays 'Error'; etcd3 does not re-export the class)
      expect(e3.constructor.name).toBe('BrokenCircuitError');
      expect(e3.message).toBe('Execution prevented because the circuit breaker is open');
    } finally {
      etcd.members[0]!.start();
      await etcd.waitHealthy();
    }
    const reconnected = nextEvent(w, 'connected', 15_000);
    // calls work again once the circuit half-opens (at most 5 s after it opened)
    const backMs = await until(async () => (await c.get('/t8/k').string()) === 'before', 15_000, 'reads after etcd returned', 250);
    expect(backMs).toBeLessThan(15_000);
    await reconnected;
    await c.put('/t8/k').value('after');
    await until(async () => puts.length === 2, 5000, 'event after the outage');
    expect(puts).toEqual(['before', 'after']);
    await w.cancel();
  });
});

describe('etcd3 and etcd with TLS client-certificate auth', () => {
  let lab: Lab;
  let etcd: EtcdCluster;
  const clients: Etcd3[] = [];
  beforeAll(async () => {
    lab = new Lab('et');
    etcd = await startEtcd(lab, { tls: true });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await etcd?.destroy();
    lab?.destroy();
  });

  it('a client with the CA and a client certificate reads and writes', async () => {
    const c = new Etcd3({ hosts: etcd.rootEndpoints, credentials: etcd.clientCredentials() });
    clients.push(c);
    await c.put('/tls/k').value('v');
    expect(await c.get('/tls/k').string()).toBe('v');
  });

  it('a member restarted (SIGTERM, same data dir) keeps its data and takes TLS clients again', async () => {
    const c = new Etcd3({ hosts: etcd.rootEndpoints, credentials: etcd.clientCredentials() });
    clients.push(c);
    await c.put('/tls/durable').value('kept');
    await etcd.members[0]!.restart();
    await until(async () => (await c.get('/tls/durable').string()) === 'kept', 15_000, 'read after restart', 250);
  });

  it('a client without a certificate is refused (GRPCUnavailableError, no data)', async () => {
    const creds = etcd.clientCredentials()!;
    const c = new Etcd3({ hosts: etcd.rootEndpoints, credentials: { rootCertificate: creds.rootCertificate } });
    clients.push(c);
    const e = await errorOf(c.get('/tls/k').string());
    expect(e).toBeInstanceOf(GRPCUnavailableError);
    expect(e.message).toMatch(/bad certificate|alert number 42/);
    // plain HTTP/2 against the TLS port fails the same way
    const plain = new Etcd3({ hosts: etcd.rootEndpoints.map((u) => u.replace('https:', 'http:')) });
    clients.push(plain);
    const e2 = await errorOf(plain.get('/tls/k').string());
    expect(e2).toBeInstanceOf(GRPCUnavailableError);
    // and etcd's own client, without a cert, is refused too
    const r = await etcd.etcdctl(['get', '/tls/k'], { allowFail: true, timeoutMs: 4000, clientCert: false });
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/context deadline exceeded|bad certificate/);
  });
});

describe('etcd3 and a 3-member etcd cluster losing a member', () => {
  let lab: Lab;
  let etcd: EtcdCluster;
  let c: Etcd3 | undefined;
  beforeAll(async () => {
    lab = new Lab('e3');
    etcd = await startEtcd(lab, { members: 3 });
  });
  afterAll(async () => {
    c?.close();
    await etcd?.destroy();
    lab?.destroy();
  });

  async function leaderAndFollower(): Promise<{ leader: EtcdMember; follower: EtcdMember }> {
    const st = await etcd.etcdctl(['endpoint', 'status', '--write-out=json']);
    const status = JSON.parse(st.out) as { Endpoint: string; Status: { header: { member_id: number }; leader: number } }[];
    // JSON numbers lose int64 precision, but equally on both sides
    const leaderUrl = status.find((s) => s.Status.header.member_id === s.Status.leader)!.Endpoint;
    const leader = etcd.members.find((m) => m.clientUrl === leaderUrl)!;
    expect(leader).toBeDefined();
    return { leader, follower: etcd.members.find((m) => m !== leader && m.running)! };
  }

  it('a follower SIGKILLed: without a retry policy calls that land on it fail; one retry on another host hides it', async () => {
    const deadline = { defaultCallOptions: (ctx: { isStream: boolean }) => (ctx.isStream ? {} : { deadline: Date.now() + 2000 }) };
    const bare = new Etcd3({ hosts: etcd.rootEndpoints, ...deadline, faultHandling: { host: () => noop, global: noop } });
    const retried = new Etcd3({ hosts: etcd.rootEndpoints, ...deadline,
      faultHandling: { host: () => noop, global: retry(handleWhen(isRecoverableError), { maxAttempts: 2 }) } });
    try {
      await bare.put('/tf/k').value('v');
      const { follower } = await leaderAndFollower();
      await follower.kill();
      const failures = { bare: [] as Error[], retried: [] as Error[] };
      for (let i = 0; i < 30; i++) {
        await bare.get('/tf/k').string().catch((e: Error) => failures.bare.push(e));
        await retried.get('/tf/k').string().catch((e: Error) => failures.retried.push(e));
      }
      // each call picks a host at random: 30 calls all missing the dead one has odds (2/3)^30 ≈ 5e-6
      expect(failures.bare.length).toBeGreaterThan(0);
      expect(failures.bare.every((e) => e instanceof GRPCUnavailableError)).toBe(true);
      expect(failures.retried).toEqual([]);
      follower.start();
      await etcd.waitHealthy();
    } finally {
      bare.close();
      retried.close();
    }
  });

  it('writes, the watch and the lease carry on when the leader is SIGKILLed', async () => {
    c = new Etcd3({ hosts: etcd.rootEndpoints, faultHandling: { watchBackoff: constantBackoff(250) },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 2000 }) });
    const lease = c.lease(5);
    let lost: unknown;
    lease.on('lost', (e) => (lost = e));
    await lease.put('/t9/member').value('me');
    const seen = new Set<string>();
    const w = await c.watch().prefix('/t9/n/').create();
    w.on('put', (kv: IKeyValue) => seen.add(kv.key.toString()));

    const { leader } = await leaderAndFollower();
    await leader.kill();

    let retried = 0;
    for (let i = 0; i < 20; i++) {
      // while the two others elect a leader a write can fail; one bounded retry loop, as xvtep will have
      await until(async () => {
        try {
          await c!.put(`/t9/n/${i}`).value(String(i));
          return true;
        } catch (e) {
          retried++;
          throw e;
        }
      }, 20_000, `put ${i} with the leader dead`, 200);
    }
    await until(async () => seen.size === 20, 10_000, 'all 20 events watched');
    expect(lost).toBeUndefined();
    expect(await c.get('/t9/member').string()).toBe('me');
    expect(retried).toBeLessThan(100);
    await w.cancel();
    leader.start();
    await etcd.waitHealthy();
    await lease.revoke();
  });

  it('destroy() leaves no etcd process, no root link and no data dir', async () => {
    const pids = etcd.members.map((m) => m.pid);
    expect(pids.every((p) => typeof p === 'number')).toBe(true);
    c?.close();
    c = undefined;
    await etcd.destroy();
    expect(etcd.members.some((m) => m.running)).toBe(false);
    for (const p of pids) expect(existsSync(`/proc/${p}`)).toBe(false);
    expect(existsSync(etcd.dir)).toBe(false);
    expect(sh('ip', ['link', 'show', etcd.rootIf!], { allowFail: true }).trim()).toBe('');
  });
});
