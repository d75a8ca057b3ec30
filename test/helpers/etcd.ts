// A real etcd (Debian's etcd-server) for namespace labs: one member or a
// 3-member cluster, each member in its own namespace on a bridge of the lab's
// underlay (IPv4 192.0.2.0/24), optionally TLS with client-certificate auth.
//
// The test process itself lives in the root namespace, whose 127.0.0.1 a lab
// cannot reach and whose 192.0.2.0/24 is already taken (eth0). So the root
// namespace reaches the members over one veth into the same bridge, on an IPv6
// /64 made from this process's pid and a counter (2001:db8:e???:????::/64):
// unique among live processes, with a route that sends nothing outside the lab.
// Lab hosts use `endpoints` (IPv4); the test process uses `rootEndpoints` (IPv6).
//
// Processes: destroy() and an exit hook kill etcd. For a test worker that is
// itself SIGKILLed (no hook runs; PR_SET_PDEATHSIG is not honoured on this
// machine's kernel), each cluster has a watchdog shell, detached, that polls
// the worker's pid once a second and then SIGKILLs the etcd pids listed in
// <dir>/pids (checking /proc/<pid>/comm is etcd), deletes the root link and the
// harness's own namespaces, and removes the data dir. Data dirs live under
// /dev/shm (fsync is free there).
import { spawn, spawnSync, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sh, type Lab } from './lab.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const live = new Set<EtcdCluster>();
process.on('exit', () => {
  for (const c of live) c.destroySync();
});

let seq = 0;

export interface EtcdTls {
  dir: string;
  caFile: string;
  /** The server's certificate and key (IP SANs: every member's IPv4 and IPv6 address). */
  serverCertFile: string;
  serverKeyFile: string;
  /** A client certificate signed by the same CA (CN xvtep-client). */
  clientCertFile: string;
  clientKeyFile: string;
}

export interface EtcdClusterOptions {
  /** Members, each in its own namespace <prefix>-etcd<i> (default 1). */
  members?: number;
  /**
   * Address/prefix of each member on the bridge (IPv4, or IPv6 in 2001:db8::/32
   * outside 2001:db8:e000::/36, which the root link uses). Default: 192.0.2.254/24
   * for one member; 192.0.2.251/24, .252, .253 for three.
   */
  addrs?: string[];
  /**
   * An existing bridge to join the members (and the root link) to. Default: a
   * new namespace <prefix>-esw with bridge br0; lab hosts join it with attach().
   */
  bridge?: { ns: string; name: string };
  /** TLS on the client port with client-certificate auth (peers stay plain HTTP). */
  tls?: boolean;
  /** Link the root namespace to the bridge so the test process can connect (default true). */
  rootAccess?: boolean;
  /** Raft timing; the defaults (200/2000 ms) tolerate two loaded cores. */
  heartbeatMs?: number;
  electionMs?: number;
  /** Bound for the first wait until healthy (default 30 s). */
  startTimeoutMs?: number;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' }, (e, out, err) => {
      const code = e ? (typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : null) : 0;
      resolve({ code, out, err });
    });
  });
}

/** CA, server certificate with the given IP SANs, client certificate: EC P-256, one day, into dir. */
export function makeTls(dir: string, ips: string[]): EtcdTls {
  const f = (n: string) => join(dir, n);
  const ossl = (...a: string[]) => sh('openssl', a, { timeoutMs: 20_000 });
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', f('ca-key.pem'), '-out', f('ca.pem'), '-subj', '/CN=xvtep-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const leaf = (name: string, cn: string, ext: string) => {
    writeFileSync(f(`${name}.ext`), ext);
    ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', f(`${name}-key.pem`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    ossl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'), '-CAcreateserial',
      '-days', '1', '-out', f(`${name}.pem`), '-extfile', f(`${name}.ext`));
  };
  // serverAuth and clientAuth: etcd 3.4's HTTP gateway dials its own gRPC port with the server certificate.
  leaf('server', 'etcd', `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(',')}\n` +
    'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n');
  leaf('client', 'xvtep-client', 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  return {
    dir, caFile: f('ca.pem'), serverCertFile: f('server.pem'), serverKeyFile: f('server-key.pem'),
    clientCertFile: f('client.pem'), clientKeyFile: f('client-key.pem'),
  };
}

