// ClusterFdbWriter: other members' FDB entries (and new members' addresses in
// the decap allow-list) written into the real maps as their record arrives,
// ahead of the full apply, and only what that apply would write the same way.
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { ClusterFdbWriter } from '../../src/daemon/cluster-fdb.js';
import { describeKernel } from '../helpers/kernel.js';
import { ADDR, DpEnv } from '../helpers/dpenv.js';

const V = 3201;
const view = (fdb: Array<[string, string]>, peers = [ADDR.peer4, ADDR.peer4b]) => ({ vnis: { [String(V)]: { peers, fdb: fdb.map(([mac, remote]) => ({ mac, remote })), neighbors: [] } } });
const NOT_A_PEER = '192.0.2.99';

describeKernel('ClusterFdbWriter', () => {
  let env: DpEnv;
  const entry = (mac: string) => {
    const r = env.dp.fdb.get(V, mac);
    return r && { static: r.static, dest: r.dest.kind === 'remote' ? r.dest.remote : `if${r.dest.ifindex}` };
  };
  beforeAll(async () => {
    env = await DpEnv.create('cfw');
  });
  afterAll(() => env?.destroy());
  beforeEach(() => {
    const all = env.dp.fdb.list();
    if (all.length) env.dp.fdb.deleteMany(all);
    env.dp.deleteVni(V);
    env.configureRaw();
    env.vni(V, { learning: true, endpoints: [env.ifx.ep1], peers: [ADDR.peer4, ADDR.peer4b] });
  });

  it('writes new MACs of peers as static entries toward them, once; a MAC of a member not yet a peer waits for the apply', () => {
    const w = new ClusterFdbWriter(env.dp);
    const gen = env.dp.gen.get(0);
    const v = view([['02:c0:00:00:00:01', ADDR.peer4], ['02:c0:00:00:00:02', ADDR.peer4b], ['02:c0:00:00:00:03', NOT_A_PEER]]);
    expect(w.write(v)).toEqual({ written: 2, allowed: 0, pending: 1, replacedLocal: [] });
    expect(['02:c0:00:00:00:01', '02:c0:00:00:00:02', '02:c0:00:00:00:03'].map(entry)).toEqual([
      { static: true, dest: ADDR.peer4 }, { static: true, dest: ADDR.peer4b }, undefined,
    ]);
    expect(env.dp.gen.get(0)).toBe(gen); // only additions: no cached decision changes
    expect(w.write(v)).toEqual({ written: 0, allowed: 0, pending: 1, replacedLocal: [] });
    // the member became a peer (the apply did that): its MAC goes in at the next view
    env.dp.peers.add(V, NOT_A_PEER, { statsSlot: 5, flags: 0 });
    expect(w.write(v)).toEqual({ written: 1, allowed: 0, pending: 0, replacedLocal: [] });
    expect(entry('02:c0:00:00:00:03')).toEqual({ static: true, dest: NOT_A_PEER });
  });

  it('leaves static entries alone (the file\'s, or a move between members), replaces learned ones and says which were local', () => {
    env.staticRemote(V, '02:c1:00:00:00:01', ADDR.peer4b); // the file says peer4b
    env.dp.fdb.set({ vni: V, mac: '02:c1:00:00:00:02', dest: { kind: 'local', ifindex: env.ifx.ep1 }, static: false, updatedNs: 1 });
    env.dp.fdb.set({ vni: V, mac: '02:c1:00:00:00:03', dest: { kind: 'remote', remote: ADDR.peer4b }, static: false, updatedNs: 1 });
    const gen = env.dp.gen.get(0);
    const w = new ClusterFdbWriter(env.dp);
    const r = w.write(view([['02:c1:00:00:00:01', ADDR.peer4], ['02:c1:00:00:00:02', ADDR.peer4], ['02:c1:00:00:00:03', ADDR.peer4]]));
    expect(r).toEqual({ written: 2, allowed: 0, pending: 1, replacedLocal: [{ vni: V, mac: '02:c1:00:00:00:02' }] });
    expect(['02:c1:00:00:00:01', '02:c1:00:00:00:02', '02:c1:00:00:00:03'].map(entry)).toEqual([
      { static: true, dest: ADDR.peer4b }, { static: true, dest: ADDR.peer4 }, { static: true, dest: ADDR.peer4 },
    ]);
    expect(env.dp.gen.get(0)).not.toBe(gen); // bumped: a cached decision may point at the old location
  });

  it('a new member is allowed at once (decap allow-list, with the VNI\'s slot and flags) and its MACs written; its flood-list entry waits for the apply', () => {
    const w = new ClusterFdbWriter(env.dp);
    const flood = env.dp.flood.get(V);
    const copyOf = (a: string) => env.dp.peers.listWithCopies().find((x) => x.vni === V && x.address === a)?.copy;
    const v = view([['02:c3:00:00:00:01', NOT_A_PEER]], [ADDR.peer4, ADDR.peer4b, NOT_A_PEER]);
    expect(env.dp.peers.has(V, NOT_A_PEER)).toBe(false);
    expect(w.write(v)).toEqual({ written: 1, allowed: 1, pending: 0, replacedLocal: [] });
    expect(env.dp.peers.has(V, NOT_A_PEER)).toBe(true);
    expect(copyOf(NOT_A_PEER)).toEqual(copyOf(ADDR.peer4));
    expect(copyOf(NOT_A_PEER)).toBeDefined();
    expect(entry('02:c3:00:00:00:01')).toEqual({ static: true, dest: NOT_A_PEER });
    expect(env.dp.flood.get(V)).toEqual(flood);
    expect(w.write(v)).toEqual({ written: 0, allowed: 0, pending: 0, replacedLocal: [] });
  });

  it('a MAC that left the view and comes back after the apply removed it is written again', () => {
    const w = new ClusterFdbWriter(env.dp);
    const v = view([['02:c2:00:00:00:01', ADDR.peer4]]);
    expect(w.write(v).written).toBe(1);
    expect(w.write(view([])).written).toBe(0);
    env.dp.fdb.delete(V, '02:c2:00:00:00:01'); // what the full apply does
    expect(w.write(v).written).toBe(1);
    expect(entry('02:c2:00:00:00:01')).toEqual({ static: true, dest: ADDR.peer4 });
  });
});
