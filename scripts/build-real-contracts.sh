#!/usr/bin/env bash
# Builds the real SSV Network v2.0.0 and v1.2.0 contracts from ../shared/peers/ssv-network into
# .cache/real-ssv/<archive sha256 prefix>/ (cached: a rerun with the same archives does nothing).
# Needs Node.js 20 and `cd anvil && npm ci` (pinned solc 0.8.24 / 0.8.4 and OpenZeppelin 4.9.6).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ ! -d anvil/node_modules/solc-0.8.24 ] || [ ! -d anvil/node_modules/@openzeppelin/contracts-upgradeable ]; then
  (cd anvil && npm ci --no-audit --no-fund)
fi
exec node anvil/real/compile-real.js "$@"