export class EtcdMember {
  process: ChildProcess | undefined;
  #log = '';

  constructor(
    readonly cluster: EtcdCluster,
    readonly name: string,
    readonly ns: string,
    /** IPv4 address on the bridge (no prefix). */
    readonly addr: string,
    /** IPv6 address on the bridge (root access), or undefined. */
    readonly addr6: string | undefined,
    readonly dataDir: string,
  ) {}

  /** The address as a URL host (IPv6 in brackets). */
  get host(): string { return this.addr.includes(':') ? `[${this.addr}]` : this.addr; }
  get peerUrl(): string { return `http://${this.host}:2380`; }
  /** What lab hosts connect to. */
  get clientUrl(): string { return `${this.cluster.scheme}://${this.host}:2379`; }
  /** What the test process (root namespace) connects to. */
  get rootClientUrl(): string {
    if (!this.addr6) throw new Error('etcd harness: started with rootAccess: false');
    return `${this.cluster.scheme}://[${this.addr6}]:2379`;
  }
  get running(): boolean {
    return !!this.process && this.process.exitCode === null && this.process.signalCode === null;
  }
  get pid(): number | undefined { return this.running ? this.process!.pid : undefined; }
  /** The last 64 KiB etcd wrote (stderr and stdout). */
  get log(): string { return this.#log; }

  /** Spawns etcd (same data dir on every start); does not wait for health. */
  start(): void {
    if (this.running) throw new Error(`etcd ${this.name}: already running (pid ${this.process!.pid})`);
    const c = this.cluster;
    const listen = [this.clientUrl, ...(this.addr6 ? [this.rootClientUrl] : [])];
    const args = ['netns', 'exec', this.ns, 'etcd',
      '--name', this.name, '--data-dir', this.dataDir,
      '--listen-client-urls', listen.join(','), '--advertise-client-urls', this.clientUrl,
      '--listen-peer-urls', this.peerUrl, '--initial-advertise-peer-urls', this.peerUrl,
      '--initial-cluster', c.members.map((m) => `${m.name}=${m.peerUrl}`).join(','),
      '--initial-cluster-state', 'new', '--initial-cluster-token', `xvtep-${c.id}`,
      '--heartbeat-interval', String(c.heartbeatMs), '--election-timeout', String(c.electionMs),
      '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn'];
    if (c.tls) {
      args.push('--cert-file', c.tls.serverCertFile, '--key-file', c.tls.serverKeyFile,
        '--client-cert-auth', '--trusted-ca-file', c.tls.caFile);
    }
    const p = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      this.#log = (this.#log + d.toString()).slice(-65536);
    };
    p.stdout!.on('data', keep);
    p.stderr!.on('data', keep);
    this.process = p;
    c.writePids();
    p.on('exit', () => c.writePids());
  }

