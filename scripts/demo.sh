#!/usr/bin/env bash
# make demo: a two-host namespace lab. Host A runs xvtep (XDP on its NIC
# ua, the "container" namespace C behind endpoint epa); host B runs the Linux
# kernel's own vxlan, configured as in ip-link(8). Pings and a 3-second iperf3
# cross the overlay (VNI 42), then `xvtep status` and per-VNI metrics are
# shown. Everything is removed on exit, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

P=xvdemo$$
A=$P-a B=$P-b C=$P-c
BPF=/run/xvtep-demo-$$
TMP=$(mktemp -d /tmp/xvtep-demo.XXXXXX)
PORT=$((19000 + $$ % 1000))
DAEMON=
XVTEP="ip netns exec $A $(command -v node) $PWD/bin/xvtep"

cleanup() {
  set +e
  [[ -n $DAEMON ]] && kill -TERM "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null
  $XVTEP detach --pin-dir "$BPF/a" >/dev/null 2>&1
  for n in $A $B $C; do ip netns del "$n" 2>/dev/null; done
  umount "$BPF" 2>/dev/null; rmdir "$BPF" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "lab: A (xvtep) -- 192.0.2.0/24 underlay -- B (kernel vxlan); C behind A on 198.51.100.0/24"
for n in $A $B $C; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add ua netns $A type veth peer name ub netns $B
ip link add epa netns $A type veth peer name ca netns $C
ip -n $A addr add 192.0.2.1/24 dev ua
ip -n $B addr add 192.0.2.2/24 dev ub
for x in "$A ua" "$B ub" "$A epa" "$C ca"; do set -- $x; ip -n "$1" link set "$2" up; done
ip -n $C addr add 198.51.100.1/24 dev ca
ip -n $C link set ca mtu 1450   # room for the 50-byte VXLAN/IPv4 overhead

step "host B: the kernel's vxlan, as in ip-link(8)"
run ip -n $B link add vxlan0 type vxlan id 42 dstport 4789 remote 192.0.2.1 local 192.0.2.2 dev ub
run ip -n $B addr add 198.51.100.2/24 dev vxlan0
run ip -n $B link set vxlan0 up
# veth underlay: B must put complete inner checksums on the wire (a real NIC does)
ip netns exec $B ethtool -K vxlan0 tx off >/dev/null

step "host A: xvtep (bpffs for the lab at $BPF, outside /sys so ip netns exec sees it)"
mkdir -p "$BPF" && mount -t bpf bpf "$BPF"
cat > "$TMP/xvtep.yaml" <<YAML
underlay:
  interface: ua
  address: 192.0.2.1
vnis:
  - vni: 42
    endpoints: [epa]
    peers: [192.0.2.2]
metrics:
  listen: 127.0.0.1:$PORT
state:
  pinDir: $BPF/a
YAML
cat "$TMP/xvtep.yaml"
$XVTEP config check "$TMP/xvtep.yaml"
printf '$ xvtep run -c xvtep.yaml &\n'
$XVTEP run -c "$TMP/xvtep.yaml" 2> >(sed 's/^/  [daemon] /' >&2) &
DAEMON=$!
for _ in $(seq 100); do
  ip netns exec $A curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null 2>&1 && break
  kill -0 $DAEMON 2>/dev/null || { echo "demo: xvtep run exited" >&2; exit 2; }
  sleep 0.1
done

step "ping across the overlay: C (behind xvtep) -> B (kernel vxlan)"
run ip netns exec $C ping -c 4 -i 0.2 -W 1 198.51.100.2
step "and B -> C"
run ip netns exec $B ping -c 4 -i 0.2 -W 1 198.51.100.1

step "iperf3, 3 seconds, C -> B"
ip netns exec $B iperf3 -s -1 -B 198.51.100.2 >/dev/null 2>&1 &
IPERF=$!
sleep 0.5
run ip netns exec $C iperf3 -c 198.51.100.2 -t 3 -f m | grep -E 'sender|receiver'
wait $IPERF || true

step "a live edit: static FDB entry for B's overlay MAC"
BMAC=$(ip -n $B -j link show vxlan0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
run $XVTEP fdb replace "$BMAC" vni 42 dst 192.0.2.2 --pin-dir "$BPF/a"
run $XVTEP fdb show --pin-dir "$BPF/a"

step "xvtep status"
run $XVTEP status --pin-dir "$BPF/a"

step "xvtep stats"
run $XVTEP stats --pin-dir "$BPF/a"

step "metrics excerpt (http://127.0.0.1:$PORT/metrics in host A)"
ip netns exec $A curl -sf "http://127.0.0.1:$PORT/metrics" | grep -E '^xvtep_(vni_(receive|transmit)_|config_last|fdb_entries)' 

step "done: cleaning up"
