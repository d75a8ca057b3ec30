#!/usr/bin/env python3
# A "VM" behind a tap: opens the tap (made with `ip tuntap add mode tap`),
# answers ARP and ICMP echo for its address, and pings a peer, for a bounded
# time. Prints one JSON line: what it sent and what came back.
#   tapvm.py TAP MAC IP PEER_IP COUNT SECONDS
import fcntl, json, os, select, socket, struct, sys, time

tap, mac_s, ip_s, peer_s, count, secs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6])
MAC = bytes.fromhex(mac_s.replace(':', ''))
IP, PEER = socket.inet_aton(ip_s), socket.inet_aton(peer_s)
BCAST = b'\xff' * 6

fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', tap.encode(), 0x0002 | 0x1000))  # TUNSETIFF, IFF_TAP | IFF_NO_PI

def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack(f'!{len(b) // 2}H', b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def ipv4(src, dst, payload, ident):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), ident, 0, 64, 1, 0, src, dst)
    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + payload

def icmp(typ, ident, seq, data):
    h = struct.pack('!BBHHH', typ, 0, 0, ident, seq) + data
    return h[:2] + struct.pack('!H', csum(h)) + h[4:]

def arp(op, sha, spa, tha, tpa):
    return struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, op, sha, spa, tha, tpa)

def send(dst, etype, payload):
    os.write(fd, dst + MAC + struct.pack('!H', etype) + payload)

peer_mac = None
sent = replies = answered = arp_answered = 0
next_ping = time.time()
end = time.time() + secs
seq = 0
while time.time() < end and (replies < count or sent < count):
    now = time.time()
    if now >= next_ping and sent < count:
        if peer_mac is None:
            send(BCAST, 0x0806, arp(1, MAC, IP, b'\0' * 6, PEER))
        else:
            seq += 1
            send(peer_mac, 0x0800, ipv4(IP, PEER, icmp(8, 0x4242, seq, b'tapvm' * 8), seq))
            sent += 1
        next_ping = now + 0.05
    r, _, _ = select.select([fd], [], [], 0.02)
    if not r:
        continue
    f = os.read(fd, 65536)
    if len(f) < 14:
        continue
    etype = struct.unpack('!H', f[12:14])[0]
    if etype == 0x0806 and len(f) >= 42:
        _, _, _, _, op, sha, spa, _, tpa = struct.unpack('!HHBBH6s4s6s4s', f[14:42])
        if op == 2 and spa == PEER:
            peer_mac = sha
        elif op == 1 and tpa == IP:
            send(sha, 0x0806, arp(2, MAC, IP, sha, spa))
            arp_answered += 1
    elif etype == 0x0800 and len(f) >= 42 and f[23] == 1:
        ihl = (f[14] & 15) * 4
        src, dst = f[26:30], f[30:34]
        body = f[14 + ihl:]
        if dst != IP:
            continue
        if body[0] == 0 and src == PEER:
            replies += 1
        elif body[0] == 8:
            ident, sq = struct.unpack('!HH', body[4:8])
            send(f[6:12], 0x0800, ipv4(IP, src, icmp(0, ident, sq, body[8:]), sq))
            answered += 1
print(json.dumps({'arpResolved': peer_mac is not None, 'sent': sent, 'replies': replies, 'echoesAnswered': answered, 'arpAnswered': arp_answered}))
