// The benchmark lab: network namespaces named xvtb<pid>-<role>, joined by
// veth pairs, documentation addresses only. Every namespace is deleted by
// destroy(), which also runs on process exit and on SIGINT/SIGTERM.
import { execFileSync, spawnSync } from 'node:child_process';
import { Netns } from '../../dist/bpf/index.js';

const live = new Set();
process.on('exit', () => { for (const lab of live) lab.destroy(); });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    for (const lab of live) lab.destroy();
    process.exit(128 + 2);
  });
}

export function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000 });
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || '').trim()}`);
  }
  return r.stdout ?? '';
}

export class Lab {
  constructor(tag = '') {
    this.prefix = `xvtb${process.pid % 100000}${tag}`;
    this.namespaces = [];
    this.handles = new Map();
    live.add(this);
  }

  /** Namespace <prefix>-<name>, lo up, IPv6 off, rp_filter off. */
  host(name) {
    const ns = `${this.prefix}-${name}`;
    sh('ip', ['netns', 'del', ns], { allowFail: true });
    sh('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    this.sysctl(ns, 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1',
      'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0');
    this.exec(ns, 'ip', 'link', 'set', 'lo', 'up');
    return ns;
  }

  sysctl(ns, ...kv) {
    this.exec(ns, 'sysctl', '-qw', ...kv);
  }

  /** veth pair ifA@nsA <-> ifB@nsB with fixed MACs, both up. */
  link(nsA, ifA, macA, nsB, ifB, macB) {
    sh('ip', ['link', 'add', ifA, 'netns', nsA, 'address', macA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB, 'address', macB]);
    this.exec(nsA, 'ip', 'link', 'set', ifA, 'up');
    this.exec(nsB, 'ip', 'link', 'set', ifB, 'up');
  }

  exec(ns, cmd, ...args) {
    return sh('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  tryExec(ns, cmd, ...args) {
    const r = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { ok: r.status === 0, out: (r.stdout ?? '') + (r.stderr ?? '') };
  }

  /** `ip -batch` in a namespace: many commands, one process. */
  batch(ns, lines, opts = {}) {
    const r = spawnSync('ip', ['-n', ns, ...(opts.force ? ['-force'] : []), '-batch', '-'], { input: lines.join('\n') + '\n', encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0 && !opts.allowFail) throw new Error(`ip -n ${ns} -batch failed: ${r.stderr.trim()}`);
  }

  netns(ns) {
    let h = this.handles.get(ns);
    if (!h) this.handles.set(ns, (h = Netns.open(ns)));
    return h;
  }

  /** Runs fn (synchronous) with this thread in ns. */
  in(ns, fn) {
    return this.netns(ns).run(fn);
  }

  destroy() {
    for (const h of this.handles.values()) h.close();
    this.handles.clear();
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
