#!/usr/bin/env bash
# Installs the Debian packages and npm modules xvtep needs, only when missing,
# so `make test` and `make demo` work on a fresh Debian 12 machine.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(clang llvm libbpf-dev bpftool pkg-config make g++ python3 linux-libc-dev
      curl procps iproute2 iputils-ping iputils-arping ethtool tcpdump iperf3 tshark python3-scapy prometheus etcd-server etcd-client openssl
      linux-perf)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "ensure-deps: missing Debian packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})" >&2
    exit 2
  fi
  echo "ensure-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v node >/dev/null || { echo "ensure-deps: node (>= 20) is required" >&2; exit 2; }
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  # Not `npm ci`: the registry reachable here serves only the linux-x64 members
  # of rollup's optional platform packages, so the lock file lists none of the
  # others and `npm ci` calls it out of sync. `npm install --no-save` installs
  # exactly the locked versions and leaves the lock file alone.
  echo "ensure-deps: npm install (locked versions)" >&2
  npm install --no-save --no-audit --no-fund --loglevel=error
fi