  #exited(ms: number): Promise<boolean> {
    const p = this.process;
    if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        p.off('exit', onExit);
        resolve(false);
      }, ms);
      const onExit = () => {
        clearTimeout(t);
        resolve(true);
      };
      p.once('exit', onExit);
    });
  }

  /** SIGTERM (a clean shutdown), SIGKILL if still alive after timeoutMs. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.process!.kill('SIGTERM');
    if (!(await this.#exited(timeoutMs))) await this.kill();
  }

  /** SIGKILL (a crash), and wait until it is gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.process!.kill('SIGKILL');
    if (!(await this.#exited(10_000))) throw new Error(`etcd ${this.name}: pid ${this.process!.pid} survives SIGKILL`);
  }

  /** Stops (SIGTERM) if running, starts again on the same data dir, waits until healthy. */
  async restart(timeoutMs = 30_000): Promise<void> {
    await this.stop();
    this.start();
    await this.waitHealthy(timeoutMs);
  }

  /** Polls `etcdctl endpoint health` on this member until it answers (bounded). */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < end) {
      if (!this.running) throw new Error(`etcd ${this.name} exited (${this.process?.exitCode ?? this.process?.signalCode}): ${this.#log.trim().slice(-2000)}`);
      const r = await this.cluster.etcdctl(['endpoint', 'health'], { member: this, endpoints: [this.clientUrl], allowFail: true, timeoutMs: 3000 });
      if (r.code === 0) return;
      last = (r.err || r.out).trim();
      await sleep(200);
    }
    throw new Error(`etcd ${this.name}: not healthy after ${timeoutMs} ms: ${last}\n${this.#log.trim().slice(-2000)}`);
  }
}

export class EtcdCluster {
  readonly id: string;
  readonly members: EtcdMember[] = [];
  readonly bridge: { ns: string; name: string };
  readonly tls: EtcdTls | undefined;
  readonly heartbeatMs: number;
  readonly electionMs: number;
  /** Root end of the root-access veth (in the root namespace), if any. */
  readonly rootIf: string | undefined;
  readonly dir: string;
  #attached = 0;
  #destroyed = false;
  /** Namespaces this harness created (the watchdog deletes them if the worker dies). */
  readonly #namespaces: string[] = [];

