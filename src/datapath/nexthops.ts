// The underlay next hops of the remote VTEPs, kept resolved by the kernel
// (NTF_MANAGED neighbour entries, kernel >= 5.16): the gateway the kernel
// routes a peer through, or the peer itself when it is on-link.
//
// Why the data path needs them resolved: only one copy of a flooded frame
// can wait for ARP/ND through bpf_redirect_neigh, and none when the frame is
// not IP (an ARP request: the helper takes only IP skbs), so without this
// the first broadcast after a cold start, or after a route moved to a router
// nobody has talked to, reaches no routed peer at all (a peer on a VTEP
// loopback behind a leaf router is the usual case). The kernel also
// re-probes managed entries, which the data path cannot do for entries it
// only reads (bpf_fib_lookup never confirms or refreshes a neighbour).
import { spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import { BpfError } from '../bpf/index.js';

export interface NextHop {
  nextHop: string;
  dev: string;
  /** The peers routed through it. */
  peers: string[];
}

export interface ManagedResult {
  /** Next hops that were not managed before this call and are now. */
  added: NextHop[];
  /** Peers without a unicast route now (nothing to keep resolved). */
  notes: string[];
}

/** `ip -batch -` in the calling thread's netns; -force runs every line even after a failure. */
function ipBatch(lines: readonly string[], json: boolean): { out: string; err: string } {
  const r = spawnSync('ip', [...(json ? ['-j'] : []), '-force', '-batch', '-'], { input: lines.join('\n') + '\n', encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new BpfError('manage neighbours', constants.errno.ENOENT, 'ip -batch', r.error.message);
  return { out: r.stdout ?? '', err: (r.stderr ?? '').trim() };
}

interface Route { dst: string; gateway?: string; dev?: string; type?: string }

/** Where the kernel routes each peer now (one `ip` for all of them). */
export function nextHopsOf(peers: readonly string[]): { hops: NextHop[]; notes: string[] } {
  if (peers.length === 0) return { hops: [], notes: [] };
  const { out } = ipBatch(peers.map((p) => `route get ${p}`), true);
  const byDst = new Map<string, Route>();
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    for (const r of JSON.parse(line) as Route[]) byDst.set(r.dst, r);
  }
  const hops = new Map<string, NextHop>();
  const notes: string[] = [];
  for (const p of peers) {
    const r = byDst.get(p);
    if (!r?.dev || (r.type !== undefined && r.type !== 'unicast')) {
      notes.push(`peer ${p}: no unicast route to it now (${r?.type ?? 'unreachable'}), so its next hop is not kept resolved`);
      continue;
    }
    const nextHop = r.gateway ?? p;
    const key = `${nextHop}%${r.dev}`;
    const h = hops.get(key) ?? { nextHop, dev: r.dev, peers: [] };
    h.peers.push(p);
    hops.set(key, h);
  }
  return { hops: [...hops.values()], notes };
}

/** Managed neighbour entries now, as `addr%dev`. */
function managedNow(): Set<string> {
  const r = spawnSync('ip', ['-j', 'neigh', 'show'], { encoding: 'utf8', timeout: 10_000 });
  const out = new Set<string>();
  if (r.status !== 0) return out;
  for (const n of JSON.parse(r.stdout || '[]') as Array<{ dst: string; dev: string; managed?: unknown }>) {
    if ('managed' in n) out.add(`${n.dst}%${n.dev}`);
  }
  return out;
}

/**
 * Makes the next hop of every peer a managed neighbour. Entries already
 * managed are left alone: replacing one would send it back through
 * resolution while traffic uses it.
 */
export function manageNeighbours(peers: readonly string[]): ManagedResult {
  const { hops, notes } = nextHopsOf(peers);
  const have = managedNow();
  const todo = hops.filter((h) => !have.has(`${h.nextHop}%${h.dev}`));
  if (todo.length === 0) return { added: [], notes };
  const { err } = ipBatch(todo.map((h) => `neigh replace ${h.nextHop} dev ${h.dev} managed`), false);
  // ip names a failed batch line as "Command failed -:N"
  const failedLines = new Set([...err.matchAll(/Command failed -:(\d+)/g)].map((m) => Number(m[1]) - 1));
  const failed = todo.filter((_, i) => failedLines.has(i));
  if (failed.length) {
    throw new BpfError('manage neighbours', constants.errno.EINVAL, 'underlay next hops',
      `${failed.map((h) => `${h.nextHop} dev ${h.dev} (next hop of ${h.peers.join(', ')})`).join('; ')}: ${err}`);
  }
  return { added: todo, notes };
}
