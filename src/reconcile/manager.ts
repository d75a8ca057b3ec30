// The manager's operations on one pinned instance: open or create the data
// path, converge it to a config (or to an edited copy of itself), detach.
import { existsSync } from 'node:fs';
import { assertPinDirAccess, ifnameOf, isBpffs } from '../bpf/index.js';
import { Datapath, type DatapathSizes, ProgName, endpointKind, manageNeighbours, removeGso6Device } from '../datapath/index.js';
import type { Config, TcMode } from '../config/index.js';
import { applyDiff, type Journal } from './apply.js';
import { Attachments, endpointXdpFor } from './attach.js';
import { desiredFromConfig, hostResolver, type MissingEndpoint, type Resolver } from './desired.js';
import { changeCount, diffTables, type Diff } from './diff.js';
import { system, usage } from './errors.js';
import type { Tables } from './model.js';
import { preparePinDir } from './pindir.js';
import { readState, removeState } from './state.js';
import { mountPointOf } from './pinkeeper.js';
import { readLive, storeOf } from './store.js';

export interface Opened {
  dp: Datapath;
  /** True when the programs were loaded now (nothing was pinned). */
  created: boolean;
  notice?: string;
}

export function sizesOf(cfg: Config): DatapathSizes {
  const c = cfg.capacity;
  return { vnis: c.vnis, endpoints: c.endpoints, fdb: c.fdb, peers: c.peers, neighbors: c.neighbors };
}

/**
 * The programs a fresh data path loads: the endpoint XDP ones (endpointXdp
 * on or frags, or auto on a tap or a NIC) are loaded when first attached
 * (Datapath.program). Most endpoints are veths, which get none, and the
 * kernel verifies each program loaded: both together were ~45 % of the load
 * time (0.15-0.4 s here).
 */
const AT_START = [ProgName.xdpUnderlay, ProgName.tcUnderlay, ProgName.tcEndpoint];

/** Adopts what is pinned under pinDir, or loads and pins a fresh data path. */
export async function openOrCreate(pinDir: string, sizes: DatapathSizes): Promise<Opened> {
  let notice = preparePinDir(pinDir);
  if (Datapath.isPinned(pinDir)) return { dp: Datapath.open(pinDir), created: false, notice };
  // A start killed while pinning: no instance (no link is pinned before all of it is), so nothing to adopt.
  const partial = Datapath.partialPins(pinDir);
  if (partial.length > 0) {
    Datapath.unpin(pinDir);
    notice = [notice, `${pinDir}: removed ${partial.length} pin(s) of an interrupted start (no xv_config), pinning afresh`].filter(Boolean).join('; ');
  }
  const dp = await Datapath.load({ sizes, programs: AT_START });
  try {
    dp.pin(pinDir);
  } catch (e) {
    dp.close();
    Datapath.unpin(pinDir);
    throw e;
  }
  return { dp, created: true, notice };
}

/** The pinned data path, for commands that must not create one. */
export function openPinned(pinDir: string): Datapath {
  if (!Datapath.isPinned(pinDir)) {
    const pid = readState(pinDir).daemonPid;
    if (pid !== null && running(pid)) {
      throw system(`${pinDir}: nothing pinned here, but xvtep run (pid ${pid}) serves this pin directory: was its bpffs unmounted? mount -t bpf bpf ${mountPointOf(pinDir)} and the daemon pins it again within a second`);
    }
  }
  if (!Datapath.isPinned(pinDir)) throw system(`${pinDir}: no xvtep state pinned here (run xvtep attach first, or pass the right --pin-dir / -c)`);
  return Datapath.open(pinDir);
}

/** max_entries of the loaded maps, by config capacity key. */
export function loadedCapacity(dp: Datapath): Record<keyof Config['capacity'], number> {
  return {
    vnis: dp.vnis.map.info.maxEntries, endpoints: dp.endpoints.map.info.maxEntries, fdb: dp.fdb.map.info.maxEntries,
    peers: dp.peers.map.info.maxEntries, neighbors: dp.neighbors.map.info.maxEntries,
  };
}

/**
 * Maps cannot be resized in place: a capacity change is reported (not
 * silently ignored) and takes effect on the next detach + attach. What the
 * file lists must fit the loaded maps, or nothing is touched.
 */