  private constructor(readonly lab: Lab, opts: EtcdClusterOptions) {
    const n = opts.members ?? 1;
    const addrs = opts.addrs ?? (n === 1 ? ['192.0.2.254/24'] : Array.from({ length: n }, (_, i) => `192.0.2.${251 + i}/24`));
    if (addrs.length !== n) throw new Error(`etcd harness: ${n} members but ${addrs.length} addresses`);
    const s = seq++;
    if (s > 63) throw new Error('etcd harness: more than 64 clusters in one process');
    this.id = `${lab.prefix}-${s}`;
    this.heartbeatMs = opts.heartbeatMs ?? 200;
    this.electionMs = opts.electionMs ?? 2000;
    const shm = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    this.dir = mkdtempSync(join(shm, 'xvtep-etcd-'));
    live.add(this);

    // A /64 per (pid, cluster) for the root link: 2001:db8:<e000|pid>>16<<6|s>:<pid&0xffff>::/64
    const pid = process.pid;
    const net6 = `2001:db8:${(0xe000 | ((pid >>> 16) & 0x3f) << 6 | s).toString(16)}:${(pid & 0xffff).toString(16)}`;
    const rootAccess = opts.rootAccess ?? true;

    if (opts.bridge) {
      this.bridge = opts.bridge;
    } else {
      const ns = lab.host(`esw${s || ''}`, { ipv6: false });
      this.#namespaces.push(ns);
      lab.exec(ns, 'ip', 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0');
      lab.exec(ns, 'ip', 'link', 'set', 'br0', 'up');
      this.bridge = { ns, name: 'br0' };
    }

    for (let i = 0; i < n; i++) {
      const name = `etcd${s || ''}${n === 1 ? '' : i + 1}`;
      const ns = lab.host(name);
      this.#namespaces.push(ns);
      this.attach(ns, 'eth0', addrs[i]!);
      let addr6: string | undefined;
      if (rootAccess) {
        addr6 = `${net6}::${(0x10 + i).toString(16)}`;
        lab.exec(ns, 'ip', 'addr', 'add', `${addr6}/64`, 'dev', 'eth0', 'nodad');
      }
      this.members.push(new EtcdMember(this, name, ns, addrs[i]!.split('/')[0]!, addr6, join(this.dir, name)));
    }

    if (rootAccess) {
      this.rootIf = `xe${pid % 100000}r${s}`;
      sh('ip', ['link', 'del', this.rootIf], { allowFail: true });
      sh('ip', ['link', 'add', this.rootIf, 'type', 'veth', 'peer', 'name', `root${s}`, 'netns', this.bridge.ns]);
      lab.exec(this.bridge.ns, 'ip', 'link', 'set', `root${s}`, 'master', this.bridge.name, 'up');
      sh('sysctl', ['-qw', `net.ipv6.conf.${this.rootIf}.accept_ra=0`]);
      // The root namespace must not answer ARP on the lab's wire: it holds
      // 192.0.2.2 (eth0), and with arp_ignore 0 it answered every lab
      // host's "who-has 192.0.2.2" from this link, often first, so a lab
      // host at 192.0.2.2 lost its VXLAN frames to the root namespace until
      // its own ARP request corrected the others' entries (~3-5 s: the
      // first contact between containers in test/cluster/scale.test.ts).
      sh('sysctl', ['-qw', `net.ipv4.conf.${this.rootIf}.arp_ignore=8`]);
      sh('ip', ['addr', 'add', `${net6}::1/64`, 'dev', this.rootIf, 'nodad']);
      sh('ip', ['link', 'set', this.rootIf, 'up']);
    }

    this.#watchdog();

    if (opts.tls) {
      const ips = this.members.flatMap((m) => [m.addr, ...(m.addr6 ? [m.addr6] : [])]);
      this.tls = makeTls(this.dir, ips);
    }
  }

  /** The etcd pids now running, for the watchdog. */
  writePids(): void {
    if (this.#destroyed) return;
    writeFileSync(join(this.dir, 'pids'), this.members.filter((m) => m.running).map((m) => m.process!.pid).join(' ') + '\n');
  }

  #watchdog(): void {
    const q = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;
    const script = [
      `while kill -0 ${process.pid} 2>/dev/null && [ -d ${q(this.dir)} ]; do sleep 1; done`,
      `[ -d ${q(this.dir)} ] || exit 0`,
      `for p in $(cat ${q(join(this.dir, 'pids'))} 2>/dev/null); do [ "$(cat /proc/$p/comm 2>/dev/null)" = etcd ] && kill -9 $p; done`,
      ...(this.rootIf ? [`ip link del ${q(this.rootIf)} 2>/dev/null`] : []),
      ...this.#namespaces.map((ns) => `ip netns del ${q(ns)} 2>/dev/null`),
      `rm -rf ${q(this.dir)}`,
    ].join('\n');
    spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
  }

  /** Creates the namespaces and links, starts every member, waits until the cluster is healthy. */
  static async start(lab: Lab, opts: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    const c = new EtcdCluster(lab, opts);
    try {
      for (const m of c.members) m.start();
      await c.waitHealthy(opts.startTimeoutMs ?? 30_000);
    } catch (e) {
      await c.destroy();
      throw e;
    }
    return c;
  }

  get scheme(): 'http' | 'https' { return this.tls ? 'https' : 'http'; }
  /** Client URLs for lab hosts (IPv4 on the bridge). */
  get endpoints(): string[] { return this.members.map((m) => m.clientUrl); }
  /** Client URLs for the test process in the root namespace (IPv6 on the root link). */
  get rootEndpoints(): string[] { return this.members.map((m) => m.rootClientUrl); }

  /** The files an etcd3 client needs for TLS (CA, client cert and key), or undefined. */
  clientCredentials(): { rootCertificate: Buffer; certChain: Buffer; privateKey: Buffer } | undefined {
    if (!this.tls) return undefined;
    return {
      rootCertificate: readFileSync(this.tls.caFile),
      certChain: readFileSync(this.tls.clientCertFile),
      privateKey: readFileSync(this.tls.clientKeyFile),
    };
  }

  /**
   * Joins namespace ns to the bridge: a veth ifName in ns (up, with cidr)
   * whose peer is a bridge port. This is how lab hosts reach etcd.
   */
  attach(ns: string, ifName: string, cidr: string): void {
    const port = `p${this.#attached++}`;
    sh('ip', ['link', 'add', ifName, 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', this.bridge.ns]);
    this.lab.exec(this.bridge.ns, 'ip', 'link', 'set', port, 'master', this.bridge.name, 'up');
    this.lab.exec(ns, 'ip', 'addr', 'add', cidr, 'dev', ifName, ...(cidr.includes(':') ? ['nodad'] : []));
    this.lab.exec(ns, 'ip', 'link', 'set', ifName, 'up');
  }

  /**
   * Runs etcdctl inside a member's namespace (default: the first running
   * member) with this cluster's certificates (clientCert: false leaves the
   * client certificate out) and endpoints; throws on failure unless allowFail.
   */
  async etcdctl(args: string[], opts: { member?: EtcdMember; endpoints?: string[]; allowFail?: boolean; timeoutMs?: number; clientCert?: boolean } = {}):
    Promise<{ code: number | null; out: string; err: string }> {
    const m = opts.member ?? this.members.find((x) => x.running) ?? this.members[0]!;
    const endpoints = opts.endpoints ?? this.members.filter((x) => x.running).map((x) => x.clientUrl);
    const tlsArgs = !this.tls ? [] : opts.clientCert === false ? ['--cacert', this.tls.caFile]
      : ['--cacert', this.tls.caFile, '--cert', this.tls.clientCertFile, '--key', this.tls.clientKeyFile];
    const timeoutMs = opts.timeoutMs ?? 15_000;
    const full = ['netns', 'exec', m.ns, 'etcdctl', `--endpoints=${endpoints.join(',')}`, ...tlsArgs,
      '--dial-timeout=2s', `--command-timeout=${Math.max(1, Math.ceil(timeoutMs / 1000))}s`, ...args];
    // etcdctl gives up by itself at the command timeout; the kill is only a backstop on a stalled machine
    const r = await run('ip', full, timeoutMs + 5000);
    if (r.code !== 0 && !opts.allowFail) throw new Error(`etcdctl ${args.join(' ')} failed (${r.code}): ${(r.err || r.out).trim()}`);
    return r;
  }

  /** The store's current revision. */
  async revision(): Promise<number> {
    const m = this.members.find((x) => x.running);
    if (!m) throw new Error('etcd harness: no member running');
    const r = await this.etcdctl(['endpoint', 'status', '--write-out=json'], { member: m, endpoints: [m.clientUrl] });
    return Number((JSON.parse(r.out) as { Status: { header: { revision: string | number } } }[])[0]!.Status.header.revision);
  }

  /** Compacts up to rev (default: the current revision); returns the revision compacted. */
  async compact(rev?: number): Promise<number> {
    const at = rev ?? (await this.revision());
    await this.etcdctl(['compact', String(at), '--physical']);
    return at;
  }

  /** Waits (bounded) until every running member reports healthy (a quorum read on each). */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    await Promise.all(this.members.filter((m) => m.running).map((m) => m.waitHealthy(Math.max(1000, end - Date.now()))));
  }

  /**
   * SIGKILLs every member (the data is thrown away: a clean SIGTERM of a whole
   * cluster costs seconds while the leader tries to hand over), waits until
   * they are gone, removes the root link and the data dirs.
   */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    await Promise.all(this.members.map((m) => m.kill().catch(() => undefined)));
    this.destroySync();
  }

  /** SIGKILLs what still runs and removes the root link and data dirs (exit hook; idempotent). */
  destroySync(): void {
    for (const m of this.members) {
      if (m.running) m.process!.kill('SIGKILL');
    }
    if (this.rootIf) spawnSync('ip', ['link', 'del', this.rootIf], { stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
    this.#destroyed = true;
    live.delete(this);
  }
}

/** One member (or opts.members), started and healthy. Call destroy() before lab.destroy(). */
export function startEtcd(lab: Lab, opts: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  return EtcdCluster.start(lab, opts);
}
