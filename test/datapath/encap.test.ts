// Transmit path (endpoint -> underlay): encapsulation golden bytes for the
// XDP fast path (both variants) and the TC path, outer header policies
// (TTL, TOS inherit, DF, source port range, IPv4 ID, IPv6 UDP checksum),
// local switching and learning from endpoints.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { ADDR, DEFAULT_SLOT, DpEnv, MAC, TC, XDP } from '../helpers/dpenv.js';
import {
  EtherType, Proto, arp, checksum, eth, fill, hex, icmpEcho, ipv4, ipv6, tcp, udp, vxlan,
} from '../helpers/packets.js';

const VNI = 1024;
const SLOT = DEFAULT_SLOT;
const XDP_PROGS = ['xv_xdp_endpoint', 'xv_xdp_ep_frags'] as const;

function inner4(o: { dst?: string; src?: string; tos?: number; df?: boolean; sport?: number; size?: number; proto?: number; options?: Buffer; partial?: boolean } = {}): Buffer {
  const sport = o.sport ?? 1111;
  const l4 = o.proto === Proto.ICMP ? icmpEcho(7, 1, fill(o.size ?? 100))
    : o.proto === Proto.TCP ? tcp(sport, 2222, fill(o.size ?? 100), { src: '198.51.100.1', dst: '198.51.100.2', partial: o.partial })
    : udp({ sport, dport: 2222, payload: fill(o.size ?? 100), pseudo: { src: '198.51.100.1', dst: '198.51.100.2' } });
  return eth(o.dst ?? MAC.rem, o.src ?? MAC.ep1c, EtherType.IPV4, ipv4({
    src: '198.51.100.1', dst: '198.51.100.2', proto: o.proto ?? Proto.UDP, tos: o.tos ?? 0, df: o.df ?? true, id: 0x4242, payload: l4,
    options: o.options,
  }));
}

function inner6(o: { dst?: string; tclass?: number; proto?: number } = {}): Buffer {
  const src = '2001:db8:100::1', dst = '2001:db8:100::2';
  const payload = udp({ sport: 3333, dport: 4444, payload: fill(77), pseudo: { src, dst } });
  return eth(o.dst ?? MAC.rem, MAC.ep1c, EtherType.IPV6, ipv6({ src, dst, nextHeader: o.proto ?? Proto.UDP, tclass: o.tclass ?? 0, payload }));
}

interface Outer {
  inner: Buffer;
  remote?: string;
  dmac?: string;
  smac?: string;
  sport: number;
  id?: number;
  ttl?: number;
  tos?: number;
  df?: boolean;
  vni?: number;
  dport?: number;
  csum6?: boolean;
}

/** The frame the VTEP must send: built from the RFCs, not from the program. */
function outer(o: Outer): Buffer {
  const remote = o.remote ?? ADDR.peer4;
  const v6 = remote.includes(':');
  const local = v6 ? ADDR.local6 : ADDR.local4;
  const u = udp({ sport: o.sport, dport: o.dport ?? 4789, payload: vxlan(o.vni ?? VNI, o.inner), pseudo: v6 && o.csum6 ? { src: local, dst: remote } : undefined });
  const l3 = v6
    ? ipv6({ src: local, dst: remote, nextHeader: Proto.UDP, hopLimit: o.ttl ?? 64, tclass: o.tos ?? 0, payload: u })
    : ipv4({ src: local, dst: remote, proto: Proto.UDP, ttl: o.ttl ?? 64, tos: o.tos ?? 0, df: o.df ?? false, id: o.id ?? 0, payload: u });
  return eth(o.dmac ?? MAC.peer, o.smac ?? MAC.uly, v6 ? EtherType.IPV6 : EtherType.IPV4, l3);
}

const sportOf = (f: Buffer, v6 = false) => f.readUInt16BE(14 + (v6 ? 40 : 20));
const idOf = (f: Buffer) => f.readUInt16BE(18);

