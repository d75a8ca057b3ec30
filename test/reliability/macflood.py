#!/usr/bin/env python3
"""Source-MAC flood for the learn-limit lab (bounded in count and time).

macflood.py IFACE FRAME_HEX COUNT MAX_SECONDS [fixed]
Sends COUNT copies of FRAME out of IFACE through an AF_PACKET socket that
bypasses the qdisc, each with the last three source MAC bytes set to
(seq * 2654435761) mod 2^24: distinct for 16M frames and spread over the
space as random MACs are ("fixed": the frame as given, one source MAC, for
the cost of the steady state in bench/learn-cost.mjs). Prints JSON {sent, refused, seconds}: refused are
sends the kernel turned down (ENOBUFS: the veth ring was full).
"""
import json, socket, sys, time

iface, frame_hex, count, max_seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
fixed = sys.argv[5:] == ['fixed']
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
s.setsockopt(263, 20, 1)  # SOL_PACKET, PACKET_QDISC_BYPASS
s.bind((iface, 0))
frame = bytearray.fromhex(frame_hex)
start = time.monotonic()
deadline = start + max_seconds
sent = refused = 0
send = s.send
for i in range(count):
    if not fixed:
        v = (i * 2654435761) & 0xffffff
        frame[9] = v >> 16
        frame[10] = (v >> 8) & 0xff
        frame[11] = v & 0xff
    try:
        send(frame)
        sent += 1
    except OSError:
        refused += 1
    if (i & 0x3fff) == 0 and time.monotonic() > deadline:
        break
print(json.dumps({'sent': sent, 'refused': refused, 'seconds': round(time.monotonic() - start, 3)}), flush=True)
