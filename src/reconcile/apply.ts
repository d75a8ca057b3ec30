// Applies a Diff make-before-break: everything new is in place before
// anything old goes (VNIs before what refers to them, FDB before flood lists),
// and every write first records how to undo it. If a write fails half-way
// (a full map, a vanished interface) the journal runs backwards and the maps
// are back at the last good state before the error is reported.
import { errMessage } from './text.js';
import { faultPoint } from './fault.js';
import { needsGenerationBump, type Diff } from './diff.js';
import { ManagerError } from './errors.js';
import type { Store } from './store.js';
import type { VniSettings } from './model.js';

export class Journal {
  readonly #undo: Array<{ what: string; fn: () => void }> = [];
  record(what: string, fn: () => void): void {
    this.#undo.push({ what, fn });
  }
  /** Runs every undo, newest first; returns what could not be undone. */
  rollback(): string[] {
    const failed: string[] = [];
    for (const { what, fn } of this.#undo.splice(0).reverse()) {
      try {
        fn();
      } catch (e) {
        failed.push(`${what}: ${errMessage(e)}`);
      }
    }
    return failed;
  }
}

export class ApplyError extends ManagerError {
  constructor(readonly step: string, readonly failure: unknown, readonly rollbackFailures: string[]) {
    super(`apply failed at ${step}: ${errMessage(failure)}; ` + (rollbackFailures.length === 0
      ? 'rolled back, the previous state is still in place'
      : `rollback incomplete (${rollbackFailures.join('; ')})`), 2, { cause: failure });
  }
}

export interface ApplyHooks {
  /** After every addition, before any removal (attach new endpoints). */
  afterAdds?(journal: Journal): void;
  /** Before the removals (detach endpoints that go away). */
  beforeRemovals?(journal: Journal): void;
}