export function checkCapacity(dp: Datapath, cfg: Config, desired: Tables): string[] {
  const loaded = loadedCapacity(dp);
  const warnings: string[] = [];
  for (const k of Object.keys(loaded) as Array<keyof typeof loaded>) {
    if (loaded[k] !== cfg.capacity[k]) {
      warnings.push(`capacity.${k}: the loaded map holds ${loaded[k]}, the file asks for ${cfg.capacity[k]}; resizing needs xvtep detach + attach`);
    }
  }
  const need: Array<[keyof typeof loaded, number]> = [
    ['vnis', desired.vnis.size], ['endpoints', desired.endpoints.size], ['peers', desired.peers.size],
    ['fdb', [...desired.fdb.values()].filter((r) => r.static).length], ['neighbors', desired.neighbors.size],
  ];
  for (const [k, n] of need) {
    if (n > loaded[k]) throw usage(`capacity.${k}: the file needs ${n} entries but the loaded ${k} map holds ${loaded[k]}; detach and attach to resize`);
  }
  return warnings;
}

export interface ConvergeOptions {
  underlay?: { iface: string; mode: 'native' | 'skb'; family: 4 | 6 };
  /** How new TC hooks attach (default auto). */
  tcMode?: TcMode;
  /** Receives what attaching changed on the host. */
  notes?: string[];
  /** See Attachments: veth endpoint peers the operator vouches for. */
  assumePeerNapi?: boolean;
  dryRun?: boolean;
}

/** Makes the maps (and endpoint attachments) equal to `desired`; returns what changed. */
export function converge(dp: Datapath, pinDir: string, desired: Tables, live: Tables, opts: ConvergeOptions = {}): Diff {
  const diff = diffTables(desired, live);
  if (opts.dryRun) return diff;
  const att = new Attachments(pinDir, dp, { assumePeerNapi: opts.assumePeerNapi, tcMode: opts.tcMode });
  // One walk over the pinned links per apply, not one per endpoint: a reload
  // with 1000 endpoints and nothing to attach must stay cheap.
  const hooks = att.list();
  const endpoints = hooks.filter((h) => h.role === 'endpoint');
  // Interfaces (re)attached in this apply: a pin of the same name seen
  // before is the one they replaced (the interface was re-created), not one to remove.
  const ensured = new Set<string>();
  applyDiff(storeOf(dp), diff, {
    afterAdds(j: Journal) {
      if (opts.underlay) att.ensureUnderlay(opts.underlay.iface, opts.underlay.mode, opts.underlay.family, j, hooks);
      const fresh = newFloodRemotes(desired, live);
      if (fresh.length) opts.notes?.push(...manageNeighbours(fresh).notes);
      const attachedAs = new Map(endpoints.filter((h) => h.attached && h.hook === 'tcx-ingress').map((h) => [h.ifindex, h.iface]));
      for (const ifindex of desired.endpoints.keys()) {
        const setting = desired.endpointXdp.get(ifindex);
        const adopted = attachedAs.get(ifindex);
        // CLI edits start from the live state: what is attached stays as it is.
        if (adopted !== undefined && setting === undefined) continue;
        const iface = adopted ?? ifnameOf(ifindex);
        const xdp = endpointXdpFor(setting ?? 'auto', setting === 'auto' || setting === undefined ? endpointKind(iface) : 'virtual');
        if (adopted !== undefined && att.endpointXdpOf(iface, ifindex, hooks) === xdp) continue;
        att.ensureEndpoint(iface, j, xdp, setting !== 'on' && setting !== 'frags');
        ensured.add(iface);
      }
    },
    beforeRemovals(j: Journal) {
      for (const h of endpoints) {
        if ((h.attached && desired.endpoints.has(h.ifindex)) || ensured.has(h.iface)) continue;
        // a defunct XDP pin beside a live tcx one: the next XDP attach replaces it
        if (endpoints.some((x) => x.iface === h.iface && x.attached && desired.endpoints.has(x.ifindex))) continue;
        ensured.add(h.iface); // its other hook's pin: removed with this one
        const had = h.attached ? att.endpointXdpOf(h.iface, h.ifindex, hooks) : 'none';
        att.removeEndpoint(h.iface);
        if (h.attached) j.record(`reattach endpoint ${h.iface}`, () => att.ensureEndpoint(h.iface, undefined, had === 'other' ? 'none' : had));
      }
    },
  });
  opts.notes?.push(...att.notes, ...att.kindNotes(hooks));
  return diff;
}

