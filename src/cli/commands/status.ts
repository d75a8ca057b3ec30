// xvtep status: interfaces and their hooks, VNIs, map fill, config generation.
import type { Command } from 'commander';
import { ifnameOf } from '../../bpf/index.js';
import { LAYOUT_VERSION, TC_HANDLE } from '../../datapath/index.js';
import { Attachments, loadedCapacity, openPinned, hostResolver, readState, tcPriority } from '../../reconcile/index.js';
import { alive, liveEndpointStates } from '../../daemon/index.js';
import { countEntries } from '../../metrics/index.js';
import { printJson, resolveTarget, table, withTarget } from '../target.js';


const name = (ifindex: number) => {
  try {
    return ifnameOf(ifindex);
  } catch {
    return `ifindex ${ifindex}`;
  }
};

type EndpointStatus = {
  name: string; vni: number; ifindex: number | null; state: 'attached' | 'reattached' | 'missing' | 'not attached'; since: string | null;
  /** The endpointXdp setting of the last applied file (null: not from a file, e.g. CLI edits). */
  xdpSetting: string | null;
  /** What is attached: on (xv_xdp_endpoint), frags (xv_xdp_ep_frags), off (tcx alone), other (a program of another load). */
  xdp: 'on' | 'frags' | 'off' | 'other';
};

/**
 * Each endpoint as the kernel has it now: the running daemon's list (names
 * from the file, including missing ones, with when they went or came back),
 * plus any xv_ep row it does not cover (attach without a daemon, CLI edits).
 */
function endpointStatus(pinDir: string, rows: ReadonlyArray<{ ifindex: number; vni: number }>, att: Attachments, hooks: ReturnType<Attachments['list']>, settings: Record<string, string>): EndpointStatus[] {
  const xdpOf = (name: string, ifindex: number | null): EndpointStatus['xdp'] => {
    const x = ifindex === null ? 'none' : att.endpointXdpOf(name, ifindex, hooks);
    return x === 'xdp' ? 'on' : x === 'none' ? 'off' : x;
  };
  const tcx = new Map(hooks.filter((h) => h.role === 'endpoint' && h.hook !== 'xdp' && h.attached).map((h) => [h.iface, h.ifindex]));
  const inMaps = new Map(rows.map((r) => [r.ifindex, r.vni]));
  const derive = (name: string, ifindex: number | null): EndpointStatus['state'] =>
    ifindex === null ? 'missing' : tcx.get(name) === ifindex && inMaps.has(ifindex) ? 'attached' : 'not attached';
  const out: EndpointStatus[] = [];
  const covered = new Set<number>();
  for (const e of liveEndpointStates(pinDir)?.endpoints ?? []) {
    const ifindex = hostResolver.lookup(e.name);
    let state = derive(e.name, ifindex);
    if (state === 'attached' && e.state === 'reattached' && e.ifindex === ifindex) state = 'reattached';
    if (ifindex !== null) covered.add(ifindex);
    out.push({ name: e.name, vni: e.vni, ifindex, state, since: state === e.state ? e.since : null, xdpSetting: settings[e.name] ?? null, xdp: xdpOf(e.name, ifindex) });
  }
  for (const r of rows) {
    if (covered.has(r.ifindex)) continue;
    let iface: string | null = null;
    try {
      iface = ifnameOf(r.ifindex);
    } catch {
      // the row outlived its interface
    }
    out.push({
      name: iface ?? `ifindex ${r.ifindex}`, vni: r.vni, ifindex: iface === null ? null : r.ifindex, state: iface === null ? 'missing' : derive(iface, r.ifindex), since: null,
      xdpSetting: iface === null ? null : settings[iface] ?? null, xdp: iface === null ? 'off' : xdpOf(iface, r.ifindex),
    });
  }
  return out.sort((a, b) => a.vni - b.vni || a.name.localeCompare(b.name));
}

/** Which kind of TC hook is in use (tcx links, netlink filters, or both while switching). */
function tcSummary(hooks: ReturnType<Attachments['list']>, priority: number) {
  const kinds = [...new Set(hooks.filter((h) => h.tcKind && h.attached).map((h) => h.tcKind!))].sort();
  return { kinds, netlink: kinds.includes('netlink') ? { handle: TC_HANDLE, priority } : null };
}

