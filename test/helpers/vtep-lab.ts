// A VTEP lab for manager tests: host a runs xvtep on its NIC `ua` with the
// endpoint `epa` whose other end `ca` sits in the "container" namespace c;
// host b runs the Linux kernel's vxlan (VNI 42) on `ub`. The bpffs is private
// and mounted outside /sys, so `ip netns exec` sees the pins.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab } from './lab.js';
import { TempBpffs } from './bpffs.js';
import { root } from './fixtures.js';
import { withTcModeArgs } from './tcmode.js';

export const BIN = join(root, 'bin', 'xvtep');

export interface CliResult { code: number; stdout: string; stderr: string }

export class VtepLab {
  readonly lab: Lab;
  readonly a: string;
  readonly b: string;
  readonly c: string;
  readonly bpffs: TempBpffs;
  readonly pinDir: string;
  readonly tmp: string;
  readonly daemons = new Set<ChildProcess>();

  /** directUnderlay: false leaves a and b unconnected (no ua/ub, no vxlan0) for labs that build their own underlay. */
  constructor(tag: string, opts: { vxlanOnB?: boolean; ipv6?: boolean; directUnderlay?: boolean } = {}) {
    this.lab = new Lab(tag);
    this.bpffs = new TempBpffs();
    this.pinDir = this.bpffs.path('a');
    this.tmp = mkdtempSync(join(tmpdir(), 'xvtep-mgr-'));
    const l = this.lab;
    this.a = l.host('a');
    this.b = l.host('b');
    // ipv6: false silences the overlay (no DAD/RS/MLD through the tunnel) so
    // map snapshots stay still.
    this.c = l.host('c', { ipv6: opts.ipv6 });
    const direct = opts.directUnderlay !== false;
    if (direct) l.link(this.a, 'ua', this.b, 'ub', '192.0.2.1/24', '192.0.2.2/24');
    l.link(this.a, 'epa', this.c, 'ca');
    l.exec(this.c, 'ip', 'addr', 'add', '198.51.100.1/24', 'dev', 'ca');
    l.exec(this.c, 'ip', 'link', 'set', 'ca', 'mtu', '1450');
    l.exec(this.c, 'ethtool', '-K', 'ca', 'gro', 'on');
    if (direct && opts.vxlanOnB !== false) {
      l.exec(this.b, 'ip', 'link', 'add', 'vxlan0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'remote', '192.0.2.1', 'local', '192.0.2.2', 'dev', 'ub');
      if (opts.ipv6 === false) l.exec(this.b, 'sysctl', '-qw', 'net.ipv6.conf.vxlan0.disable_ipv6=1');
      l.exec(this.b, 'ip', 'addr', 'add', '198.51.100.2/24', 'dev', 'vxlan0');
      l.exec(this.b, 'ip', 'link', 'set', 'vxlan0', 'up');
      // Over a veth the inner TCP/UDP checksum of b's frames would still be
      // CHECKSUM_PARTIAL when our XDP decaps them, and XDP has no skb to
      // carry that state: c would drop them. A real NIC puts complete
      // checksums on the wire; here b must compute them in software.
      l.exec(this.b, 'ethtool', '-K', 'vxlan0', 'tx', 'off');
    }
  }

  /** Extra endpoint epaN <-> caN in namespace c, no address. */
  endpoint(name: string, peer: string): void {
    this.lab.link(this.a, name, this.c, peer);
    this.lab.exec(this.c, 'ethtool', '-K', peer, 'gro', 'on');
  }

  cli(args: string[], ns = this.a): CliResult {
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, BIN, ...withTcModeArgs(args)], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs the CLI against this lab's pin dir and expects success. */
  ok(...args: string[]): string {
    const r = this.cli([...args, '--pin-dir', this.pinDir]);
    if (r.code !== 0) throw new Error(`xvtep ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** ok() without blocking the event loop, so paced work and samplers keep running meanwhile. */
  okAsync(...args: string[]): Promise<string> {
    const proc = spawn('ip', ['netns', 'exec', this.a, process.execPath, BIN, ...withTcModeArgs(args), '--pin-dir', this.pinDir], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let out = '', err = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    return new Promise((resolve, reject) => {
      proc.once('error', reject);
      proc.once('close', (code, sig) => (code === 0 ? resolve(out) : reject(new Error(`xvtep ${args.join(' ')} exited ${code ?? sig}: ${err.trim()}`))));
    });
  }

  json<T = unknown>(...args: string[]): T {
    return JSON.parse(this.ok(...args, '-j')) as T;
  }

  file(name: string, content: unknown): string {
    const p = join(this.tmp, name);
    writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return p;
  }

  /** The lab's base config: VNI 42 on epa, peer b, metrics on a given port. */
  config(extra: { vnis?: unknown[]; metricsPort?: number; metrics?: unknown; capacity?: unknown; underlay?: unknown } = {}): Record<string, unknown> {
    return {
      underlay: { interface: 'ua', address: '192.0.2.1', ...(extra.underlay as object | undefined) },
      vnis: extra.vnis ?? [{ vni: 42, endpoints: ['epa'], peers: ['192.0.2.2'] }],
      metrics: extra.metrics ?? { enabled: extra.metricsPort !== undefined, listen: `127.0.0.1:${extra.metricsPort ?? 9469}` },
      state: { pinDir: this.pinDir },
      ...(extra.capacity ? { capacity: extra.capacity } : {}),
    };
  }

  /** Starts `xvtep run` in host a; resolves once it is ready (config applied, metrics served, signals handled). */
  async daemon(configPath: string, extraArgs: string[] = []): Promise<{ proc: ChildProcess; log: () => string }> {
    const proc = spawn('ip', ['netns', 'exec', this.a, process.execPath, BIN, ...withTcModeArgs(['run', '-c', configPath, ...extraArgs])], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.daemons.add(proc);
    proc.on('exit', () => this.daemons.delete(proc));
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => /xvtep: ready/.test(out), 30_000, () => `daemon did not start: ${out}`, () => proc.exitCode !== null);
    if (proc.exitCode !== null) throw new Error(`daemon exited ${proc.exitCode}: ${out}`);
    return { proc, log: () => out };
  }

  destroy(): void {
    for (const d of this.daemons) d.kill('SIGKILL');
    spawnSync(process.execPath, [BIN, 'detach', '--pin-dir', this.pinDir], { encoding: 'utf8' });
    this.lab.destroy();
    this.bpffs.destroy();
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

export async function waitFor(cond: () => boolean, timeoutMs: number, msg: () => string, abort?: () => boolean): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (abort?.() || Date.now() > end) {
      if (cond()) return;
      throw new Error(msg());
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function exited(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((r) => proc.once('exit', (code) => r(code)));
}
