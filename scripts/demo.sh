#!/usr/bin/env bash
# The local demo on a fresh machine: installs the pinned devnet peers (anvil from npm, Lodestar from
# npm), builds ssv-agent, and runs `ssv-agent demo`: devnet + 4 local operators + Lodestar, the whole
# pipeline for one validator, a summary, and everything stopped again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ ! -x anvil/node_modules/.bin/anvil ]; then
  (cd anvil && npm ci --no-audit --no-fund)
fi
scripts/install-lodestar.sh
exec cargo run --quiet -- demo "$@"