describeKernel('encap: endpoint -> underlay', () => {
  let env: DpEnv;
  beforeAll(async () => {
    env = await DpEnv.create('enc');
  });
  afterAll(() => env?.destroy());

  beforeEach(() => {
    env.configureRaw();
    env.vni(VNI, { endpoints: [env.ifx.ep1, env.ifx.ep2], peers: [ADDR.peer4, ADDR.peer6] });
    env.staticRemote(VNI, MAC.rem, ADDR.peer4);
    env.staticRemote(VNI, MAC.rem2, ADDR.peer6);
    env.staticLocal(VNI, MAC.ep2c, env.ifx.ep2);
  });

  const tx = (inner: Buffer, n = 1) => ({ [SLOT]: { txPackets: n, txBytes: n * inner.length } });
  const runXdp = (prog: string, f: Buffer) => env.xdp(prog, f, env.ifx.ep1);
  const runTc = (f: Buffer) => env.tc('xv_tc_endpoint', f, env.ifx.ep1);

  it('IPv4 underlay, XDP and TC: every byte of the outer headers (DF unset: varying ID, IPv4 UDP checksum 0)', () => {
    const inner = inner4();
    const outs: Buffer[] = [];
    for (const prog of XDP_PROGS) {
      const r = env.counting(tx(inner), () => runXdp(prog, inner));
      expect(r.retval).toBe(XDP.REDIRECT);
      outs.push(r.data);
    }
    const t = env.counting(tx(inner), () => runTc(inner));
    expect(t.retval).toBe(TC.REDIRECT);
    outs.push(t.data);
    const sport = sportOf(outs[0]!);
    for (const o of outs) {
      // header checksum verified on its own, then every byte with the two variable fields taken from the output
      expect(checksum(o.subarray(14, 34))).toBe(0);
      expect(hex(o)).toBe(hex(outer({ inner, sport, id: idOf(o) })));
    }
    expect(sport).toBeGreaterThanOrEqual(32768);
    expect(sport).toBeLessThan(61000);
    expect(new Set(outs.map((o) => sportOf(o)))).toEqual(new Set([sport])); // one flow, one source port, XDP or TC
    expect(new Set(outs.map((o) => idOf(o))).size).toBe(outs.length); // DF clear: IDs differ
  });

  it('IPv6 underlay: outer UDP checksum computed over the whole datagram (XDP, TC), odd lengths too', () => {
    for (const inner of [inner4({ dst: MAC.rem2 }), inner4({ dst: MAC.rem2, size: 1301 }), inner6({ dst: MAC.rem2 })]) {
      const outs = [...XDP_PROGS.map((p) => env.counting(tx(inner), () => runXdp(p, inner))), env.counting(tx(inner), () => runTc(inner))];
      expect(outs.map((r) => r.retval)).toEqual([XDP.REDIRECT, XDP.REDIRECT, TC.REDIRECT]);
      for (const r of outs) {
        const sport = sportOf(r.data, true);
        expect(hex(r.data)).toBe(hex(outer({ inner, remote: ADDR.peer6, sport, csum6: true })));
      }
    }
  });

  it('IPv6 underlay with udp6ZeroChecksum: checksum 0', () => {
    env.configureRaw({ udp6ZeroCsum: 1 });
    const inner = inner4({ dst: MAC.rem2 });
    for (const r of [runXdp('xv_xdp_endpoint', inner), runTc(inner)]) {
      expect(hex(r.data)).toBe(hex(outer({ inner, remote: ADDR.peer6, sport: sportOf(r.data, true) })));
    }
  });

  it('CHECKSUM_PARTIAL inners (epChecksumComplete off): XDP defers TCP/UDP to TC; TC sends the outer checksum the frame has once the inner one is completed; ICMP goes through XDP', () => {
    env.configureRaw({ epCsumComplete: 0 });
    const u = inner4({ dst: MAC.rem2 });
    const x = env.counting({ [SLOT]: { event: { xdp_to_tc: 1 } } }, () => runXdp('xv_xdp_endpoint', u));
    expect([x.retval, hex(x.data)]).toEqual([XDP.PASS, hex(u)]);
    const t = env.counting(tx(u), () => runTc(u));
    expect(hex(t.data)).toBe(hex(outer({ inner: u, remote: ADDR.peer6, sport: sportOf(t.data, true), csum6: true })));
    // what a local TCP stack hands a veth: the inner checksum field holds the
    // pseudo-header sum, completed after xvtep (skb_checksum_help or the NIC)
    const tcp6 = (size: number, partial: boolean) => {
      const src = '2001:db8:100::1', dst = '2001:db8:100::2';
      return eth(MAC.rem2, MAC.ep1c, EtherType.IPV6, ipv6({ src, dst, nextHeader: Proto.TCP, payload: tcp(5555, 80, fill(size), { src, dst, partial }) }));
    };
    for (const [part, done] of [0, 100, 1301].flatMap((size) => [
      [inner4({ dst: MAC.rem2, proto: Proto.TCP, partial: true, size }), inner4({ dst: MAC.rem2, proto: Proto.TCP, size })],
      [tcp6(size, true), tcp6(size, false)],
    ])) {
      expect(hex(part)).not.toBe(hex(done));
      expect(env.counting({ [SLOT]: { event: { xdp_to_tc: 1 } } }, () => runXdp('xv_xdp_endpoint', part)).retval).toBe(XDP.PASS);
      const r = env.counting(tx(part), () => runTc(part));
      expect(r.retval).toBe(TC.REDIRECT);
      const sport = sportOf(r.data, true);
      // the inner frame is left as it came; with its checksum completed the
      // frame is exactly the one built from the RFCs over the complete inner
      const completed = Buffer.from(r.data);
      done.copy(completed, 14 + 40 + 16);
      expect(hex(completed)).toBe(hex(outer({ inner: done, remote: ADDR.peer6, sport, csum6: true })));
      expect(hex(r.data.subarray(14 + 40 + 16))).toBe(hex(part));
    }
    const ic = inner4({ dst: MAC.rem2, proto: Proto.ICMP, size: 57 });
    for (const r of [env.counting(tx(ic), () => runXdp('xv_xdp_endpoint', ic)), env.counting(tx(ic), () => runTc(ic))]) {
      expect(r.retval === XDP.REDIRECT || r.retval === TC.REDIRECT).toBe(true);
      expect(hex(r.data)).toBe(hex(outer({ inner: ic, remote: ADDR.peer6, sport: sportOf(r.data, true), csum6: true })));
    }
    // IPv4 underlay: ICMP inner goes through XDP, UDP inner via TC
    const ic4 = inner4({ proto: Proto.ICMP, size: 20 });
    const r4 = env.counting(tx(ic4), () => runXdp('xv_xdp_endpoint', ic4));
    expect(hex(r4.data)).toBe(hex(outer({ inner: ic4, sport: sportOf(r4.data), id: idOf(r4.data) })));
  });

  it('a cached flow (epChecksumComplete off): its TCP/UDP frames go to TC straight from the flow entry (xdp_to_tc in its slot, frame untouched, entry kept); its ICMP goes out from the template', async () => {
    // lifetimes long enough that the entry and its template outlive the test on a busy machine
    env.configureRaw({ epCsumComplete: 0, nhCacheMs: 60_000, fdbRefreshMs: 60_000 });
    const ic = inner4({ proto: Proto.ICMP, size: 20 });
    const deferred = [inner4(), inner4({ sport: 2222 }), inner4({ proto: Proto.TCP, partial: true, size: 100 })];
    // one CPU: the flow entry is per CPU
    await env.onOneCpu(async () => {
      for (const prog of XDP_PROGS) {
        for (let i = 0; i < 2; i++) { // the first may fill the entry, the second is sent from it
          const r = env.counting(tx(ic), () => runXdp(prog, ic));
          expect(r.retval).toBe(XDP.REDIRECT);
          expect(hex(r.data)).toBe(hex(outer({ inner: ic, sport: sportOf(r.data), id: idOf(r.data) })));
        }
        for (const f of deferred) {
          const r = env.counting({ [SLOT]: { event: { xdp_to_tc: 1 } } }, () => runXdp(prog, f));
          expect([r.retval, hex(r.data)]).toEqual([XDP.PASS, hex(f)]);
        }
        const r = env.counting(tx(ic), () => runXdp(prog, ic));
        expect(r.retval).toBe(XDP.REDIRECT);
        expect(hex(r.data)).toBe(hex(outer({ inner: ic, sport: sportOf(r.data), id: idOf(r.data) })));
      }
    });
  });

  it('non-IP inner frames (unicast ARP) are encapsulated by XDP and by TC', () => {
    const a = eth(MAC.rem, MAC.ep1c, EtherType.ARP, arp({ op: 2, sha: MAC.ep1c, spa: '198.51.100.1', tha: MAC.rem, tpa: '198.51.100.2' }));
    for (const r of [env.counting(tx(a), () => runXdp('xv_xdp_endpoint', a)), env.counting(tx(a), () => runTc(a))]) {
      expect(hex(r.data)).toBe(hex(outer({ inner: a, sport: sportOf(r.data), id: idOf(r.data) })));
    }
    const a6 = Buffer.from(a);
    a6.write(MAC.rem2.replaceAll(':', ''), 0, 'hex');
    for (const r of [runXdp('xv_xdp_endpoint', a6), runTc(a6)]) {
      expect(hex(r.data)).toBe(hex(outer({ inner: a6, remote: ADDR.peer6, sport: sportOf(r.data, true), csum6: true })));
    }
  });

  describe('outer header policies', () => {
    it('TTL and fixed DSCP (IPv4 and IPv6), DF set (ID 0); ECN from the inner header all the same (RFC 6040, as the kernel)', () => {
      env.configureRaw({ ttl: 33, tos: 0x28, dfPolicy: 1 });
      // inner ECN: Not-ECT, ECT(1), ECT(0), CE (sent as ECT(0))
      for (const [innerTos, outerTos] of [[0xb8, 0x28], [0xb9, 0x29], [0xba, 0x2a], [0xbb, 0x2a]] as const) {
        const inner = inner4({ tos: innerTos });
        for (const r of [runXdp('xv_xdp_endpoint', inner), runTc(inner)]) {
          expect(hex(r.data)).toBe(hex(outer({ inner, sport: sportOf(r.data), ttl: 33, tos: outerTos, df: true, id: 0 })));
        }
        const i6 = inner4({ dst: MAC.rem2, tos: innerTos });
        const r6 = runXdp('xv_xdp_endpoint', i6);
        expect(hex(r6.data)).toBe(hex(outer({ inner: i6, remote: ADDR.peer6, sport: sportOf(r6.data, true), ttl: 33, tos: outerTos, csum6: true })));
      }
      // the configured value's own ECN bits are never sent: a frame must not claim ECN its sender did not
      env.configureRaw({ ttl: 33, tos: 0x2b, dfPolicy: 1 });
      const plain = inner4({ tos: 0 });
      for (const r of [runXdp('xv_xdp_endpoint', plain), runTc(plain)]) {
        expect(hex(r.data)).toBe(hex(outer({ inner: plain, sport: sportOf(r.data), ttl: 33, tos: 0x28, df: true, id: 0 })));
      }
    });

    it('TOS inherit copies DSCP and ECN (RFC 6040: CE becomes ECT(0)); non-IP inners get the fixed TOS', () => {
      env.configureRaw({ tosInherit: 1, tos: 0x10, dfPolicy: 1 });
      for (const [innerTos, outerTos] of [[0xb9, 0xb9], [0xba, 0xba], [0xbb, 0xba], [0x00, 0x00], [0x2c, 0x2c]] as const) {
        const inner = inner4({ tos: innerTos });
        for (const r of [runXdp('xv_xdp_endpoint', inner), runTc(inner)]) {
          expect(hex(r.data)).toBe(hex(outer({ inner, sport: sportOf(r.data), tos: outerTos, df: true })));
        }
      }
      const i6 = inner6({ tclass: 0x8b }); // IPv6 inner, CE
      const r = runXdp('xv_xdp_endpoint', i6);
      expect(hex(r.data)).toBe(hex(outer({ inner: i6, sport: sportOf(r.data), tos: 0x8a, df: true })));
      const a = eth(MAC.rem, MAC.ep1c, 0x88b5, fill(50));
      const ra = runXdp('xv_xdp_endpoint', a);
      expect(hex(ra.data)).toBe(hex(outer({ inner: a, sport: sportOf(ra.data), tos: 0x10, df: true })));
    });

    it('DF inherit: from the inner IPv4 DF bit; IPv6 inners always DF', () => {
      env.configureRaw({ dfPolicy: 2 });
      const df = inner4({ df: true });
      const r1 = runXdp('xv_xdp_endpoint', df);
      expect(hex(r1.data)).toBe(hex(outer({ inner: df, sport: sportOf(r1.data), df: true, id: 0 })));
      const nodf = inner4({ df: false });
      const r2 = runTc(nodf);
      expect(hex(r2.data)).toBe(hex(outer({ inner: nodf, sport: sportOf(r2.data), df: false, id: idOf(r2.data) })));
      const i6 = inner6();
      const r3 = runXdp('xv_xdp_endpoint', i6);
      expect(hex(r3.data)).toBe(hex(outer({ inner: i6, sport: sportOf(r3.data), df: true, id: 0 })));
    });

    it('source port: in the configured range, stable per flow, spread over flows; min == max pins it', () => {
      env.configureRaw({ srcPortMin: 40000, srcPortMax: 40010 });
      const ports = new Set<number>();
      for (let flow = 0; flow < 24; flow++) {
        const inner = inner4({ sport: 20000 + flow });
        const a = sportOf(runXdp('xv_xdp_endpoint', inner).data);
        const b = sportOf(runXdp('xv_xdp_endpoint', inner).data);
        const c = sportOf(runTc(inner).data);
        expect([b, c]).toEqual([a, a]);
        expect(a).toBeGreaterThanOrEqual(40000);
        expect(a).toBeLessThan(40010);
        ports.add(a);
      }
      expect(ports.size).toBeGreaterThanOrEqual(4);
      // the ports behind 40 bytes of IPv4 options (TC pulls that far only then) hash the same way
      const nops = Buffer.alloc(40, 1);
      const spread = new Set<number>();
      for (let flow = 0; flow < 8; flow++) {
        const inner = inner4({ sport: 30000 + flow, options: nops });
        const a = sportOf(runXdp('xv_xdp_endpoint', inner).data);
        expect(sportOf(runTc(inner).data)).toBe(a);
        spread.add(a);
      }
      expect(spread.size).toBeGreaterThanOrEqual(2);
      env.configureRaw({ srcPortMin: 50000, srcPortMax: 50000 });
      for (let flow = 0; flow < 4; flow++) expect(sportOf(runTc(inner4({ sport: 100 + flow })).data)).toBe(50000);
    });

    it('port 8472', () => {
      env.configureRaw({ udpPort: 8472 });
      const inner = inner4();
      const r = runXdp('xv_xdp_endpoint', inner);
      expect(hex(r.data)).toBe(hex(outer({ inner, sport: sportOf(r.data), id: idOf(r.data), dport: 8472 })));
    });

    it('VNI 0 and 16777215 are written exactly', () => {
      for (const [vni, slot] of [[0, 7], [16777215, 8]] as const) {
        env.vni(vni, { slot, endpoints: [env.ifx.ep3] });
        env.staticRemote(vni, MAC.rem, ADDR.peer4b);
        const inner = inner4({ src: MAC.ep3c });
        const r = env.counting({ [slot]: { txPackets: 1, txBytes: inner.length } }, () => env.xdp('xv_xdp_endpoint', inner, env.ifx.ep3));
        expect(hex(r.data)).toBe(hex(outer({ inner, vni, remote: ADDR.peer4b, dmac: MAC.peerB, sport: sportOf(r.data), id: idOf(r.data) })));
      }
    });
  });

  it('next hop unresolved: XDP hands over to TC, TC sends through bpf_redirect_neigh with MACs left to the kernel', () => {
    env.staticRemote(VNI, '02:aa:bb:cc:99:01', ADDR.unresolved4);
    const inner = inner4({ dst: '02:aa:bb:cc:99:01' });
    const x = env.counting({ [SLOT]: { event: { xdp_to_tc: 1 } } }, () => runXdp('xv_xdp_endpoint', inner));
    expect([x.retval, hex(x.data)]).toEqual([XDP.PASS, hex(inner)]);
    const t = env.counting({ [SLOT]: { txPackets: 1, txBytes: inner.length, event: { neigh_unresolved: 1 } } }, () => runTc(inner));
    expect(t.retval).toBe(TC.REDIRECT);
    expect(hex(t.data)).toBe(hex(outer({ inner, remote: ADDR.unresolved4, dmac: '00:00:00:00:00:00', smac: '00:00:00:00:00:00', sport: sportOf(t.data), id: idOf(t.data) })));
  });

  it('forwarding disabled on the underlay: the same slow path (XDP defers, TC redirect_neigh)', () => {
    env.lab.exec(env.ns, 'sysctl', '-qw', 'net.ipv4.conf.uly0.forwarding=0');
    try {
      const inner = inner4();
      expect(env.counting({ [SLOT]: { event: { xdp_to_tc: 1 } } }, () => runXdp('xv_xdp_endpoint', inner)).retval).toBe(XDP.PASS);
      const t = env.counting({ [SLOT]: { txPackets: 1, txBytes: inner.length, event: { neigh_unresolved: 1 } } }, () => runTc(inner));
      expect(t.retval).toBe(TC.REDIRECT);
    } finally {
      env.lab.exec(env.ns, 'sysctl', '-qw', 'net.ipv4.conf.uly0.forwarding=1');
    }
  });

  it('next-hop cache on: repeated packets give the same bytes', () => {
    env.configureRaw({ nhCacheMs: 0, dfPolicy: 1 });
    const inner = inner4();
    const a = runXdp('xv_xdp_endpoint', inner), b = runXdp('xv_xdp_endpoint', inner), c = runTc(inner);
    const want = hex(outer({ inner, sport: sportOf(a.data), df: true }));
    expect([hex(a.data), hex(b.data), hex(c.data)]).toEqual([want, want, want]);
  });

  it('next-hop cache: a neighbour change reaches cached flows once nhCacheMs has passed, not before', async () => {
    // 300 ms: the `ip neigh replace` between the first two frames (a process
    // in the lab namespace) took over 40 ms on the loaded 2-core machine
    const NH_MS = 300;
    env.configureRaw({ nhCacheMs: NH_MS, dfPolicy: 1 });
    const moved = '02:00:00:00:02:99';
    const inner = inner4();
    const want = (dmac: string, d: Buffer) => hex(outer({ inner, sport: sportOf(d), df: true, dmac }));
    try {
      // one CPU: "still cached" is about this CPU's caches
      await env.onOneCpu(async () => {
        const a = runXdp('xv_xdp_endpoint', inner); // fills the flow entry and its next hop
        expect(hex(a.data)).toBe(want(MAC.peer, a.data));
        env.lab.exec(env.ns, 'ip', 'neigh', 'replace', ADDR.peer4, 'lladdr', moved, 'nud', 'permanent', 'dev', 'uly0');
        const b = runXdp('xv_xdp_endpoint', inner);
        expect(hex(b.data)).toBe(want(MAC.peer, b.data)); // still cached: the bounded staleness nhCacheMs allows
        await new Promise((r) => setTimeout(r, NH_MS + 30)); // + coarse-clock ticks
        const c = runXdp('xv_xdp_endpoint', inner);
        expect(hex(c.data)).toBe(want(moved, c.data));
        const t = runTc(inner); // the TC path shares the next-hop cache
        expect(hex(t.data)).toBe(hex(outer({ inner, sport: sportOf(t.data), df: true, dmac: moved })));
      });
    } finally {
      env.lab.exec(env.ns, 'ip', 'neigh', 'replace', ADDR.peer4, 'lladdr', MAC.peer, 'nud', 'permanent', 'dev', 'uly0');
      env.configureRaw();
      // the next-hop cache may still hold the moved MAC for nhCacheMs: later tests must not see it
      await new Promise((r) => setTimeout(r, NH_MS + 30));
    }
  });

  describe('cached flows (next-hop cache on): headers from the flow entry, per-packet fields patched', () => {
    // Lifetimes long enough that every packet after a flow's first is served
    // from its flow entry on a busy machine too.
    const cached = { nhCacheMs: 60_000, fdbRefreshMs: 60_000 };
    // one flow (same MACs), inner frames that differ in every field the outer headers take per packet
    const frames = (dst: string) => [
      inner4({ dst, proto: Proto.ICMP, size: 20 }),
      inner4({ dst, tos: 0xb9, df: false, size: 1301 }),
      inner4({ dst, tos: 0xbb, proto: Proto.TCP, sport: 4000 }),
      inner4({ dst, tos: 0x2c, df: true, sport: 4001, size: 7 }),
      inner6({ dst, tclass: 0x8b }),
      eth(dst, MAC.ep1c, EtherType.ARP, arp({ op: 2, sha: MAC.ep1c, spa: '198.51.100.1', tha: dst, tpa: '198.51.100.2' })),
    ];
    // inner DSCP/ECN byte and DF as the RFCs define them; undefined DSCP = not IP
    const innerIp = (f: Buffer) => {
      const type = f.readUInt16BE(12);
      if (type === EtherType.IPV4) return { dsf: f[15]!, df: (f.readUInt16BE(20) & 0x4000) !== 0 };
      if (type === EtherType.IPV6) return { dsf: (f.readUInt16BE(14) >> 4) & 0xff, df: true };
      return { dsf: undefined, df: false };
    };
    const rfc6040 = (dsf: number) => ((dsf & 3) === 3 ? (dsf & ~3) | 2 : dsf);

    const cases = [
      { name: 'defaults (DF unset)', cfg: {} },
      { name: 'TTL, fixed TOS, DF set', cfg: { ttl: 33, tos: 0x28, dfPolicy: 1 } },
      { name: 'TOS inherit, DF inherit', cfg: { tos: 0x10, tosInherit: 1, dfPolicy: 2 } },
      { name: 'port 8472, source port range', cfg: { udpPort: 8472, srcPortMin: 40000, srcPortMax: 40010 } },
      { name: 'IPv6 zero UDP checksum', cfg: { udp6ZeroCsum: 1, tosInherit: 1 } },
    ];
    for (const { name, cfg } of cases) {
      it(name, () => {
        env.configureRaw({ ...cached, ...cfg });
        const c = { ttl: 64, tos: 0, tosInherit: 0, dfPolicy: 0, udpPort: 4789, udp6ZeroCsum: 0, ...cfg };
        for (const [dst, remote] of [[MAC.rem, ADDR.peer4], [MAC.rem2, ADDR.peer6]] as const) {
          const v6 = remote === ADDR.peer6;
          for (const inner of frames(dst)) {
            const ip = innerIp(inner);
            // DSCP fixed or inherited; ECN always the inner one (CE as ECT(0)), Not-ECT for non-IP
            const tos = ((c.tosInherit && ip.dsf !== undefined ? ip.dsf : c.tos) & ~3) | (ip.dsf === undefined ? 0 : rfc6040(ip.dsf) & 3);
            const df = !v6 && (c.dfPolicy === 1 || (c.dfPolicy === 2 && ip.df));
            const tcSport = sportOf(runTc(inner).data, v6);
            // twice per program: the flow's first packet fills the entry, later ones come from it
            for (const prog of [...XDP_PROGS, ...XDP_PROGS]) {
              const r = env.counting(tx(inner), () => runXdp(prog, inner));
              expect(r.retval).toBe(XDP.REDIRECT);
              const o = r.data;
              expect(sportOf(o, v6)).toBe(tcSport);
              if (!v6) expect(checksum(o.subarray(14, 34))).toBe(0);
              expect(hex(o)).toBe(hex(outer({
                inner, remote, sport: tcSport, ttl: c.ttl, tos, df, id: v6 || df ? 0 : idOf(o), dport: c.udpPort,
                csum6: v6 && !c.udp6ZeroCsum,
              })));
            }
          }
        }
      });
    }

    // The tcx program keeps its flows in the same entries (tc_tx_fast): on one
    // CPU, a flow's first packet takes the general path and fills its entry,
    // the later ones are written from it. The same RFC bytes either way.
    for (const { name, cfg } of cases) {
      it(`TC: ${name}`, async () => {
        env.configureRaw({ ...cached, ...cfg });
        const c = { ttl: 64, tos: 0, tosInherit: 0, dfPolicy: 0, udpPort: 4789, udp6ZeroCsum: 0, ...cfg };
        await env.onOneCpu(async () => {
          for (const [dst, remote] of [[MAC.rem, ADDR.peer4], [MAC.rem2, ADDR.peer6]] as const) {
            const v6 = remote === ADDR.peer6;
            for (const inner of frames(dst)) {
              const ip = innerIp(inner);
              const tos = ((c.tosInherit && ip.dsf !== undefined ? ip.dsf : c.tos) & ~3) | (ip.dsf === undefined ? 0 : rfc6040(ip.dsf) & 3);
              const df = !v6 && (c.dfPolicy === 1 || (c.dfPolicy === 2 && ip.df));
              const outs = [0, 1, 2].map(() => env.counting(tx(inner), () => runTc(inner)));
              const sport = sportOf(outs[0]!.data, v6);
              const ids = new Set<number>();
              for (const r of outs) {
                expect(r.retval).toBe(TC.REDIRECT);
                const o = r.data;
                if (!v6) expect(checksum(o.subarray(14, 34))).toBe(0);
                if (!v6 && !df) ids.add(idOf(o));
                expect(hex(o)).toBe(hex(outer({
                  inner, remote, sport, ttl: c.ttl, tos, df, id: v6 || df ? 0 : idOf(o), dport: c.udpPort,
                  csum6: v6 && !c.udp6ZeroCsum,
                })));
              }
              // DF clear: each packet its own ID, from the entry too
              if (!v6 && !df) expect(ids.size).toBe(3);
            }
          }
        });
      });
    }

    it('TC: a flow entry serves later packets until the generation moves (an FDB change the control plane announces)', async () => {
      env.configureRaw(cached);
      const inner = inner4();
      await env.onOneCpu(async () => {
        const a = runTc(inner); // fills the entry
        expect(hex(a.data)).toBe(hex(outer({ inner, sport: sportOf(a.data), id: idOf(a.data) })));
        // the entry is rewritten without a generation bump: the flow entry still has the old decision
        env.dp.fdb.set({ vni: VNI, mac: MAC.rem, dest: { kind: 'remote', remote: ADDR.peer6 }, static: true, updatedNs: 0 });
        const b = runTc(inner);
        expect(hex(b.data)).toBe(hex(outer({ inner, sport: sportOf(b.data), id: idOf(b.data) })));
        env.dp.bumpGeneration();
        const c = runTc(inner);
        expect(hex(c.data)).toBe(hex(outer({ inner, remote: ADDR.peer6, sport: sportOf(c.data, true), csum6: true })));
      });
    });

    it('TC: a sender served from its flow entry stays learned: the entry lapses every fdbRefreshMs and the general path refreshes the FDB age', async () => {
      env.configureRaw({ nhCacheMs: 60_000, fdbRefreshMs: 50 });
      env.vni(VNI, { learning: true, endpoints: [env.ifx.ep1, env.ifx.ep2], peers: [ADDR.peer4, ADDR.peer6] });
      const src = '02:00:00:00:c1:78';
      const inner = inner4({ src });
      await env.onOneCpu(async () => {
        expect(runTc(inner).retval).toBe(TC.REDIRECT);
        const first = Number(env.dp.fdb.get(VNI, src)!.updatedNs);
        const t0 = Date.now();
        while (Date.now() - t0 < 400) {
          expect(runTc(inner).retval).toBe(TC.REDIRECT);
          await new Promise((r) => setTimeout(r, 5));
        }
        // refreshed within ~2 refresh periods of the end, not frozen at the first frame
        expect(Number(env.dp.fdb.get(VNI, src)!.updatedNs) - first).toBeGreaterThan(200e6);
      });
    });

    it('DF clear: every packet of a cached flow takes the next IPv4 ID', () => {
      env.configureRaw(cached);
      const inner = inner4({ proto: Proto.ICMP });
      const ids = Array.from({ length: 6 }, () => idOf(runXdp('xv_xdp_endpoint', inner).data));
      expect(new Set(ids).size).toBe(ids.length);
    });
  });

  describe('local switching (no encap)', () => {
    it('endpoint -> endpoint: redirected unchanged, counted as local_fwd (XDP and TC)', () => {
      const f = eth(MAC.ep2c, MAC.ep1c, EtherType.IPV4, ipv4({ src: '198.51.100.1', dst: '198.51.100.3', proto: Proto.ICMP, payload: icmpEcho(1, 2, fill(56)) }));
      for (const prog of XDP_PROGS) {
        const r = env.counting({ [SLOT]: { event: { local_fwd: 1 } } }, () => runXdp(prog, f));
        expect([r.retval, hex(r.data)]).toEqual([XDP.REDIRECT, hex(f)]);
      }
      const t = env.counting({ [SLOT]: { event: { local_fwd: 1 } } }, () => runTc(f));
      expect([t.retval, hex(t.data)]).toEqual([TC.REDIRECT, hex(f)]);
    });

    it('a local endpoint that is not in xv_devs: XDP passes it to TC, which redirects', () => {
      env.lab.in(env.ns, () => env.dp.devs.delete(env.ifx.ep2));
      env.dp.bumpGeneration();
      const f = eth(MAC.ep2c, MAC.ep1c, EtherType.IPV4, ipv4({ src: '198.51.100.1', dst: '198.51.100.3', proto: Proto.ICMP, payload: icmpEcho(1, 3, fill(8)) }));
      const x = env.counting({ [SLOT]: { event: { local_fwd: 1 } } }, () => runXdp('xv_xdp_endpoint', f));
      expect([x.retval, hex(x.data)]).toEqual([XDP.PASS, hex(f)]);
      const t = env.counting({ [SLOT]: { event: { local_fwd: 1 } } }, () => runTc(f));
      expect([t.retval, hex(t.data)]).toEqual([TC.REDIRECT, hex(f)]);
    });
  });

  it('learning from endpoints: new local entry, then a move to another endpoint', () => {
    env.vni(VNI, { learning: true, endpoints: [env.ifx.ep1, env.ifx.ep2], peers: [ADDR.peer4] });
    const src = '02:00:00:00:c1:77';
    const inner = inner4({ src });
    env.counting({ [SLOT]: { txPackets: 1, txBytes: inner.length, event: { learn_new: 1 } } }, () => runXdp('xv_xdp_endpoint', inner));
    expect(env.dp.fdb.get(VNI, src)).toMatchObject({ dest: { kind: 'local', ifindex: env.ifx.ep1 }, static: false });
    env.counting({ [SLOT]: { txPackets: 1, txBytes: inner.length } }, () => runTc(inner));
    env.counting({ [SLOT]: { txPackets: 1, txBytes: inner.length, event: { learn_move: 1 } } }, () => env.tc('xv_tc_endpoint', inner, env.ifx.ep2));
    expect(env.dp.fdb.get(VNI, src)!.dest).toEqual({ kind: 'local', ifindex: env.ifx.ep2 });
  });
});