/**
 * Flood destinations not in any live flood list yet. Their underlay next
 * hops are made kernel-managed (kept resolved): only one flooded copy can
 * wait for ARP/ND, and a flooded ARP request none (manageNeighbours).
 */
function newFloodRemotes(desired: Tables, live: Tables): string[] {
  const had = new Set([...live.flood.values()].flatMap((f) => f.remotes));
  return [...new Set([...desired.flood.values()].flatMap((f) => f.remotes))].filter((r) => !had.has(r));
}

export interface ReconcileResult {
  diff: Diff;
  changes: number;
  warnings: string[];
  notes: string[];
  /** Endpoints left out because their interface does not exist (only with tolerateMissingEndpoints). */
  missing: MissingEndpoint[];
  /** Each endpoint's endpointXdp setting in the file, by interface name. */
  endpointXdp: Record<string, string>;
}

export interface ReconcileOptions {
  dryRun?: boolean;
  resolver?: Resolver;
  assumePeerNapi?: boolean;
  /**
   * xvtep run: an endpoint interface that does not exist is left out (and
   * reported in `missing`) instead of failing the apply; the daemon watches
   * for it and reconciles again when it appears. attach keeps the error.
   */
  tolerateMissingEndpoints?: boolean;
}

/** Config → live maps: validate everything, diff against the kernel, apply. */
export function reconcileConfig(dp: Datapath, cfg: Config, opts: ReconcileOptions = {}): ReconcileResult {
  const tm = timer();
  const live = readLive(dp);
  tm('readLive');
  const resolver = opts.resolver ?? hostResolver;
  const missing: MissingEndpoint[] = [];
  const desired = desiredFromConfig(cfg, live, dp.stats.info.maxEntries, resolver, opts.tolerateMissingEndpoints ? missing : undefined);
  tm('desired');
  const warnings = checkCapacity(dp, cfg, desired);
  const notes: string[] = [];
  const family = desired.settings!.localAddress.includes(':') ? 6 : 4;
  tm('capacity');
  const diff = converge(dp, cfg.state.pinDir, desired, live, {
    dryRun: opts.dryRun, notes, assumePeerNapi: opts.assumePeerNapi, tcMode: cfg.underlay.tcMode, underlay: { iface: cfg.underlay.interface, mode: cfg.underlay.xdpMode, family },
  });
  tm('converge');
  const endpointXdp = Object.fromEntries(cfg.vnis.flatMap((v) => v.endpoints.map((e) => [e, v.endpointXdp])));
  return { diff, changes: changeCount(diff), warnings, notes, missing, endpointXdp };
}

/**
 * Detaches every program and removes every pin and the state file. Only
 * xvtep's own pins go (Datapath.unpin): `--pin-dir` pointing at the wrong
 * directory must never delete what else is there.
 */
export function detachAll(pinDir: string): { links: number; left: string[] } {
  assertPinDirAccess(pinDir);
  if (!existsSync(pinDir)) {
    removeState(pinDir);
    return { links: 0, left: [] };
  }
  if (!isBpffs(pinDir)) throw system(`${pinDir}: not on a bpffs, so it holds no xvtep pins; nothing removed`);
  // Attachments only needs the data path to attach; detaching works from pins alone,
  // so a pinned instance of another layout version can still be removed.
  const links = new Attachments(pinDir).removeAll();
  removeGso6Device(pinDir); // it only sends what the programs hand it: gone with them
  const left = Datapath.unpin(pinDir);
  removeState(pinDir);
  return { links, left };
}


/** XVTEP_TIMING=1: phase timings on stderr (bench/manager.mjs). */
function timer(): (what: string) => void {
  if (!process.env.XVTEP_TIMING) return () => {};
  let t = process.hrtime.bigint();
  return (what) => {
    const now = process.hrtime.bigint();
    process.stderr.write(`timing ${what} ${(Number(now - t) / 1e6).toFixed(1)} ms\n`);
    t = now;
  };
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
