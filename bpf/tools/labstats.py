#!/usr/bin/python3
import json, subprocess, struct, sys, os
B = os.environ.get('XV_PIN', '/run/dp-bpffs') + '/lab'
DROPS = ['unknown_vni','unknown_peer','malformed','no_endpoint','mtu_exceeded','fib_miss','redirect_failed','hairpin','encap_failed','no_local_addr','bad_src_mac']
EVS = ['fdb_full','neigh_unresolved','learn_new','learn_move','static_conflict','proxy_arp','proxy_nd','icmp_too_big','flood','local_fwd','xdp_to_tc','not_configured','unknown_ep','flood_skipped']
for slot in (0, 1):
    j = json.loads(subprocess.run(['bpftool', '-j', 'map', 'lookup', 'pinned', f'{B}/maps/xv_stats', 'key'] + [str(x) for x in struct.pack('<I', slot)], capture_output=True, text=True).stdout)
    tot = [0] * 36
    for cpu in j['values']:
        b = bytes(int(x, 16) for x in cpu['value'])
        for i in range(36): tot[i] += struct.unpack_from('<Q', b, i * 8)[0]
    d = {n: tot[4 + i] for i, n in enumerate(DROPS) if tot[4 + i]}
    e = {n: tot[20 + i] for i, n in enumerate(EVS) if tot[20 + i]}
    print(f'slot {slot}: rx {tot[0]}p/{tot[1]}B tx {tot[2]}p/{tot[3]}B drops {d} events {e}')
