#!/usr/bin/python3
import struct, subprocess, ipaddress, sys, os
B = os.environ.get('XV_PIN', '/run/dp-bpffs') + '/lab'
FAM = int(os.environ.get('FAM', '4')); PORT = int(os.environ.get('PORT', '4789'))
XDPEP = os.environ.get('XDPEP', '')      # '', 'xdp', 'frags'
def sh(c, check=True):
    r = subprocess.run(c, capture_output=True, text=True)
    if check and r.returncode: raise RuntimeError(' '.join(c) + r.stdout + r.stderr)
    return r.stdout
NS = ['ip', 'netns', 'exec', 'xa']
def ifx(n): return int(sh(NS + ['cat', f'/sys/class/net/{n}/ifindex']))
def u32(x): return struct.pack('<I', x)
def ip16(a): p = ipaddress.ip_address(a).packed; return p + b'\0' * (16 - len(p))
def upd(m, k, v): sh(NS + ['bpftool', 'map', 'update', 'pinned', f'{B}/maps/{m}', 'key', 'hex'] + [f'{x:02x}' for x in k] + ['value', 'hex'] + [f'{x:02x}' for x in v])
sh(['rm', '-rf', B]); os.makedirs(B)
sh(['bpftool', 'prog', 'loadall', os.environ.get('XV_OBJ', 'xvtep.bpf.o'), f'{B}/progs', 'pinmaps', f'{B}/maps'])
UA, EPA = ifx('ua'), ifx('epa')
VNI, SLOT = 1024, 1
cfg = u32(1) + u32(UA) + struct.pack('>H', PORT) + struct.pack('<HHH', 1500, 0, 0) + bytes([0, 0, 0, 0, 0, 0, 0, 0])
cfg += ipaddress.ip_address('192.0.2.1').packed + u32(0) + ipaddress.ip_address('2001:db8::1').packed + b'\0' * 16
upd('xv_config', u32(0), cfg)
upd('xv_vni', u32(VNI), u32(SLOT) + u32(0) + b'\0' * 8)
upd('xv_ep', u32(EPA), u32(VNI) + u32(SLOT) + u32(0) + u32(0))
upd('xv_devs', u32(EPA), u32(EPA))
peer = '192.0.2.2' if FAM == 4 else '2001:db8::2'
upd('xv_peer', u32(VNI) + u32(FAM) + ip16(peer), u32(SLOT) + u32(0))
bum = u32(1 if FAM == 4 else 0) + u32(1 if FAM == 6 else 0) + u32(1) + u32(0)
bum += (ipaddress.ip_address(peer).packed if FAM == 4 else b'\0' * 4) + b'\0' * 124
bum += (ipaddress.ip_address(peer).packed if FAM == 6 else b'\0' * 16) + b'\0' * 240
bum += u32(EPA) + b'\0' * 252
upd('xv_bum', u32(VNI), bum)
sh(NS + ['bpftool', 'map', 'create', f'{B}/bc{VNI}', 'type', 'devmap_hash', 'key', '4', 'value', '4', 'entries', '256', 'name', f'xv_bc_{VNI}'])
sh(NS + ['bpftool', 'map', 'update', 'pinned', f'{B}/bc{VNI}', 'key'] + [str(x) for x in u32(EPA)] + ['value'] + [str(x) for x in u32(EPA)])
sh(['bpftool', 'map', 'update', 'pinned', f'{B}/maps/xv_bcast', 'key'] + [str(x) for x in u32(VNI)] + ['value', 'pinned', f'{B}/bc{VNI}'])
# attach
if os.environ.get('UNDERLAY', 'xdp') == 'xdp':
    sh(NS + ['ip', 'link', 'set', 'dev', 'ua', 'xdpdrv', 'pinned', f'{B}/progs/xv_xdp_underlay'])
else:
    sh(NS + ['tc', 'qdisc', 'add', 'dev', 'ua', 'clsact'])
    sh(NS + ['tc', 'filter', 'add', 'dev', 'ua', 'ingress', 'bpf', 'direct-action', 'object-pinned', f'{B}/progs/xv_tc_underlay'])
sh(NS + ['tc', 'qdisc', 'add', 'dev', 'epa', 'clsact'])
sh(NS + ['tc', 'filter', 'add', 'dev', 'epa', 'ingress', 'bpf', 'direct-action', 'object-pinned', f'{B}/progs/xv_tc_endpoint'])
if XDPEP:
    prog = 'xv_xdp_endpoint' if XDPEP == 'xdp' else 'xv_xdp_ep_frags'
    sh(NS + ['ip', 'link', 'set', 'dev', 'epa', 'xdpdrv', 'pinned', f'{B}/progs/{prog}'])
print('configured', 'UA', UA, 'EPA', EPA, 'FAM', FAM, 'XDPEP', XDPEP or 'none')