export function applyDiff(store: Store, d: Diff, hooks: ApplyHooks = {}): void {
  const journal = new Journal();
  let step = 'start';
  const run = (name: string, fn: () => void): void => {
    step = name;
    faultPoint(name);
    fn();
  };
  const newVni = new Map<number, VniSettings>([...d.vnis.add, ...d.vnis.change.map((c) => c.to)].map((v) => [v.vni, v.settings]));
  const oldVni = new Map<number, VniSettings>([...d.vnis.remove, ...d.vnis.change.map((c) => c.from)].map((v) => [v.vni, v.settings]));
  const vniNow = (vni: number) => newVni.get(vni);
  const vniBefore = (vni: number) => oldVni.get(vni);
  try {
    // The first configuration must precede everything: until then the programs pass all traffic.
    const firstConfig = d.settings && !d.settings.from;
    if (firstConfig) run('xv_config', () => store.configure(d.settings!.to));

    run('xv_stats (zero new slots)', () => {
      for (const s of d.newSlots) store.zeroStats(s);
    });
    run('xv_vni (add/change)', () => {
      const rows = [...d.vnis.add, ...d.vnis.change.map((c) => c.to)].map((v) => [v.vni, v.settings] as const);
      journal.record('xv_vni', () => {
        store.deleteVnis(d.vnis.add.map((v) => v.vni));
        store.setVnis(d.vnis.change.map((c) => [c.from.vni, c.from.settings] as const));
      });
      store.setVnis(rows);
    });
    run('xv_devs (add)', () => {
      journal.record('xv_devs', () => store.deleteDevs(d.devs.add));
      store.addDevs(d.devs.add);
    });
    run('xv_ep (add/change)', () => {
      journal.record('xv_ep', () => {
        store.deleteEndpoints(d.endpoints.add.map((e) => e.ifindex));
        store.setEndpoints(d.endpoints.change.map((c) => c.from), (v) => vniBefore(v) ?? vniNow(v));
      });
      store.setEndpoints([...d.endpoints.add, ...d.endpoints.change.map((c) => c.to)], (v) => vniNow(v));
    });
    run('xv_peer (add/change)', () => {
      journal.record('xv_peer', () => {
        store.deletePeers(d.peers.add);
        store.setPeers(d.peers.change.map((c) => c.from), (v) => vniBefore(v) ?? vniNow(v));
      });
      store.setPeers([...d.peers.add, ...d.peers.change.map((c) => c.to)], vniNow);
    });
    run('xv_neigh (add/change)', () => {
      journal.record('xv_neigh', () => {
        store.deleteNeighbors(d.neighbors.add);
        store.setNeighbors(d.neighbors.change.map((c) => c.from));
      });
      store.setNeighbors([...d.neighbors.add, ...d.neighbors.change.map((c) => c.to)]);
    });
    run('xv_fdb (add/change)', () => {
      journal.record('xv_fdb', () => {
        store.deleteFdb(d.fdb.add);
        store.setFdb(d.fdb.change.map((c) => c.from));
      });
      store.setFdb([...d.fdb.add, ...d.fdb.change.map((c) => c.to)]);
    });
    run('xv_bum (add/change)', () => {
      for (const f of d.flood.add) {
        journal.record(`xv_bum ${f.vni}`, () => store.deleteFlood(f.vni));
        store.setFlood(f);
      }
      for (const c of d.flood.change) {
        journal.record(`xv_bum ${c.to.vni}`, () => store.setFlood(c.from));
        store.setFlood(c.to);
      }
    });
    run('xv_bcast (add/change)', () => {
      // one write for all (each VNI's set is still swapped atomically): see Datapath.setFloodPortsMany
      journal.record('xv_bcast', () => {
        store.deleteFloodPorts(d.floodPorts.add.map((p) => p.vni));
        store.setFloodPorts(d.floodPorts.change.map((c) => c.from));
      });
      store.setFloodPorts([...d.floodPorts.add, ...d.floodPorts.change.map((c) => c.to)]);
    });
    if (d.settings && !firstConfig) {
      run('xv_config', () => {
        const from = d.settings!.from!;
        journal.record('xv_config', () => store.configure(from));
        store.configure(d.settings!.to);
      });
    }
    if (hooks.afterAdds) run('attach', () => hooks.afterAdds!(journal));
    if (hooks.beforeRemovals) run('detach', () => hooks.beforeRemovals!(journal));

    run('xv_fdb (remove)', () => {
      journal.record('xv_fdb (removed)', () => store.setFdb(d.fdb.remove));
      store.deleteFdb(d.fdb.remove);
    });
    run('xv_neigh (remove)', () => {
      journal.record('xv_neigh (removed)', () => store.setNeighbors(d.neighbors.remove));
      store.deleteNeighbors(d.neighbors.remove);
    });
    run('xv_peer (remove)', () => {
      journal.record('xv_peer (removed)', () => store.setPeers(d.peers.remove, vniBefore));
      store.deletePeers(d.peers.remove);
    });
    run('xv_bcast (remove)', () => {
      journal.record('xv_bcast (removed)', () => store.setFloodPorts(d.floodPorts.remove));
      store.deleteFloodPorts(d.floodPorts.remove.map((p) => p.vni));
    });
    run('xv_bum (remove)', () => {
      for (const f of d.flood.remove) {
        journal.record(`xv_bum ${f.vni} (removed)`, () => store.setFlood(f));
        store.deleteFlood(f.vni);
      }
    });
    run('xv_ep (remove)', () => {
      journal.record('xv_ep (removed)', () => store.setEndpoints(d.endpoints.remove, vniBefore));
      store.deleteEndpoints(d.endpoints.remove.map((e) => e.ifindex));
    });
    run('xv_devs (remove)', () => {
      journal.record('xv_devs (removed)', () => store.addDevs(d.devs.remove));
      store.deleteDevs(d.devs.remove);
    });
    run('xv_vni (remove)', () => {
      journal.record('xv_vni (removed)', () => store.setVnis(d.vnis.remove.map((v) => [v.vni, v.settings] as const)));
      store.deleteVnis(d.vnis.remove.map((v) => v.vni));
    });
  } catch (e) {
    const failures = journal.rollback();
    try {
      store.bumpGeneration();
    } catch (b) {
      failures.push(`xv_gen: ${errMessage(b)}`);
    }
    throw new ApplyError(step, e, failures);
  }
  if (needsGenerationBump(d)) store.bumpGeneration();
}
