// The kernel vxlan device GSO frames to IPv6 peers leave through.
//
// RFC 8200 wants a UDP checksum over IPv6, and a GSO super-frame cannot
// carry one for its segments: they are cut after xvtep, and
// bpf_skb_adjust_room cannot mark the skb SKB_GSO_UDP_TUNNEL_CSUM (kernel
// 6.18 has no such flag), which is what makes segmentation checksum each
// segment. The kernel's vxlan in external (collect_md) mode does mark it: the
// TC program hands it such frames with a tunnel key (bpf/endpoint.h,
// tc_gso6_handoff), as Cilium does. One device per UDP port and netns,
// created when the underlay is IPv6 and the checksum is on. It carries the
// same source port range as xvtep, so a flow keeps one outer source port
// whichever way its frames leave.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants } from 'node:os';
import { BpfError, BpfMap } from '../bpf/index.js';
import type { Datapath } from './datapath.js';
import { MapName } from './layout.js';

/** The range xvtep uses when none is set: [low, high), bpf/common.h XV_DEFAULT_SPORT_*. */
const DEFAULT_SPORT = { low: 32768, high: 61000 };

export function gso6DeviceName(port: number): string {
  return `xvgso6-${port}`;
}

interface VxlanLink {
  ifindex: number;
  linkinfo?: { info_kind?: string; info_data?: { external?: boolean; port?: number; port_range?: { low: number; high: number } } };
}

function ip(args: string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0, out: r.stdout ?? '', err: (r.stderr ?? '').trim() || String(r.error ?? '') };
}

function show(name: string): VxlanLink | undefined {
  const r = ip(['-j', '-d', 'link', 'show', 'dev', name]);
  return r.ok ? (JSON.parse(r.out) as VxlanLink[])[0] : undefined;
}

function fail(name: string, what: string, err: string): never {
  throw new BpfError(what, constants.errno.EINVAL, `device ${name}`,
    `${err} (xvtep sends GSO frames to IPv6 peers through it so that every segment gets a UDP checksum; ` +
    'udpChecksumV6: false does without it)');
}

/**
 * Makes the device exist (in the calling thread's netns) when the settings
 * need it and tells the data path its ifindex, or 0 when they don't. Returns
 * a note when it changed something.
 */
export function ensureGso6Device(dp: Datapath): string | undefined {
  const s = dp.settings();
  if (!s || !s.localAddress.includes(':') || s.udp6ZeroChecksum) {
    dp.setGso6Device(0);
    return undefined;
  }
  const name = gso6DeviceName(s.port);
  const range = s.srcPortMin || s.srcPortMax ? { low: s.srcPortMin, high: Math.max(s.srcPortMin, s.srcPortMax) } : DEFAULT_SPORT;
  let note: string | undefined;
  let dev = show(name);
  const d = dev?.linkinfo?.info_data;
  if (dev && (dev.linkinfo?.info_kind !== 'vxlan' || !d?.external || d.port !== s.port)) {
    fail(name, 'gso6 device', `${name} exists but is not a vxlan in external mode on port ${s.port}: delete it (ip link del ${name})`);
  }
  if (dev && (d?.port_range?.low !== range.low || d?.port_range?.high !== range.high)) {
    // the kernel cannot change a vxlan's port range: a new device
    const del = ip(['link', 'del', name]);
    if (!del.ok) fail(name, 'gso6 device', `ip link del ${name}: ${del.err}`);
    dev = undefined;
  }
  if (!dev) {
    const add = ip(['link', 'add', name, 'type', 'vxlan', 'external', 'dstport', String(s.port),
      'srcport', String(range.low), String(range.high), 'nolearning']);
    if (!add.ok) fail(name, 'create gso6 device', `ip link add ${name} type vxlan external dstport ${s.port}: ${add.err}`);
    try {
      // it only sends: no addresses, no ND or MLD of its own
      writeFileSync(`/proc/sys/net/ipv6/conf/${name}/disable_ipv6`, '1');
      const up = ip(['link', 'set', name, 'up']);
      if (!up.ok) throw new Error(`ip link set ${name} up: ${up.err}`);
    } catch (e) {
      ip(['link', 'del', name]);
      fail(name, 'create gso6 device', (e as Error).message);
    }
    dev = show(name);
    if (!dev) fail(name, 'create gso6 device', `${name} vanished after creation`);
    note = `created ${name} (kernel vxlan, external mode): GSO frames to IPv6 peers leave through it, checksummed per segment`;
  }
  dp.setGso6Device(dev.ifindex);
  return note;
}

/**
 * Detach: deletes the device the pinned xv_config names (gso6_ifindex, offset
 * 56), if it is one of ours by name. Returns its name, or undefined.
 */
export function removeGso6Device(pinDir: string): string | undefined {
  const path = join(pinDir, 'maps', MapName.config);
  if (!existsSync(path)) return undefined;
  const m = BpfMap.open(path);
  let ifindex = 0;
  try {
    const v = m.get(Buffer.alloc(4));
    if (v && v.length >= 60) ifindex = v.readUInt32LE(56);
  } finally {
    m.close();
  }
  if (!ifindex) return undefined;
  const r = ip(['-j', 'link', 'show']);
  const dev = r.ok ? (JSON.parse(r.out) as Array<{ ifindex: number; ifname: string }>).find((l) => l.ifindex === ifindex) : undefined;
  if (!dev || !dev.ifname.startsWith('xvgso6-')) return undefined;
  const del = ip(['link', 'del', dev.ifname]);
  if (!del.ok) fail(dev.ifname, 'delete gso6 device', `ip link del ${dev.ifname}: ${del.err}`);
  return dev.ifname;
}
