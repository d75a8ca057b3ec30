// A cluster lab: N xvtep hosts on one underlay bridge with a real etcd
// (test/helpers/etcd.ts) on it, each host running a real `xvtep run` whose
// file names only its underlay, its VNIs and its endpoints (no peers, no
// FDB, no neighbours): everything else comes through etcd.
//
//            [esw: br0]  underlay 192.0.2.0/24, etcd at 192.0.2.254
//        ______/   |   \______
//   [h1 .1]     [h2 .2]     [h3 .3] ...   each: ul0 (tx csum off), endpoints
//    |  |          |                      toward containers (own namespaces)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Datapath } from '../../src/datapath/datapath.js';
import { BIN, exited, waitFor } from './vtep-lab.js';
import { TempBpffs } from './bpffs.js';
import { startEtcd, type EtcdCluster, type EtcdClusterOptions } from './etcd.js';
import { Lab } from './lab.js';
import { container } from './labtools.js';

export interface CtSpec { name: string; ip: string; mac: string }
export interface HostSpec {
  name: string;
  /** Underlay address (192.0.2.x). */
  addr: string;
  vnis: Array<{ vni: number; cts: CtSpec[] }>;
  /** Serve /metrics on 127.0.0.1:<port> inside the host (default: off). */
  metricsPort?: number;
}

export interface Host {
  spec: HostSpec;
  ns: string;
  pinDir: string;
  cfgPath: string;
  cfg: Record<string, unknown>;
  proc?: ChildProcess;
  out: string;
  /** Each line of the daemon's output with when the test process read it (ms since epoch). */
  lines: Array<[number, string]>;
  /** Container name → namespace. */
  cts: Map<string, string>;
}

export class ClusterLab {
  readonly lab: Lab;
  readonly bpffs = new TempBpffs();
  readonly tmp = mkdtempSync(join(tmpdir(), 'xvtep-cluster-'));
  readonly hosts = new Map<string, Host>();
  etcd!: EtcdCluster;

  constructor(tag: string, readonly ttl: number) {
    this.lab = new Lab(tag);
  }

  /** extra: keys merged into every host's file (e.g. capacity). */
  async start(specs: HostSpec[], etcdOpts: EtcdClusterOptions = {}, extra: Record<string, unknown> = {}): Promise<void> {
    this.etcd = await startEtcd(this.lab, etcdOpts);
    for (const spec of specs) {
      const ns = this.lab.host(spec.name, { ipv6: false });
      this.etcd.attach(ns, 'ul0', `${spec.addr}/24`);
      this.lab.exec(ns, 'ethtool', '-K', 'ul0', 'tx', 'off'); // wire emulation (COMMON.md)
      const cts = new Map<string, string>();
      for (const v of spec.vnis) {
        for (const c of v.cts) cts.set(c.name, container(this.lab, { name: c.name, hostNs: ns, hostIf: `v${c.name}`, mac: c.mac, mtu: 1450, addrs: [`${c.ip}/24`] }));
      }
      for (const c of cts.values()) this.lab.exec(c, 'ethtool', '-K', 'eth0', 'gro', 'on');
      const pinDir = this.bpffs.path(spec.name);
      const cfg = { ...this.config(spec, pinDir), ...extra };
      const cfgPath = join(this.tmp, `${spec.name}.json`);
      writeFileSync(cfgPath, JSON.stringify(cfg, null, 2));
      this.hosts.set(spec.name, { spec, ns, pinDir, cfgPath, cfg, out: '', lines: [], cts });
    }
  }

