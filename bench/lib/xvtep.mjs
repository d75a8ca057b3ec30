// xvtep on the VTEP host, set up the way a user does it: a config file and
// `xvtep attach -c FILE` (bin/xvtep, run in the VTEP namespace), `xvtep
// detach` to take it down. The harness then opens the pinned instance
// (Datapath.open, read-only use: its programs for BPF_PROG_TEST_RUN, its
// counters) and, for the control-plane and FDB-scaling scenarios only, writes
// FDB entries and VNIs through it, as `xvtep fdb add` does.
//
// profile({ endpointXdp }) picks the config's endpointXdp for the next up():
// 'auto' (the default: on the endpoint veth e0 that means tcx alone), 'on',
// 'off', 'frags'. variant() makes a named mode of one profile, so a report
// row names the configuration it measured.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ifindexOf } from '../../dist/bpf/index.js';
import { Datapath } from '../../dist/datapath/datapath.js';
import { mountBpffs, XVTEP } from './manager.mjs';
import { T } from './topo.mjs';

const SLOT = 1; // the manager gives the file's first VNI stats slot 1

/** The configuration a row measured, in the words of the config file. */
export const configName = (endpointXdp) => `xvtep attach, endpointXdp: ${endpointXdp}${endpointXdp === 'auto' ? ' (tcx on the veth e0)' : ''}`;

export async function setupXvtep(env, { fdbMax = 65536, vnis = 4096 } = {}) {
  const { lab, vtep } = env;
  const bpffs = `/run/${lab.prefix}-bpffs`;
  const unmount = mountBpffs(bpffs);
  const pinDir = join(bpffs, 'xvtep');
  const cfgPath = join(tmpdir(), `${lab.prefix}-xvtep.json`);
  const config = ({ endpointXdp, learning = true }) => ({
    underlay: { interface: T.uly.if, address: T.uly.ip, port: T.port, mtu: 1500 },
    vnis: [{
      vni: T.vni, endpoints: [T.ep.if], peers: [T.gen.ip], endpointXdp, learning,
      fdb: [{ mac: T.sink.mac, endpoint: T.ep.if }, { mac: T.remote.mac, remote: T.gen.ip }],
    }],
    metrics: { enabled: false },
    state: { pinDir },
    capacity: { fdb: fdbMax, vnis },
  });
  const cli = (...args) => {
    const r = spawnSync('ip', ['netns', 'exec', vtep, process.execPath, XVTEP, ...args], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`xvtep ${args.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr || '').trim()}`);
    return r;
  };

  let dp;
  let profile = { endpointXdp: 'auto' };
  let attachedAs = null;
  const xv = {
    name: 'xvtep',
    via: 'a config file and `xvtep attach -c FILE` / `xvtep detach` (bin/xvtep), each mode attached afresh',
    /** The attach command last run: the product's own words for the configuration. */
    notes: [],
    get dp() {
      if (!dp) throw new Error('xvtep is not attached');
      return dp;
    },
    /** Sets the config used by the next up(); endpointXdp true/false mean on/auto for older callers. */
    profile(p) {
      const x = p.endpointXdp === true ? 'on' : p.endpointXdp === false ? 'auto' : p.endpointXdp;
      // learning is per call (default on), so one variant's setting never leaks into the next
      profile = { endpointXdp: x ?? profile.endpointXdp, learning: p.learning ?? true };
      return this;
    },
    get configuration() {
      return configName(profile.endpointXdp);
    },
    up() {
      writeFileSync(cfgPath, JSON.stringify(config(profile), null, 1));
      const r = cli('attach', '-c', cfgPath);
      // what attach says about this host (not its closing summary line), once
      for (const line of (r.stderr || '').split('\n').map((l) => l.trim()).filter((l) => l && !/^xvtep: (attached|updated) /.test(l))) {
        if (!xv.notes.includes(line)) xv.notes.push(line);
      }
      attachedAs = profile.endpointXdp;
      dp = lab.in(vtep, () => Datapath.open(pinDir));
      dp.zeroStats(SLOT);
    },
    down() {
      dp?.close();
      dp = undefined;
      if (attachedAs !== null) cli('detach', '--pin-dir', pinDir);
      attachedAs = null;
    },
    program: (name) => xv.dp.program(name),
    /** Where attach pinned its links (tcp-profile swaps the underlay hook by hand). */
    linkPin: (name) => join(pinDir, 'links', name),
    /** Static FDB entries towards the remote VTEP, in one batch; returns seconds. */
    fdbAddMany(macs) {
      const recs = macs.map((mac) => ({ vni: T.vni, mac, dest: { kind: 'remote', remote: T.gen.ip }, static: true, updatedNs: 0 }));
      const t0 = process.hrtime.bigint();
      xv.dp.fdb.setMany(recs);
      return Number(process.hrtime.bigint() - t0) / 1e9;
    },
    fdbAdd(mac) {
      xv.dp.fdb.set({ vni: T.vni, mac, dest: { kind: 'remote', remote: T.gen.ip }, static: true, updatedNs: 0 });
    },
    fdbDeleteMany(macs) {
      xv.dp.fdb.deleteMany(macs.map((mac) => ({ vni: T.vni, mac })));
      xv.dp.bumpGeneration();
    },
    fdbDelete(mac) {
      const had = xv.dp.fdb.delete(T.vni, mac);
      xv.dp.bumpGeneration();
      return had;
    },
    fdbCount: () => xv.dp.fdb.map.count(),
    /** n more VNIs (each with its own stats slot), for the scrape scenario. */
    addVnis(n) {
      const settings = { learning: true, allowUnknownPeers: false, proxyArp: false, proxyNd: false };
      for (let i = 1; i <= n; i++) xv.dp.vnis.set(T.vni + i, { ...settings, statsSlot: Math.min(SLOT + i, vnis) });
    },
    vniCount: () => xv.dp.vnis.map.count(),
    readAllStats: () => xv.dp.readAllStats(),
    stats: () => xv.dp.readStats(SLOT),
    close() {
      try {
        this.down();
      } finally {
        rmSync(cfgPath, { force: true });
        unmount();
      }
    },
  };
  return xv;
}

/** A named mode of one profile of `mode` (xvtep or the ceiling): up() sets the profile first. */
export function variant(mode, name, p, configuration) {
  return {
    name,
    configuration: configuration ?? (mode.name === 'xvtep' ? configName(p.endpointXdp) + (p.learning === false ? ', learning: false' : '') : name),
    up() {
      mode.profile(p);
      mode.up();
    },
    down: () => mode.down(),
  };
}

export { ifindexOf };
