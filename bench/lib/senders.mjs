// User-space senders of small frames from a namespace (the live-frames
// generator needs BPF_F_TEST_XDP_LIVE_FRAMES, which some kernels refuse).
import { spawn, spawnSync } from 'node:child_process';

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

// One frame every intervalUs through an AF_PACKET socket on ifc, for at most
// `seconds` or until SIGTERM; prints once bound ("ready") and at the end what
// it did. Timer slack set to 1 ns (prctl PR_SET_TIMERSLACK), or a 50 µs sleep
// lasts ~100 µs; a late send does not make the next ones burst.
const PACED_PY = `import socket,sys,time,binascii,ctypes,json,signal
ifc,iv,secs=sys.argv[1],float(sys.argv[2])/1e6,float(sys.argv[3])
b=binascii.unhexlify(sys.argv[4])
try: ctypes.CDLL(None).prctl(29,1,0,0,0)
except Exception: pass
stop=[False]
signal.signal(signal.SIGTERM,lambda *a: stop.__setitem__(0,True))
s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,0)
s.bind((ifc,0))
print("ready",flush=True)
t0=time.perf_counter();end=t0+secs;nxt=t0;k=0;last=t0;mx=0.0
while not stop[0]:
  now=time.perf_counter()
  if now>=end: break
  s.send(b);k+=1
  if k>1: mx=max(mx,now-last)
  last=now;nxt+=iv
  d=nxt-time.perf_counter()
  if d>0: time.sleep(d)
  else: nxt=time.perf_counter()
el=time.perf_counter()-t0
signal.signal(signal.SIGTERM,signal.SIG_IGN)
print(json.dumps({"sent":k,"seconds":el,"meanGapUs":el/max(k,1)*1e6,"maxGapUs":mx*1e6}),flush=True)
`;

/**
 * A bounded, paced frame source for kernels that refuse live frames: `frame`
 * (a whole Ethernet frame) sent on ifc in namespace ns every intervalUs
 * (≥ 20) for at most `seconds` (≤ 2). ready: resolves once the socket is
 * bound; stop(): ends it early; done: resolves to { sent, seconds,
 * meanGapUs, maxGapUs } (the gap between sends bounds the resolution of a
 * "first packet" time).
 */
export function pacedSender(ns, ifc, frame, { intervalUs = 50, seconds = 2 } = {}) {
  if (!(intervalUs >= 20 && seconds > 0 && seconds <= 2)) throw new Error(`paced sender: interval ${intervalUs} µs (≥ 20), ${seconds} s (≤ 2)`);
  // --foreground: timeout passes our SIGTERM to python only, not to its whole group again
  const child = spawn('ip', ['netns', 'exec', ns, 'timeout', '--foreground', String(Math.ceil(seconds) + 3), 'python3', '-c', PACED_PY, ifc, String(intervalUs), String(seconds), frame.toString('hex')],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '', onReady;
  const ready = new Promise((res, rej) => {
    onReady = res;
    child.once('exit', (c) => rej(new Error(`paced sender exited ${c} before it was ready: ${err.trim()}`)));
  });
  ready.catch(() => {}); // done reports the same failure
  child.stdout.on('data', (b) => {
    out += b;
    if (out.startsWith('ready\n')) onReady();
  });
  child.stderr.on('data', (b) => (err += b));
  const done = new Promise((res, rej) => child.once('exit', (c) => {
    const last = out.trim().split('\n').at(-1);
    if (c !== 0 || !last?.startsWith('{')) rej(new Error(`paced sender exited ${c ?? child.signalCode}: ${err.trim()}`));
    else res({ intervalUs, ...JSON.parse(last) });
  }));
  done.catch(() => {}); // awaited by the caller; a failure must not crash the run before then
  return { ready, done, stop: () => child.exitCode === null && child.kill('SIGTERM') };
}
