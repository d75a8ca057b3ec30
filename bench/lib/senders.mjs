// User-space senders of small frames from a namespace (the live-frames
// generator needs BPF_F_TEST_XDP_LIVE_FRAMES, which some kernels refuse).
import { spawnSync } from 'node:child_process';

/**
 * n ICMP echo requests from namespace ns to addr over `flows` ICMP ids, 60-byte
 * frames as the UDP sender's (18 bytes of data). Unlike a UDP socket's frames,
 * whose checksum a veth leaves partial (which XDP cannot see, so xvtep's XDP
 * endpoint program hands them to tcx), these carry a complete checksum: the
 * XDP program encapsulates them itself. Returns how many were sent.
 */
export function icmpBlast(ns, addr, flows, n) {
  const py = 'import socket,struct,sys\nn,f,a=int(sys.argv[1]),int(sys.argv[2]),sys.argv[3]\n' +
    's=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_ICMP)\ns.setblocking(False)\n' +
    'def ck(b):\n  x=sum(struct.unpack("!%dH"%(len(b)//2),b))\n  x=(x&0xffff)+(x>>16)\n  x=(x&0xffff)+(x>>16)\n  return ~x&0xffff\n' +
    'def pkt(i):\n  h=struct.pack("!BBHHH",8,0,0,1000+i,1)+b"x"*18\n  return h[:2]+struct.pack("!H",ck(h))+h[4:]\n' +
    'ps=[pkt(i) for i in range(f)]\nk=0\n' +
    'for i in range(n):\n  try: s.sendto(ps[i%f],(a,0)); k+=1\n  except OSError: pass\nprint(k)\n';
  const r = spawnSync('ip', ['netns', 'exec', ns, 'timeout', '60', 'python3', '-c', py, String(n), String(flows), addr], { encoding: 'utf8', timeout: 65_000 });
  if (r.status !== 0) throw new Error(`icmp sender exited ${r.status ?? r.signal}: ${r.stderr}`);
  return Number(r.stdout.trim());
}
