#!/usr/bin/env python3
"""Sequence-numbered UDP stream for loss tests (bounded in count and time).

send DST PORT COUNT PPS      -> sends COUNT datagrams (8-byte seq + padding) at PPS,
                                stops early on SIGTERM; prints JSON {sent}
recv PORT COUNT MAX_SECONDS  -> prints JSON {received, last, missing, duplicates, outOfOrder}
The receiver stops at COUNT unique datagrams, 3 s after the last one, or at
MAX_SECONDS; missing counts the numbers below the highest one seen, so a
sender stopped early (SIGTERM) is not a loss.
"""
import json, signal, socket, struct, sys, time

def send(dst, port, count, pps):
    # What was sent is reported even when stopped, so that losing the last
    # datagrams (which "missing" cannot see) still shows as sent - received.
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    pad = b'x' * 56
    start = time.monotonic()
    sent = 0
    for seq in range(count):
        if stop:
            break
        due = start + seq / pps
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        s.sendto(struct.pack('!Q', seq) + pad, (dst, port))
        sent += 1
    print(json.dumps({'sent': sent}), flush=True)

def recv(port, count, max_seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(('0.0.0.0', port))
    print('listening', flush=True)
    seen = set(); dups = 0; ooo = 0; last = -1
    end = time.monotonic() + max_seconds
    s.settimeout(1.0)
    idle_since = None
    while len(seen) < count and time.monotonic() < end:
        try:
            data, _ = s.recvfrom(2048)
        except socket.timeout:
            if seen and idle_since and time.monotonic() - idle_since > 3:
                break
            continue
        idle_since = time.monotonic()
        seq = struct.unpack('!Q', data[:8])[0]
        if seq in seen:
            dups += 1
        else:
            seen.add(seq)
        if seq < last:
            ooo += 1
        last = max(last, seq)
    # The sender may be stopped early: what counts is every number up to the last one seen.
    missing = [i for i in range(last + 1) if i not in seen]
    print(json.dumps({'received': len(seen), 'last': last, 'missing': len(missing), 'firstMissing': missing[:20], 'duplicates': dups, 'outOfOrder': ooo}), flush=True)

if __name__ == '__main__':
    if sys.argv[1] == 'send':
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    else:
        recv(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
