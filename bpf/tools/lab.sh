#!/bin/bash
# namespace lab: xa = xvtep (our programs), xb = kernel vxlan, xc = container behind xa
set -e
FAM=${FAM:-4}
PORT=${PORT:-4789}
down() { for n in xa xb xc; do ip netns del $n 2>/dev/null || true; done; }
down
ip netns add xa; ip netns add xb; ip netns add xc
for n in xa xb xc; do ip -n $n link set lo up; done
ip link add ua netns xa type veth peer name ub netns xb
ip link add epa netns xa type veth peer name ca netns xc
ip -n xa link set ua address 02:00:00:00:0a:01
ip -n xb link set ub address 02:00:00:00:0b:01
ip -n xc link set ca address 02:00:00:00:0c:01
ip -n xa link set epa address 02:00:00:00:0a:e1
ip -n xa addr add 192.0.2.1/24 dev ua; ip -n xb addr add 192.0.2.2/24 dev ub
ip -n xa addr add 2001:db8::1/64 dev ua nodad; ip -n xb addr add 2001:db8::2/64 dev ub nodad
ip -n xa link set ua up; ip -n xb link set ub up; ip -n xa link set epa up; ip -n xc link set ca up
ip netns exec xa sysctl -qw net.ipv4.conf.ua.forwarding=1 net.ipv6.conf.ua.forwarding=1
if [ "$FAM" = 4 ]; then
  ip -n xb link add vxlan0 type vxlan id 1024 dstport $PORT remote 192.0.2.1 local 192.0.2.2 dev ub
else
  ip -n xb link add vxlan0 type vxlan id 1024 dstport $PORT remote 2001:db8::1 local 2001:db8::2 dev ub udp6zerocsumrx
fi
ip -n xb link set vxlan0 address 02:00:00:00:0b:99
ip -n xb addr add 198.51.100.2/24 dev vxlan0
ip -n xb addr add 2001:db8:100::2/64 dev vxlan0 nodad
ip -n xb link set vxlan0 up
ip -n xc addr add 198.51.100.1/24 dev ca
ip -n xc addr add 2001:db8:100::1/64 dev ca nodad
# MTU: overlay must fit in the underlay
ip -n xc link set ca mtu $((1500 - (FAM == 4 ? 50 : 70)))
# NAPI on veth peers that receive XDP_REDIRECTed frames
ip netns exec xc ethtool -K ca gro on >/dev/null 2>&1 || true
ip netns exec xb ethtool -K ub gro on >/dev/null 2>&1 || true
echo lab up