  config(spec: HostSpec, pinDir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      underlay: { interface: 'ul0', address: spec.addr },
      vnis: spec.vnis.map((v) => ({ vni: v.vni, endpoints: v.cts.map((c) => `v${c.name}`) })),
      metrics: spec.metricsPort ? { enabled: true, listen: `127.0.0.1:${spec.metricsPort}` } : { enabled: false },
      state: { pinDir },
      cluster: { etcd: { endpoints: this.etcd.endpoints }, nodeName: spec.name, leaseTtlSeconds: this.ttl, ...extra },
    };
  }

  /** Replaces a host's file (the daemon reloads it if it runs). */
  writeConfig(name: string, cfg: Record<string, unknown>): void {
    const h = this.host(name);
    h.cfg = cfg;
    writeFileSync(`${h.cfgPath}.tmp`, JSON.stringify(cfg, null, 2));
    renameSync(`${h.cfgPath}.tmp`, h.cfgPath);
  }

  /** When a line matching re was first read from the host's daemon after `after` (ms since epoch), or null. */
  lineAt(name: string, re: RegExp, after = 0): number | null {
    return this.host(name).lines.find(([t, l]) => t >= after && re.test(l))?.[0] ?? null;
  }

  host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  /** Starts `xvtep run` on a host; resolves once it says ready. */
  async run(name: string, env: Record<string, string> = {}, args: string[] = []): Promise<void> {
    const h = this.host(name);
    h.out = '';
    const proc = spawn('ip', ['netns', 'exec', h.ns, process.execPath, BIN, 'run', '-c', h.cfgPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    h.proc = proc;
    let partial = '';
    const take = (d: Buffer) => {
      const now = Date.now();
      h.out += d.toString();
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!;
      for (const l of parts) h.lines.push([now, l]);
    };
    proc.stdout!.on('data', take);
    proc.stderr!.on('data', take);
    await waitFor(() => /xvtep: ready/.test(h.out), 90_000, () => `${name}: daemon did not start: ${h.out}`, () => proc.exitCode !== null);
    if (proc.exitCode !== null) throw new Error(`${name}: daemon exited ${proc.exitCode}: ${h.out}`);
  }

  async stop(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.host(name).proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill(signal);
    await exited(p);
  }

  /**
   * What a host's maps hold: peers per VNI, FDB (static + learned),
   * neighbours. A peer is in the decap allow-list and the flood list, as an
   * apply leaves it: a new member is allowed ahead of that apply
   * (ClusterFdbWriter) and counts once the apply has run.
   */
  maps(name: string): { peers: string[]; fdb: Array<{ vni: number; mac: string; remote: string | null; static: boolean }>; neighbors: string[] } {
    const dp = Datapath.open(this.host(name).pinDir);
    try {
      const flood = new Map(dp.flood.list().map((f) => [f.vni, new Set(f.remotes)]));
      return {
        peers: dp.peers.list().filter((p) => flood.get(p.vni)?.has(p.address)).map((p) => `${p.vni}|${p.address}`).sort(),
        fdb: dp.fdb.list().map((r) => ({ vni: r.vni, mac: r.mac, remote: r.dest.kind === 'remote' ? r.dest.remote : null, static: r.static })),
        neighbors: dp.neighbors.list().map((n) => `${n.vni}|${n.ip}|${n.mac}`).sort(),
      };
    } finally {
      dp.close();
    }
  }

  cli(name: string, ...args: string[]): { code: number; stdout: string; stderr: string } {
    const h = this.host(name);
    const r = spawnSync('ip', ['netns', 'exec', h.ns, process.execPath, BIN, ...args, '--pin-dir', h.pinDir], { encoding: 'utf8', timeout: 30_000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  status(name: string): ClusterStatusJson {
    const r = this.cli(name, 'cluster', 'status', '-j');
    if (r.code !== 0) throw new Error(`${name}: cluster status exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as ClusterStatusJson;
  }

  /** Container namespace by container name, whatever host it is on. */
  ct(name: string): string {
    for (const h of this.hosts.values()) {
      const ns = h.cts.get(name);
      if (ns) return ns;
    }
    throw new Error(`no container ${name}`);
  }

  async destroy(): Promise<void> {
    for (const h of this.hosts.values()) {
      if (h.proc && h.proc.exitCode === null && h.proc.signalCode === null) {
        h.proc.kill('SIGKILL');
        await exited(h.proc);
      }
      spawnSync(process.execPath, [BIN, 'detach', '--pin-dir', h.pinDir], { encoding: 'utf8' });
    }
    await this.etcd?.destroy();
    this.lab.destroy();
    this.bpffs.destroy();
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

export interface ClusterStatusJson {
  node: string;
  etcdUp: boolean;
  etcdError: string | null;
  lease: { id: string; ttlSeconds: number; ttlLeftSeconds: number } | null;
  revision: number;
  members: Array<{ name: string; address: string; vnis: number[]; macs: number; ageSeconds: number }>;
  counters: { refused: number; conflicts: number; watchEvents: number; resyncs: number; leaseLost: number; applies: number; applyFailures: number; published: number; listPages: number };
  daemonRunning: boolean;
}
