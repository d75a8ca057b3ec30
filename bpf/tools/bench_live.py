#!/usr/bin/python3
# Per-packet cost in BPF_PROG_TEST_RUN live-frames mode (frames are reset
# between repetitions, so encap/decap really run every time; plain
# `bpftool prog run repeat N` re-runs on the already decapsulated frame).
# Needs xrun (cc -O2 xrun.c -o xrun -lbpf) and the baseline programs
# (clang -O2 -target bpf -c baseline.bpf.c; bpftool prog loadall ... $XV_PIN/empty pinmaps $XV_PIN/emptymaps).
import os, sys
HERE = os.path.dirname(os.path.abspath(__file__))
exec(open(HERE + '/prog_run_tests.py').read().replace("if __name__ == '__main__':", "if False:"))
XR = os.environ.get('XRUN', HERE + '/xrun')
def xr(pin, pkt, ifx, n, live=0):
    open('/tmp/xv-p.bin','wb').write(bytes(pkt))
    out = sh(NS + ['taskset', '-c', '0', XR, pin, '/tmp/xv-p.bin', str(ifx), str(n), str(live)])
    return int(re.search(r'duration=(\d+)', out).group(1)), int(re.search(r'retval=(\d+)', out).group(1))
def tgt(ifx):
    sh(NS + ['bpftool','map','update','pinned',B+'/emptymaps/xv_tgt','key','0','0','0','0','value'] + [str(x) for x in u32(ifx)])
setup()
N=int(sys.argv[1]) if len(sys.argv)>1 else 2000000
E=B+'/empty/'
inn = inner(size=64)
e = Ether(dst=mac(MAC_REM), src=mac(MAC_EP1C)) / IP(src='198.51.100.1', dst='198.51.100.2') / UDP(sport=1111, dport=2222) / Raw(b'z' * 64)
res = {}
for trial in range(3):
    tgt(EP2)
    res.setdefault('empty(XDP_DROP) live', []).append(xr(E+'xv_drop', vx4(inn), ULY, N, 1)[0])
    res.setdefault('empty(XDP_PASS) non-live', []).append(xr(E+'xv_empty', vx4(inn), ULY, N, 0)[0])
    res.setdefault('redirect-only ->ep2 live', []).append(xr(E+'xv_redir', vx4(inn), ULY, N, 1)[0])
    res.setdefault('decap4 ->ep2 live', []).append(xr(B+'/progs/xv_xdp_underlay', vx4(inn), ULY, N, 1)[0])
    res.setdefault('decap6 ->ep2 live', []).append(xr(B+'/progs/xv_xdp_underlay', vx6(inner(src=bytes.fromhex('02aabbccdd06'), size=64)), ULY, N, 1)[0])
    tgt(ULY)
    res.setdefault('redirect-only ->uly0 live', []).append(xr(E+'xv_redir', e, EP1, N, 1)[0])
    res.setdefault('encap4 ->uly0 live', []).append(xr(B+'/progs/xv_xdp_endpoint', e, EP1, N, 1)[0])
    res.setdefault('encap4 frags ->uly0 live', []).append(xr(B+'/progs/xv_xdp_ep_frags', e, EP1, N, 1)[0])
    mupd('xv_fdb', fdb_key(VNI, MAC_REM), fdb_remote('2001:db8::2'))
    config(z6=1)
    res.setdefault('encap6 nocsum live', []).append(xr(B+'/progs/xv_xdp_endpoint', e, EP1, N, 1)[0])
    config()
    res.setdefault('encap6 csum(64B payload) live', []).append(xr(B+'/progs/xv_xdp_endpoint', e, EP1, N, 1)[0])
    mupd('xv_fdb', fdb_key(VNI, MAC_REM), fdb_remote('192.0.2.2'))
for k,v in res.items(): print(f'{k:32s} {sorted(v)[1]} ns  (runs {v})')
# sanity: verify retvals in non-live single run
print('decap retval', xr(B+'/progs/xv_xdp_underlay', vx4(inn), ULY, 1, 0)[1], 'encap retval', xr(B+'/progs/xv_xdp_endpoint', e, EP1, 1, 0)[1])
