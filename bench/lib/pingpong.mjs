// UDP request/response latency, bounded in count and time.
//   node pingpong.mjs server PORT IDLE_MS     echoes until idle for IDLE_MS
//   node pingpong.mjs client ADDR PORT COUNT  prints {n, lost, p50, p90, p99, mean} in microseconds
import dgram from 'node:dgram';

const [role, a, b, c] = process.argv.slice(2);
if (role === 'server') {
  const s = dgram.createSocket('udp4');
  let timer;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => s.close(), Number(b));
  };
  s.on('message', (m, r) => {
    s.send(m, r.port, r.address);
    arm();
  });
  s.bind(Number(a), () => arm());
} else {
  const addr = a, port = Number(b), count = Number(c), warm = Math.min(200, count >> 2);
  const s = dgram.createSocket('udp4');
  const rtts = [];
  let lost = 0, i = 0, sent = 0n, timer;
  const deadline = Date.now() + 30_000;
  const next = () => {
    if (i >= count + warm || Date.now() > deadline) return done();
    const buf = Buffer.alloc(16);
    buf.writeUInt32BE(i, 0);
    sent = process.hrtime.bigint();
    s.send(buf, port, addr);
    timer = setTimeout(() => {
      if (i >= warm) lost++;
      i++;
      next();
    }, 200);
  };
  s.on('message', (m) => {
    if (m.readUInt32BE(0) !== i) return; // a late answer to a timed-out request
    clearTimeout(timer);
    if (i >= warm) rtts.push(Number(process.hrtime.bigint() - sent) / 1000);
    i++;
    setImmediate(next);
  });
  const done = () => {
    s.close();
    rtts.sort((x, y) => x - y);
    const q = (p) => (rtts.length ? rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] : null);
    const mean = rtts.reduce((x, y) => x + y, 0) / (rtts.length || 1);
    console.log(JSON.stringify({ n: rtts.length, lost, p50: q(0.5), p90: q(0.9), p99: q(0.99), mean }));
  };
  s.bind(0, next);
}