export async function collectStatus(pinDir: string) {
  const dp = openPinned(pinDir);
  try {
    const state = readState(pinDir);
    const settings = dp.settings();
    const att = new Attachments(pinDir, dp);
    const hooks = att.list();
    const eps = dp.endpoints.list();
    const peers = dp.peers.list();
    const vnis = [...dp.vnis.list()].sort((a, b) => a[0] - b[0]).map(([vni, s]) => ({
      vni, statsSlot: s.statsSlot, learning: s.learning, allowUnknownPeers: s.allowUnknownPeers, proxyArp: s.proxyArp, proxyNd: s.proxyNd,
      endpoints: eps.filter((e) => e.vni === vni).map((e) => name(e.ifindex)),
      peers: peers.filter((p) => p.vni === vni).map((p) => p.address),
    }));
    const cap = loadedCapacity(dp);
    const fdb = await dp.fdbCounts();
    const maps = [
      { map: 'xv_vni', entries: vnis.length, capacity: cap.vnis },
      { map: 'xv_ep', entries: eps.length, capacity: cap.endpoints },
      { map: 'xv_fdb', entries: fdb.static + fdb.learned, capacity: cap.fdb, static: fdb.static, learned: fdb.learned },
      { map: 'xv_peer', entries: peers.length, capacity: cap.peers },
      { map: 'xv_neigh', entries: countEntries(dp.neighbors.map), capacity: cap.neighbors },
    ];
    return {
      pinDir, layoutVersion: LAYOUT_VERSION,
      underlay: settings ? { iface: name(settings.underlayIfindex), ifindex: settings.underlayIfindex, address: settings.localAddress, port: settings.port, mtu: settings.underlayMtu } : null,
      interfaces: hooks.map((h) => ({ iface: h.iface, ifindex: h.ifindex, role: h.role, hook: h.hook, progId: h.progId, linkId: h.linkId, attached: h.attached, xdpMode: h.xdpMode ?? null, tcKind: h.tcKind ?? null })),
      tc: tcSummary(hooks, tcPriority(pinDir)),
      endpoints: endpointStatus(pinDir, eps, att, hooks, state.endpointXdp ?? {}),
      vnis, maps,
      config: { path: state.configPath, generation: state.generation, reloads: state.reloads, reloadFailures: state.reloadFailures, lastReload: state.lastReload },
      daemon: { pid: alive(state.daemonPid) ? state.daemonPid : null },
    };
  } finally {
    dp.close();
  }
}

export function registerStatus(program: Command): void {
  withTarget(program.command('status').description('interfaces, programs, XDP modes, VNIs, map fill, config generation'))
    .action(async (o: { config?: string; pinDir?: string; json?: boolean }) => {
      const { pinDir } = await resolveTarget(o);
      const s = await collectStatus(pinDir);
      if (o.json) return printJson(s);
      const lr = s.config.lastReload;
      let out = `pin dir:   ${s.pinDir} (layout ${s.layoutVersion})\n`;
      out += `underlay:  ${s.underlay ? `${s.underlay.iface} ${s.underlay.address} udp ${s.underlay.port} mtu ${s.underlay.mtu}` : 'not configured'}\n`;
      out += `config:    ${s.config.path ?? '(quick form / none)'}, generation ${s.config.generation}, ${s.config.reloads} apply(s), ${s.config.reloadFailures} failed\n`;
      out += `last:      ${lr ? `${lr.ok ? 'ok' : 'FAILED'} (${lr.trigger}, ${lr.at}${lr.ok ? `, ${lr.changes} change(s)` : `: ${lr.error}`})` : 'none'}\n`;
      out += `tc hooks:  ${s.tc.kinds.length ? s.tc.kinds.map((k) => (k === 'tcx' ? 'tcx links' : `netlink clsact filters (handle 0x${TC_HANDLE.toString(16)}, priority 0x${s.tc.netlink!.priority.toString(16)})`)).join(' + ') : 'none'}\n`;
      out += `daemon:    ${s.daemon.pid ? `running, pid ${s.daemon.pid}` : 'not running (the data path runs from its pins)'}\n\n`;
      out += table([['IFACE', 'IFINDEX', 'ROLE', 'HOOK', 'PROG', 'LINK', 'XDP MODE', 'STATE'],
        ...s.interfaces.map((i) => [i.iface, String(i.ifindex), i.role, i.hook, String(i.progId ?? '-'), String(i.linkId ?? '-'), i.xdpMode ?? '-', i.attached ? 'attached' : 'DEFUNCT'])]);
      if (s.endpoints.length) {
        const stateText = (e: (typeof s.endpoints)[number]) =>
          e.state === 'missing' ? `MISSING${e.since ? ` since ${e.since}` : ''}` : e.state === 'reattached' ? `re-attached at ${e.since}` : e.state === 'not attached' ? 'NOT ATTACHED' : 'attached';
        // XDP: what is attached, after the setting when the file's differs in words (auto: on)
        const xdpText = (e: (typeof s.endpoints)[number]) => (e.xdpSetting && e.xdpSetting !== e.xdp ? `${e.xdpSetting}: ${e.xdp}` : e.xdp);
        out += '\n' + table([['ENDPOINT', 'VNI', 'IFINDEX', 'XDP', 'STATE'], ...s.endpoints.map((e) => [e.name, String(e.vni), e.ifindex === null ? '-' : String(e.ifindex), xdpText(e), stateText(e)])]);
      }
      out += '\n' + table([['VNI', 'SLOT', 'LEARNING', 'PROXY', 'UNKNOWN PEERS', 'ENDPOINTS', 'PEERS'],
        ...s.vnis.map((v) => [String(v.vni), String(v.statsSlot), v.learning ? 'on' : 'off', v.proxyArp ? 'on' : 'off', v.allowUnknownPeers ? 'allow' : 'drop', v.endpoints.join(',') || '-', v.peers.join(',') || '-'])]);
      out += '\n' + table([['MAP', 'ENTRIES', 'CAPACITY', 'FILL'],
        ...s.maps.map((m) => [m.map, String(m.entries) + ('static' in m ? ` (${m.static} static, ${m.learned} learned)` : ''), String(m.capacity), `${((100 * m.entries) / m.capacity).toFixed(1)}%`])]);
      process.stdout.write(out);
    });
}
