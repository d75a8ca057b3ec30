#!/bin/bash
# Netns "xvt" for prog_run_tests.py / bench_live.py (documentation ranges only).
# Delete with: ip netns del xvt
set -e
ip netns add xvt
ip -n xvt link set lo up
ip -n xvt link add uly0 type veth peer name uly1
ip -n xvt link add ep1 type veth peer name ep1c
ip -n xvt link add ep2 type veth peer name ep2c
ip -n xvt link set uly0 address 02:00:00:00:01:01
ip -n xvt link set uly1 address 02:00:00:00:02:02
ip -n xvt link set ep1 address 02:00:00:00:e1:01
ip -n xvt link set ep2 address 02:00:00:00:e2:01
ip -n xvt link set ep1c address 02:00:00:00:c1:01
ip -n xvt link set ep2c address 02:00:00:00:c2:01
for i in uly0 uly1 ep1 ep1c ep2 ep2c; do ip -n xvt link set $i up; done
ip -n xvt addr add 192.0.2.1/24 dev uly0
ip -n xvt addr add 2001:db8::1/64 dev uly0 nodad
ip -n xvt neigh add 192.0.2.2 lladdr 02:00:00:00:02:02 dev uly0 nud permanent
ip -n xvt neigh add 2001:db8::2 lladdr 02:00:00:00:02:02 dev uly0 nud permanent
# bpf_fib_lookup() requires forwarding on the egress device
ip netns exec xvt sysctl -qw net.ipv4.conf.uly0.forwarding=1 net.ipv6.conf.uly0.forwarding=1
