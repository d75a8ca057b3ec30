// Setting up xvtep on the VTEP host: the one place the benchmarks touch the
// data path API (src/datapath, compiled to dist/). Everything the harness
// needs from xvtep goes through the object setupXvtep() returns, so when the
// manager lands only this file changes.
//
// profile.endpointXdp: attach xv_xdp_endpoint on the endpoint veth (small
// frames from an XDP generator). Off for TCP: XDP on a veth clears its
// peer's TSO (see bpf/endpoint.h), so bulk TCP goes through xv_tc_endpoint.
import { ifindexOf } from '../../dist/bpf/index.js';
import { Datapath } from '../../dist/datapath/datapath.js';
import * as tables from '../../dist/datapath/tables.js';
import { T } from './topo.mjs';

const SLOT = 1;

export async function setupXvtep(env, { fdbMax = 65536, vnis = 4096 } = {}) {
  const { lab, vtep, ifx } = env;
  const dp = await Datapath.load({ sizes: { fdb: fdbMax, vnis } });
  const settings = { learning: true, allowUnknownPeers: false, proxyArp: false, proxyNd: false, statsSlot: SLOT };
  const info = tables.vniInfoOf(settings);
  // Devmap updates resolve ifindexes in the calling thread's netns: the
  // whole setup runs inside the VTEP host's.
  lab.in(vtep, () => {
    dp.configure({
      underlayIfindex: ifx.u0, port: T.port, localAddress: T.uly.ip, underlayMtu: 1500, srcPortMin: 0, srcPortMax: 0,
      ttl: 64, tos: 0, tosInherit: false, df: 'unset', udp6ZeroChecksum: false, udp6ZeroChecksumRx: false, fdbRefreshMs: 1000,
      epChecksumComplete: false, nhCacheMs: 0,
    });
    dp.zeroStats(SLOT);
    dp.vnis.set(T.vni, settings);
    dp.peers.add(T.vni, T.gen.ip, info);
    dp.endpoints.set(ifx.e0, T.vni, info);
    dp.devs.set(ifx.e0, ifx.e0);
    dp.setUplink(ifx.u0); // what attachUnderlay() does: the encap fast path's devmap
    dp.fdb.set({ vni: T.vni, mac: T.sink.mac, dest: { kind: 'local', ifindex: ifx.e0 }, static: true, updatedNs: 0 });
    dp.fdb.set({ vni: T.vni, mac: T.remote.mac, dest: { kind: 'remote', remote: T.gen.ip }, static: true, updatedNs: 0 });
    dp.setFloodPorts(T.vni, [ifx.e0]);
    dp.flood.set({ vni: T.vni, remotes: [T.gen.ip], locals: [ifx.e0] });
    dp.bumpGeneration();
  });

  let links = [];
  let profile = { endpointXdp: true };
  return {
    name: 'xvtep',
    dp,
    via: 'src/datapath (Datapath.load + tables)',
    /** Sets the attach profile used by the next up(). */
    profile(p) {
      profile = { ...profile, ...p };
      return this;
    },
    up() {
      links = lab.in(vtep, () => {
        // as attachUnderlay() in native mode: XDP plus the tcx half of the GRO hand-off
        const l = [dp.program('xv_xdp_underlay').attachXdp('u0', { mode: 'driver' }), dp.program('xv_tc_underlay').attachTcx('u0', 'ingress')];
        dp.setRxGro(ifx.u0);
        l.push(dp.program('xv_tc_endpoint').attachTcx('e0', 'ingress'));
        if (profile.endpointXdp) l.push(dp.program('xv_xdp_endpoint').attachXdp('e0', { mode: 'driver' }));
        return l;
      });
      dp.bumpGeneration();
    },
    down() {
      dp.setRxGro(0);
      for (const l of links) l.close();
      links = [];
    },
    program: (name) => dp.program(name),
    /** Static FDB entries towards the remote VTEP, in one batch; returns seconds. */
    fdbAddMany(macs) {
      const recs = macs.map((mac) => ({ vni: T.vni, mac, dest: { kind: 'remote', remote: T.gen.ip }, static: true, updatedNs: 0 }));
      const t0 = process.hrtime.bigint();
      dp.fdb.setMany(recs);
      return Number(process.hrtime.bigint() - t0) / 1e9;
    },
    fdbAdd(mac) {
      dp.fdb.set({ vni: T.vni, mac, dest: { kind: 'remote', remote: T.gen.ip }, static: true, updatedNs: 0 });
    },
    fdbDeleteMany(macs) {
      dp.fdb.deleteMany(macs.map((mac) => ({ vni: T.vni, mac })));
      dp.bumpGeneration();
    },
    fdbDelete(mac) {
      const had = dp.fdb.delete(T.vni, mac);
      dp.bumpGeneration();
      return had;
    },
    fdbCount: () => dp.fdb.map.count(),
    /** n more VNIs (each with its own stats slot), for the scrape scenario. */
    addVnis(n) {
      for (let i = 1; i <= n; i++) {
        if (T.vni + i === T.vni) continue;
        dp.vnis.set(T.vni + i, { ...settings, statsSlot: Math.min(SLOT + i, vnis) });
      }
    },
    vniCount: () => dp.vnis.map.count(),
    readAllStats: () => dp.readAllStats(),
    stats: () => dp.readStats(SLOT),
    close() {
      this.down();
      dp.close();
    },
  };
}

export { ifindexOf };
