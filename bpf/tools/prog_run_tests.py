#!/usr/bin/python3
# xvtep data path tests through BPF_PROG_TEST_RUN (bpftool prog run).
# Dev-only harness (root): needs the netns prepared by testns.sh and the
# object loaded with
#   bpftool prog loadall xvtep.bpf.o $XV_PIN/progs pinmaps $XV_PIN/maps
# Usage: XV_PIN=/run/dp-bpffs prog_run_tests.py [perf]
import struct, subprocess, socket, sys, os, re, ipaddress
from scapy.all import Ether, IP, IPv6, UDP, TCP, ICMP, ARP, Raw, Dot1Q, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, ICMPv6EchoRequest, ICMPv6ND_NA
from scapy.layers.vxlan import VXLAN
from scapy.all import bind_layers

B = os.environ.get('XV_PIN', '/run/dp-bpffs')
NS = ['ip', 'netns', 'exec', 'xvt']
FAILS = []

def sh(cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode:
        raise RuntimeError(' '.join(cmd) + '\n' + r.stdout + r.stderr)
    return r.stdout + r.stderr

def ifindex(name):
    return int(sh(NS + ['cat', f'/sys/class/net/{name}/ifindex']).strip())

def hx(b):
    return [f'0x{x:02x}' for x in b]

def mupd(m, k, v):
    sh(NS + ['bpftool', 'map', 'update', 'pinned', f'{B}/maps/{m}', 'key', 'hex'] + [f'{x:02x}' for x in k] + ['value', 'hex'] + [f'{x:02x}' for x in v])
    if m != 'xv_gen': bump()

GEN = [1]
def bump():
    GEN[0] += 1
    sh(['bpftool', 'map', 'update', 'pinned', f'{B}/maps/xv_gen', 'key', '0', '0', '0', '0', 'value'] + [str(x) for x in struct.pack('<Q', GEN[0])])

def mdel(m, k):
    sh(['bpftool', 'map', 'delete', 'pinned', f'{B}/maps/{m}', 'key', 'hex'] + [f'{x:02x}' for x in k], check=False)
    bump()

def mget(m, k):
    out = sh(['bpftool', '-j', 'map', 'lookup', 'pinned', f'{B}/maps/{m}', 'key', 'hex'] + [f'{x:02x}' for x in k], check=False)
    return out

def ip16(a):
    ip = ipaddress.ip_address(a)
    return ip.packed + b'\0' * (16 - len(ip.packed))

def u32(x): return struct.pack('<I', x)

ULY = ifindex('uly0'); EP1 = ifindex('ep1'); EP2 = ifindex('ep2')
MAC_EP1C = bytes.fromhex('02000000c101')
MAC_EP2C = bytes.fromhex('02000000c201')
MAC_REM = bytes.fromhex('02aabbccdd01')
VNI = 1024
SLOT = 5

def config(udp_port=4789, mtu=1500, ttl=0, tos=0, tos_inherit=0, df=0, z6=0, v4='192.0.2.1', v6='2001:db8::1', smin=0, smax=0, ver=1, csum_ok=1, nhc=0):
    v = struct.pack('<II', ver, ULY) + struct.pack('>H', udp_port) + struct.pack('<HHH', mtu, smin, smax)
    v += bytes([ttl, tos, tos_inherit, df, z6, csum_ok, 0, 0])
    v += (ipaddress.ip_address(v4).packed if v4 else b'\0' * 4) + struct.pack('<I', 0)
    v += (ipaddress.ip_address(v6).packed if v6 else b'\0' * 16) + struct.pack('<I', nhc) + b'\0' * 12
    assert len(v) == 64
    mupd('xv_config', u32(0), v)

def fdb_key(vni, mac): return u32(vni) + mac + b'\0\0'
def fdb_local(ifx, static=True):
    return b'\0' * 16 + u32(ifx) + bytes([0, (1 if static else 0) | 2]) + b'\0\0' + b'\0' * 8
def fdb_remote(addr, static=True):
    fam = 4 if ':' not in addr else 6
    return ip16(addr) + u32(0) + bytes([fam, 1 if static else 0]) + b'\0\0' + b'\0' * 8
def addr_key(vni, addr):
    fam = 4 if ':' not in addr else 6
    return u32(vni) + u32(fam) + ip16(addr)

def stats(slot):
    import json
    out = sh(['bpftool', '-j', 'map', 'lookup', 'pinned', f'{B}/maps/xv_stats', 'key'] + [str(x) for x in u32(slot)])
    j = json.loads(out)
    vals = j.get('values') or j.get('value')
    tot = [0] * 36
    for cpu in vals:
        v = cpu['value']
        if isinstance(v, list):
            b = bytes(int(x, 16) for x in v)
        else:
            b = bytes(int(x, 16) for x in v)
        for i in range(36):
            tot[i] += struct.unpack_from('<Q', b, i * 8)[0]
    return {'rx_p': tot[0], 'rx_b': tot[1], 'tx_p': tot[2], 'tx_b': tot[3], 'drop': tot[4:20], 'ev': tot[20:36]}

def run(prog, pkt, repeat=1, ctx=None):
    fin = '/tmp/xv-in.bin'; fout = '/tmp/xv-out.bin'
    open(fin, 'wb').write(bytes(pkt))
    if os.path.exists(fout): os.unlink(fout)
    cmd = NS + ['taskset', '-c', '0', 'bpftool', 'prog', 'run', 'pinned', f'{B}/progs/{prog}' if not prog.startswith('/') else prog, 'data_in', fin, 'data_out', fout]
    if ctx is not None:
        if len(ctx) == 24:  # xdp_md: data_end = linear length
            ctx = ctx[:4] + struct.pack('<I', len(bytes(pkt))) + ctx[8:]
        open('/tmp/xv-ctx.bin', 'wb').write(ctx)
        cmd += ['ctx_in', '/tmp/xv-ctx.bin']
    cmd += ['repeat', str(repeat)]
    out = sh(cmd)
    rv = int(re.search(r'Return value: (\d+)', out).group(1))
    dur = int(re.search(r'duration[^:]*: (\d+)', out).group(1))
    data = open(fout, 'rb').read() if os.path.exists(fout) else b''
    return rv, data, dur

def xdp_ctx(ifx):
    # struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex
    return struct.pack('<IIIIII', 0, 0, 0, ifx, 0, 0)

def skb_ctx(ifx, gso_size=0, gso_segs=0):
    # struct __sk_buff is 192 bytes; ifindex at offset 40? use offsetof via known layout
    b = bytearray(192)
    struct.pack_into('<I', b, 40, ifx)        # ifindex
    return bytes(b)

def check(name, cond, extra=''):
    print(('PASS ' if cond else 'FAIL ') + name + (' ' + extra if extra else ''))
    if not cond: FAILS.append(name)

XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT = 1, 2, 3, 4

def mac(b): return ':'.join(f'{x:02x}' for x in b)

def set_vni(flags):
    mupd('xv_vni', u32(VNI), u32(SLOT) + u32(flags) + b'\0' * 8)
    for ep in (EP1, EP2):
        mupd('xv_ep', u32(ep), u32(VNI) + u32(SLOT) + u32(flags) + u32(0))
    for p in ('192.0.2.2', '2001:db8::2'):
        mupd('xv_peer', addr_key(VNI, p), u32(SLOT) + u32(flags))

def setup():
    if os.path.exists(f'{B}/bc1024'): os.unlink(f'{B}/bc1024')
    mdel('xv_bcast', u32(VNI))
    config()
    set_vni(0)
    mupd('xv_devs', u32(EP1), u32(EP1))
    mupd('xv_devs', u32(EP2), u32(EP2))
    mupd('xv_fdb', fdb_key(VNI, MAC_EP2C), fdb_local(EP2))
    mupd('xv_fdb', fdb_key(VNI, MAC_EP1C), fdb_local(EP1))
    mupd('xv_fdb', fdb_key(VNI, MAC_REM), fdb_remote('192.0.2.2'))
    # BUM list: 2 local eps, one v4 peer
    bum = u32(1) + u32(0) + u32(2) + u32(0)
    r4 = ipaddress.ip_address('192.0.2.2').packed + b'\0' * 124
    r6 = b'\0' * 256
    loc = u32(EP1) + u32(EP2) + b'\0' * 248
    mupd('xv_bum', u32(VNI), bum + r4 + r6 + loc)

def inner(dst=MAC_EP2C, src=MAC_REM, size=64, df=True):
    return Ether(dst=mac(dst), src=mac(src)) / IP(src='198.51.100.2', dst='198.51.100.1', flags='DF' if df else 0) / UDP(sport=1234, dport=5678) / Raw(b'x' * size)

def vx4(inn, vni=VNI, src='192.0.2.2', dst='192.0.2.1', dport=4789, opts=None):
    ip = IP(src=src, dst=dst, options=opts) if opts else IP(src=src, dst=dst)
    return Ether(dst='02:00:00:00:01:01', src='02:00:00:00:02:02') / ip / UDP(sport=50000, dport=dport) / VXLAN(vni=vni, flags=0x08) / inn

def vx6(inn, vni=VNI, src='2001:db8::2', dst='2001:db8::1'):
    return Ether(dst='02:00:00:00:01:01', src='02:00:00:00:02:02') / IPv6(src=src, dst=dst) / UDP(sport=50000, dport=4789) / VXLAN(vni=vni, flags=0x08) / inn

def main():
    setup()
    s0 = stats(SLOT); g0 = stats(0)
    # --- underlay XDP ---
    inn = inner()
    p = vx4(inn)
    rv, out, _ = run('xv_xdp_underlay', p)
    check('rx4 unicast redirect', rv == XDP_REDIRECT and out == bytes(inn) and len(bytes(p)) - len(out) == 50, f'rv={rv} strip={len(bytes(p))-len(out)}')
    p = vx6(inn)
    rv, out, _ = run('xv_xdp_underlay', p)
    check('rx6 unicast redirect', rv == XDP_REDIRECT and out == bytes(inn) and len(bytes(p)) - len(out) == 70, f'rv={rv} strip={len(bytes(p))-len(out)}')
    p = Ether(bytes(vx4(inn)))
    q = Ether(dst='02:00:00:00:01:01', src='02:00:00:00:02:02') / Dot1Q(vlan=10) / p[IP]
    rv, out, _ = run('xv_xdp_underlay', q)
    check('rx4 vlan', rv == XDP_REDIRECT and out == bytes(inn), f'rv={rv}')
    p = vx4(inn, opts=[b'\x01\x01\x01\x00'])
    rv, out, _ = run('xv_xdp_underlay', p)
    check('rx4 ip options', rv == XDP_REDIRECT and out == bytes(inn), f'rv={rv} ihl={IP(bytes(p)[14:]).ihl}')
    rv, out, _ = run('xv_xdp_underlay', vx4(inn, vni=999))
    check('rx unknown vni drop', rv == XDP_DROP)
    rv, out, _ = run('xv_xdp_underlay', vx4(inn, src='192.0.2.99'))
    check('rx unknown peer drop', rv == XDP_DROP)
    rv, out, _ = run('xv_xdp_underlay', vx4(inn, dport=4790))
    check('rx other udp port pass', rv == XDP_PASS and out == bytes(vx4(inn, dport=4790)))
    rv, out, _ = run('xv_xdp_underlay', Ether() / IP(src='192.0.2.2', dst='192.0.2.1') / TCP(dport=4789))
    check('rx tcp pass', rv == XDP_PASS)
    rv, out, _ = run('xv_xdp_underlay', Ether(dst='ff:ff:ff:ff:ff:ff') / ARP(pdst='192.0.2.1'))
    check('rx arp pass', rv == XDP_PASS)
    fr = Ether() / IP(src='192.0.2.2', dst='192.0.2.1', flags='MF', proto=17) / Raw(bytes(UDP(dport=4789)) + b'y' * 40)
    rv, out, _ = run('xv_xdp_underlay', fr)
    check('rx fragment pass', rv == XDP_PASS)
    bad = Ether(bytes(vx4(inn))); bad[VXLAN].flags = 0
    rv, out, _ = run('xv_xdp_underlay', bad)
    check('rx no I flag drop', rv == XDP_DROP)
    # hairpin: inner dst is remote
    rv, out, _ = run('xv_xdp_underlay', vx4(inner(dst=MAC_REM, src=bytes.fromhex('02aabbccdd09'))))
    check('rx hairpin drop', rv == XDP_DROP)
    # learning: new src mac learned
    newmac = bytes.fromhex('02aabbccdd02')
    run('xv_xdp_underlay', vx4(inner(src=newmac)))
    check('rx learn', mget('xv_fdb', fdb_key(VNI, newmac)).find('0xc0') >= 0, mget('xv_fdb', fdb_key(VNI, newmac))[:200].replace('\n', ' '))
    # BUM without bcast map -> drop no_endpoint
    rv, out, _ = run('xv_xdp_underlay', vx4(inner(dst=b'\xff' * 6)))
    check('rx bum no bcast map drop', rv == XDP_DROP)
    sh(['bpftool', 'map', 'create', f'{B}/bc1024', 'type', 'devmap_hash', 'key', '4', 'value', '4', 'entries', '256', 'name', 'xv_bc_1024'])
    sh(NS + ['bpftool', 'map', 'update', 'pinned', f'{B}/bc1024', 'key'] + [str(x) for x in u32(EP1)] + ['value'] + [str(x) for x in u32(EP1)])
    sh(['bpftool', 'map', 'update', 'pinned', f'{B}/maps/xv_bcast', 'key'] + [str(x) for x in u32(VNI)] + ['value', 'pinned', f'{B}/bc1024'])
    rv, out, _ = run('xv_xdp_underlay', vx4(inner(dst=b'\xff' * 6)))
    check('rx bum broadcast redirect', rv == XDP_REDIRECT and out == bytes(inner(dst=b'\xff' * 6)), f'rv={rv}')
    # flow cache: stale until xv_gen changes
    run('xv_xdp_underlay', vx4(inn))
    sh(NS + ['bpftool', 'map', 'update', 'pinned', f'{B}/maps/xv_fdb', 'key', 'hex'] + [f'{x:02x}' for x in fdb_key(VNI, MAC_EP2C)] + ['value', 'hex'] + [f'{x:02x}' for x in fdb_remote('192.0.2.2')])
    rv1, _, _ = run('xv_xdp_underlay', vx4(inn))
    bump()
    rv2, _, _ = run('xv_xdp_underlay', vx4(inn))
    mupd('xv_fdb', fdb_key(VNI, MAC_EP2C), fdb_local(EP2))
    rv3, _, _ = run('xv_xdp_underlay', vx4(inn))
    check('flow cache honours xv_gen', rv1 == XDP_REDIRECT and rv2 == XDP_DROP and rv3 == XDP_REDIRECT, f'{rv1} {rv2} {rv3}')
    # 8472 port
    config(udp_port=8472)
    rv, out, _ = run('xv_xdp_underlay', vx4(inn, dport=8472))
    check('rx port 8472', rv == XDP_REDIRECT and out == bytes(inn))
    config()
    # TC underlay
    rv, out, _ = run('xv_tc_underlay', vx4(inn), ctx=skb_ctx(ULY))
    check('tc rx4 unicast decap', rv == 7 and out == bytes(inn), f'rv={rv} len={len(out)}')
    rv, out, _ = run('xv_tc_underlay', vx6(inn), ctx=skb_ctx(ULY))
    check('tc rx6 unicast decap', rv == 7 and out == bytes(inn), f'rv={rv} len={len(out)}')
    s1 = stats(SLOT); g1 = stats(0)
    check('rx counters', s1['rx_p'] - s0['rx_p'] >= 8 and g1['drop'][0] > g0['drop'][0] and s1['drop'][1] > s0['drop'][1] and s1['drop'][7] > s0['drop'][7],
          f"rx_p+={s1['rx_p']-s0['rx_p']} rx_b+={s1['rx_b']-s0['rx_b']} unknown_vni(g)+={g1['drop'][0]-g0['drop'][0]} unknown_peer+={s1['drop'][1]-s0['drop'][1]} hairpin+={s1['drop'][7]-s0['drop'][7]} malformed(g)+={g1['drop'][2]-g0['drop'][2]} learn_new+={s1['ev'][2]-s0['ev'][2]}")

    # --- endpoint XDP ---
    e = Ether(dst=mac(MAC_REM), src=mac(MAC_EP1C)) / IP(src='198.51.100.1', dst='198.51.100.2', flags='DF', tos=0xb9) / UDP(sport=1111, dport=2222) / Raw(b'z' * 100)
    for prog in ('xv_xdp_endpoint', 'xv_xdp_ep_frags'):
        rv, out, _ = run(prog, e, ctx=xdp_ctx(EP1))
        o = Ether(out)
        ok = rv == XDP_REDIRECT and o.haslayer(VXLAN) and o[VXLAN].vni == VNI and o[IP].dst == '192.0.2.2' and o[IP].src == '192.0.2.1' and o[UDP].dport == 4789 and bytes(o[VXLAN].payload) == bytes(e)
        chk = IP(bytes(o[IP])); ipck = chk.chksum; del chk.chksum; ipok = IP(bytes(chk)).chksum == ipck
        check(f'{prog} encap4', ok and ipok and len(out) - len(bytes(e)) == 50 and o[UDP].chksum == 0 and o.dst == '02:00:00:00:02:02' and o.src == '02:00:00:00:01:01',
              f'rv={rv} sport={o[UDP].sport if o.haslayer(UDP) else None} ttl={o[IP].ttl if o.haslayer(IP) else None} tos={o[IP].tos if o.haslayer(IP) else None} df={o[IP].flags if o.haslayer(IP) else None} ipck_ok={ipok}')
    # v6 peer with checksum
    mupd('xv_fdb', fdb_key(VNI, MAC_REM), fdb_remote('2001:db8::2'))
    rv, out, _ = run('xv_xdp_endpoint', e, ctx=xdp_ctx(EP1))
    o = Ether(out); ck = o[UDP].chksum; o2 = Ether(out); del o2[UDP].chksum
    good = Ether(bytes(o2))[UDP].chksum
    check('xdp encap6 + udp csum', rv == XDP_REDIRECT and o[IPv6].dst == '2001:db8::2' and len(out) - len(bytes(e)) == 70 and ck == good and bytes(o[VXLAN].payload) == bytes(e), f'rv={rv} ck={ck:#x} want={good:#x}')
    big6 = Ether(dst=mac(MAC_REM), src=mac(MAC_EP1C)) / IP(src='198.51.100.1', dst='198.51.100.2') / UDP() / Raw(b'q' * 1301)
    rv, out, _ = run('xv_xdp_endpoint', big6, ctx=xdp_ctx(EP1))
    o = Ether(out); ck = o[UDP].chksum; o2 = Ether(out); del o2[UDP].chksum
    check('xdp encap6 odd-length 1.3k csum', rv == XDP_REDIRECT and ck == Ether(bytes(o2))[UDP].chksum, f'len={len(out)}')
    rv, out, _ = run('xv_tc_endpoint', e, ctx=skb_ctx(EP1))
    o = Ether(out); ck = o[UDP].chksum if o.haslayer(UDP) else -1; o2 = Ether(out); del o2[UDP].chksum
    check('tc encap6 + udp csum', rv == 7 and ck == Ether(bytes(o2))[UDP].chksum and bytes(o[VXLAN].payload) == bytes(e), f'rv={rv}')
    config(csum_ok=0)
    rv, out, _ = run('xv_tc_endpoint', e, ctx=skb_ctx(EP1))
    ic = Ether(dst=mac(MAC_REM), src=mac(MAC_EP1C)) / IP(src='198.51.100.1', dst='198.51.100.2') / ICMP() / Raw(b'p' * 57)
    rv2, out2, _ = run('xv_tc_endpoint', ic, ctx=skb_ctx(EP1))
    o2 = Ether(out2); ck2 = o2[UDP].chksum; o3 = Ether(out2); del o3[UDP].chksum
    check('v6 csum policy: udp inner -> 0, icmp inner -> computed', rv == 7 and Ether(out)[UDP].chksum == 0 and rv2 == 7 and ck2 == Ether(bytes(o3))[UDP].chksum and ck2 != 0, f'{Ether(out)[UDP].chksum:#x} {ck2:#x}')
    config()
    mupd('xv_fdb', fdb_key(VNI, MAC_REM), fdb_remote('192.0.2.2'))
    # TC endpoint encap v4
    rv, out, _ = run('xv_tc_endpoint', e, ctx=skb_ctx(EP1))
    o = Ether(out)
    check('tc encap4', rv == 7 and o.haslayer(VXLAN) and o[VXLAN].vni == VNI and bytes(o[VXLAN].payload) == bytes(e) and len(out) - len(bytes(e)) == 50 and o.dst == '02:00:00:00:02:02', f'rv={rv} len={len(out)}')
    # tos inherit, ttl, df set, src port range
    config(ttl=33, tos_inherit=1, df=1, smin=40000, smax=40010)
    rv, out, _ = run('xv_xdp_endpoint', e, ctx=xdp_ctx(EP1))
    o = Ether(out)
    check('encap options', o[IP].ttl == 33 and o[IP].tos == 0xb9 and o[IP].flags == 'DF' and 40000 <= o[UDP].sport < 40010, f'ttl={o[IP].ttl} tos={o[IP].tos:#x} flags={o[IP].flags} sport={o[UDP].sport}')
    # same flow hash in TC and XDP
    rv2, out2, _ = run('xv_tc_endpoint', e, ctx=skb_ctx(EP1))
    check('same sport xdp/tc', Ether(out2)[UDP].sport == o[UDP].sport, f'{Ether(out2)[UDP].sport} vs {o[UDP].sport}')
    config()
    # local forward
    l = Ether(dst=mac(MAC_EP2C), src=mac(MAC_EP1C)) / IP() / ICMP()
    rv, out, _ = run('xv_xdp_endpoint', l, ctx=xdp_ctx(EP1))
    check('xdp local fwd', rv == XDP_REDIRECT and out == bytes(l))
    rv, out, _ = run('xv_tc_endpoint', l, ctx=skb_ctx(EP1))
    check('tc local fwd', rv == 7 and out == bytes(l))
    # BUM from endpoint: XDP passes, TC floods
    bc = Ether(dst='ff:ff:ff:ff:ff:ff', src=mac(MAC_EP1C)) / ARP(psrc='198.51.100.1', pdst='198.51.100.77', hwsrc=mac(MAC_EP1C))
    rv, out, _ = run('xv_xdp_endpoint', bc, ctx=xdp_ctx(EP1))
    check('xdp bum -> pass', rv == XDP_PASS)
    s2 = stats(SLOT)
    rv, out, _ = run('xv_tc_endpoint', bc, ctx=skb_ctx(EP1))
    s3 = stats(SLOT)
    check('tc flood', rv == 2 and s3['ev'][8] == s2['ev'][8] + 1 and s3['tx_p'] == s2['tx_p'] + 1, f"rv={rv} flood+={s3['ev'][8]-s2['ev'][8]} tx+={s3['tx_p']-s2['tx_p']} drops={[a-b for a,b in zip(s3['drop'],s2['drop'])]}")
    # proxy ARP
    set_vni(4 | 8)
    mupd('xv_neigh', addr_key(VNI, '198.51.100.77'), bytes.fromhex('02aabbccdd77') + b'\0\0')
    mupd('xv_neigh', addr_key(VNI, '2001:db8:100::77'), bytes.fromhex('02aabbccdd77') + b'\0\0')
    for prog, want, ctxf in (('xv_xdp_endpoint', XDP_TX, xdp_ctx), ('xv_tc_endpoint', 7, skb_ctx)):
        rv, out, _ = run(prog, bc, ctx=ctxf(EP1))
        a = Ether(out)
        check(f'{prog} proxy arp', rv == want and a[ARP].op == 2 and a[ARP].hwsrc == '02:aa:bb:cc:dd:77' and a[ARP].psrc == '198.51.100.77' and a[ARP].pdst == '198.51.100.1' and a[ARP].hwdst == mac(MAC_EP1C) and a.dst == mac(MAC_EP1C) and a.src == '02:aa:bb:cc:dd:77', f'rv={rv}')
    ns = Ether(dst='33:33:ff:00:00:77', src=mac(MAC_EP1C)) / IPv6(src='2001:db8:100::1', dst='ff02::1:ff00:77', hlim=255) / ICMPv6ND_NS(tgt='2001:db8:100::77') / ICMPv6NDOptSrcLLAddr(lladdr=mac(MAC_EP1C))
    rv, out, _ = run('xv_xdp_endpoint', ns, ctx=xdp_ctx(EP1))
    a = Ether(out); ck = a[ICMPv6ND_NA].cksum if a.haslayer(ICMPv6ND_NA) else -1
    a2 = Ether(out); 
    if a2.haslayer(ICMPv6ND_NA): del a2[ICMPv6ND_NA].cksum
    good = Ether(bytes(a2))[ICMPv6ND_NA].cksum if a2.haslayer(ICMPv6ND_NA) else -2
    check('proxy nd', rv == XDP_TX and a.haslayer(ICMPv6ND_NA) and a[ICMPv6ND_NA].tgt == '2001:db8:100::77' and a[ICMPv6ND_NA].S == 1 and a[IPv6].src == '2001:db8:100::77' and a[IPv6].dst == '2001:db8:100::1' and ck == good and a.src == '02:aa:bb:cc:dd:77', f'rv={rv} ck={ck:#x} want={good:#x} {a.summary()}')
    rv, out, _ = run('xv_tc_endpoint', ns, ctx=skb_ctx(EP1))
    a = Ether(out); a2 = Ether(out)
    if a2.haslayer(ICMPv6ND_NA): del a2[ICMPv6ND_NA].cksum
    check('tc proxy nd', rv == 7 and a.haslayer(ICMPv6ND_NA) and a[ICMPv6ND_NA].cksum == Ether(bytes(a2))[ICMPv6ND_NA].cksum, f'rv={rv}')
    set_vni(0)
    # MTU: too big with DF -> ICMP frag needed
    config(mtu=1400)
    big = Ether(dst=mac(MAC_REM), src=mac(MAC_EP1C)) / IP(src='198.51.100.1', dst='198.51.100.2', flags='DF') / UDP(sport=1, dport=2) / Raw(b'b' * 1400)
    for prog, want, ctxf in (('xv_xdp_endpoint', XDP_TX, xdp_ctx), ('xv_tc_endpoint', 7, skb_ctx)):
        rv, out, _ = run(prog, big, ctx=ctxf(EP1))
        a = Ether(out)
        ok = rv == want and a.haslayer(ICMP) and a[ICMP].type == 3 and a[ICMP].code == 4 and a[ICMP].nexthopmtu == 1350 and a[IP].dst == '198.51.100.1' and a.dst == mac(MAC_EP1C)
        c1 = a[ICMP].chksum if a.haslayer(ICMP) else -1; a2 = Ether(out); del a2[ICMP].chksum; del a2[IP].chksum; a3 = Ether(bytes(a2))
        check(f'{prog} icmp frag-needed', ok and c1 == a3[ICMP].chksum and a[IP].chksum == a3[IP].chksum, f'rv={rv} {a.summary()} len={len(out)}')
    nodf = Ether(bytes(big)); nodf[IP].flags = 0; del nodf[IP].chksum
    rv, out, _ = run('xv_xdp_endpoint', nodf, ctx=xdp_ctx(EP1))
    check('too big no DF -> drop', rv == XDP_DROP)
    big6 = Ether(dst=mac(MAC_REM), src=mac(MAC_EP1C)) / IPv6(src='2001:db8:100::1', dst='2001:db8:100::2') / UDP(sport=1, dport=2) / Raw(b'b' * 1400)
    rv, out, _ = run('xv_xdp_endpoint', big6, ctx=xdp_ctx(EP1))
    a = Ether(out)
    from scapy.layers.inet6 import ICMPv6PacketTooBig
    ok = rv == XDP_TX and a.haslayer(ICMPv6PacketTooBig) and a[ICMPv6PacketTooBig].mtu == 1350
    c1 = a[ICMPv6PacketTooBig].cksum if ok else -1; a2 = Ether(out)
    if ok: del a2[ICMPv6PacketTooBig].cksum
    check('icmpv6 packet too big', ok and c1 == Ether(bytes(a2))[ICMPv6PacketTooBig].cksum, f'rv={rv} {a.summary()}')
    rv, out, _ = run('xv_tc_endpoint', big6, ctx=skb_ctx(EP1))
    a = Ether(out); ok = rv == 7 and a.haslayer(ICMPv6PacketTooBig) and a[ICMPv6PacketTooBig].mtu == 1350
    c1 = a[ICMPv6PacketTooBig].cksum if ok else -1; a2 = Ether(out)
    if ok: del a2[ICMPv6PacketTooBig].cksum
    check('tc icmpv6 packet too big', ok and c1 == Ether(bytes(a2))[ICMPv6PacketTooBig].cksum, f'rv={rv} {a.summary()}')
    config()
    # fib miss: peer with no route
    mupd('xv_fdb', fdb_key(VNI, MAC_REM), fdb_remote('203.0.113.9'))
    rv, out, _ = run('xv_xdp_endpoint', e, ctx=xdp_ctx(EP1))
    check('fib miss drop', rv == XDP_DROP)
    # unresolved neighbour -> XDP pass, TC redirect_neigh
    sh(NS + ['ip', 'route', 'add', '203.0.113.0/24', 'via', '192.0.2.3', 'dev', 'uly0'])
    rv, out, _ = run('xv_xdp_endpoint', e, ctx=xdp_ctx(EP1))
    s4 = stats(SLOT)
    rv2, out2, _ = run('xv_tc_endpoint', e, ctx=skb_ctx(EP1))
    s5 = stats(SLOT)
    check('no neigh: xdp pass, tc redirect_neigh', rv == XDP_PASS and rv2 == 7 and s5['ev'][1] == s4['ev'][1] + 1, f'rv={rv} rv2={rv2}')
    sh(NS + ['ip', 'route', 'del', '203.0.113.0/24'])
    mupd('xv_fdb', fdb_key(VNI, MAC_REM), fdb_remote('192.0.2.2'))
    # checksum-unsafe frames go to TC unless ep_csum_complete
    config(csum_ok=0)
    rv, out, _ = run('xv_xdp_endpoint', e, ctx=xdp_ctx(EP1))
    ic = Ether(dst=mac(MAC_REM), src=mac(MAC_EP1C)) / IP(src='198.51.100.1', dst='198.51.100.2') / ICMP() / Raw(b'p' * 56)
    rv2, out2, _ = run('xv_xdp_endpoint', ic, ctx=xdp_ctx(EP1))
    check('csum-unsafe udp -> tc, icmp -> xdp encap', rv == XDP_PASS and rv2 == XDP_REDIRECT and Ether(out2).haslayer(VXLAN), f'rv={rv} rv2={rv2}')
    # next-hop cache disabled still works
    config(nhc=0xffffffff)
    rv, out, _ = run('xv_xdp_endpoint', e, ctx=xdp_ctx(EP1))
    check('nh cache off encap', rv == XDP_REDIRECT and Ether(out).dst == '02:00:00:00:02:02')
    # not configured
    config(ver=0)
    rv, out, _ = run('xv_xdp_underlay', vx4(inn))
    check('layout mismatch -> pass', rv == XDP_PASS)
    config()

def perf(n=2000000):
    setup()
    r = {}
    inn = inner(size=64)
    _, _, r['empty_xdp'] = run(f'{B}/empty/xv_empty', vx4(inn), repeat=n)
    _, _, r['decap4'] = run('xv_xdp_underlay', vx4(inn), repeat=n)
    _, _, r['decap6'] = run('xv_xdp_underlay', vx6(inn), repeat=n)
    e = Ether(dst=mac(MAC_REM), src=mac(MAC_EP1C)) / IP(src='198.51.100.1', dst='198.51.100.2') / UDP(sport=1111, dport=2222) / Raw(b'z' * 64)
    _, _, r['empty_xdp_ep'] = run(f'{B}/empty/xv_empty', e, repeat=n, ctx=xdp_ctx(EP1))
    _, _, r['encap4_xdp'] = run('xv_xdp_endpoint', e, repeat=n, ctx=xdp_ctx(EP1))
    _, _, r['encap4_xdp_frags'] = run('xv_xdp_ep_frags', e, repeat=n, ctx=xdp_ctx(EP1))
    config(z6=1)
    mupd('xv_fdb', fdb_key(VNI, MAC_REM), fdb_remote('2001:db8::2'))
    _, _, r['encap6_xdp_nocsum'] = run('xv_xdp_endpoint', e, repeat=n, ctx=xdp_ctx(EP1))
    config()
    _, _, r['encap6_xdp_csum'] = run('xv_xdp_endpoint', e, repeat=n, ctx=xdp_ctx(EP1))
    mupd('xv_fdb', fdb_key(VNI, MAC_REM), fdb_remote('192.0.2.2'))
    _, _, r['empty_tc'] = run(f'{B}/empty/xv_empty_tc', e, repeat=n, ctx=skb_ctx(EP1))
    _, _, r['encap4_tc'] = run('xv_tc_endpoint', e, repeat=n, ctx=skb_ctx(EP1))
    _, _, r['decap4_tc'] = run('xv_tc_underlay', vx4(inn), repeat=n, ctx=skb_ctx(ULY))
    for k, v in r.items():
        print(f'{k:20s} {v} ns')

if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == 'perf':
        perf(int(sys.argv[2]) if len(sys.argv) > 2 else 2000000)
    else:
        main()
        print('FAILS:', FAILS)
