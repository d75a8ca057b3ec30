#!/usr/bin/env python3
"""Sequence-numbered UDP stream for loss tests (bounded in count and time).

send DST PORT COUNT PPS      -> sends COUNT datagrams (8-byte seq + padding) at PPS,
                                stops early on SIGTERM; prints JSON {sent}
recv PORT COUNT MAX_SECONDS [IDLE_SECONDS]
                             -> prints JSON {received, last, missing, duplicates, outOfOrder,
                                maxGapMs, maxGapEndMs}
The receiver stops at COUNT unique datagrams, IDLE_SECONDS (default 3) after
the last one, or at MAX_SECONDS; missing counts the numbers below the highest
one seen, so a sender stopped early (SIGTERM) is not a loss. maxGapMs is the
longest time between two consecutive arrivals (an outage as the receiver saw
it), maxGapEndMs the wall-clock time (ms since the epoch) of the arrival that
ended it.
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

def recv(port, count, max_seconds, idle_seconds=3.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(('0.0.0.0', port))
    print('listening', flush=True)
    seen = set(); dups = 0; ooo = 0; last = -1
    end = time.monotonic() + max_seconds
    s.settimeout(1.0)
    idle_since = None
    max_gap = 0.0; max_gap_end = None
    while len(seen) < count and time.monotonic() < end:
        try:
            data, _ = s.recvfrom(2048)
        except socket.timeout:
            if seen and idle_since and time.monotonic() - idle_since > idle_seconds:
                break
            continue
        now = time.monotonic()
        if idle_since is not None and now - idle_since > max_gap:
            max_gap = now - idle_since; max_gap_end = time.time()
        idle_since = now
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
    print(json.dumps({'received': len(seen), 'last': last, 'missing': len(missing), 'firstMissing': missing[:20], 'duplicates': dups, 'outOfOrder': ooo,
                      'maxGapMs': round(max_gap * 1000, 1), 'maxGapEndMs': None if max_gap_end is None else round(max_gap_end * 1000)}), flush=True)

if __name__ == '__main__':
    if sys.argv[1] == 'send':
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    else:
        recv(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), *(float(a) for a in sys.argv[5:6]))
