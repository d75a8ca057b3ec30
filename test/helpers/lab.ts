// Namespace labs: hosts are network namespaces joined by veth pairs, on
// documentation addresses only. Every name carries this process's id so
// parallel runs never collide, and destroy() removes all of them — tests call
// it in afterAll/finally, and a process exit hook catches the rest.
import { execFileSync, spawnSync } from 'node:child_process';
import { Netns } from '../../src/bpf/index.js';

const live = new Set<Lab>();
process.on('exit', () => {
  for (const lab of live) lab.destroy();
});

export function sh(cmd: string, args: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000 });
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout;
}

export function ip(...args: string[]): string {
  return sh('ip', args);
}

export class Lab {
  readonly prefix: string;
  readonly namespaces: string[] = [];
  #handles = new Map<string, Netns>();

  constructor(tag: string) {
    this.prefix = `xvt${process.pid % 100000}${tag}`.slice(0, 10);
    live.add(this);
  }

  /**
   * Creates namespace <prefix>-<name> with lo up; returns its full name.
   * ipv6: false keeps the kernel's own IPv6 chatter (DAD, router
   * solicitations) off the wire, for tests that count every frame.
   */
  host(name: string, opts: { ipv6?: boolean } = {}): string {
    const ns = `${this.prefix}-${name}`;
    sh('ip', ['netns', 'del', ns], { allowFail: true });
    ip('netns', 'add', ns);
    this.namespaces.push(ns);
    if (opts.ipv6 === false) {
      this.exec(ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
      this.exec(ns, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1');
    }
    this.exec(ns, 'ip', 'link', 'set', 'lo', 'up');
    return ns;
  }

  /** A veth pair between two namespaces, both ends up, with optional addresses (CIDR). */
  link(nsA: string, ifA: string, nsB: string, ifB: string, addrA?: string, addrB?: string): void {
    ip('link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB);
    if (addrA) this.exec(nsA, 'ip', 'addr', 'add', addrA, 'dev', ifA);
    if (addrB) this.exec(nsB, 'ip', 'addr', 'add', addrB, 'dev', ifB);
    this.exec(nsA, 'ip', 'link', 'set', ifA, 'up');
    this.exec(nsB, 'ip', 'link', 'set', ifB, 'up');
  }

  exec(ns: string, cmd: string, ...args: string[]): string {
    return sh('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  tryExec(ns: string, cmd: string, ...args: string[]): { ok: boolean; out: string } {
    const r = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { ok: r.status === 0, out: r.stdout + r.stderr };
  }

  /** Bounded ping: count packets, 0.2 s apart, 1 s deadline per reply. */
  ping(ns: string, addr: string, count = 3): boolean {
    return this.tryExec(ns, 'ping', '-c', String(count), '-i', '0.2', '-W', '1', '-q', addr).ok;
  }

  netns(ns: string): Netns {
    let h = this.#handles.get(ns);
    if (!h) {
      h = Netns.open(ns);
      this.#handles.set(ns, h);
    }
    return h;
  }

  /** Runs fn with this thread inside ns (sync only). */
  in<T>(ns: string, fn: () => T): T {
    return this.netns(ns).run(fn);
  }

  destroy(): void {
    for (const h of this.#handles.values()) h.close();
    this.#handles.clear();
    for (const ns of this.namespaces.splice(0)) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    live.delete(this);
  }
}

/**
 * The lab most attach tests need: hosts a and b joined by veth-a/veth-b on
 * 192.0.2.1/24 and 192.0.2.2/24. Call lab.destroy() in afterAll.
 */
export function twoHosts(tag: string): { lab: Lab; a: string; b: string } {
  const lab = new Lab(tag);
  const a = lab.host('a');
  const b = lab.host('b');
  lab.link(a, 'veth-a', b, 'veth-b', '192.0.2.1/24', '192.0.2.2/24');
  return { lab, a, b };
}
