#!/usr/bin/env bash
# make demo: until the manager exists, shows the foundation doing real work —
# a fixture XDP program attached in native mode inside a throwaway two-host
# namespace lab, counting the pings that cross it.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node scripts/demo-foundation.mjs
