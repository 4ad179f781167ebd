#!/usr/bin/env bash
# The local demo on a fresh machine: installs the pinned devnet peers (anvil from npm, Lodestar from
# npm), builds ssv-agent, and runs `ssv-agent demo`: devnet + 4 local operators + Lodestar, the whole
# pipeline for one validator, a summary, and everything stopped again. Arguments go to `demo`
# (e.g. `scripts/demo.sh --keep ./demo-out`).
#
# The installs wait on the registry and the build on the CPU, so they run at the same time: on a
# fresh machine the npm installs take minutes of mostly idle waiting.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mkdir -p .cache
LOG=.cache/demo-install.log
(
  if [ ! -x anvil/node_modules/.bin/anvil ]; then
    (cd anvil && npm ci --no-audit --no-fund)
  fi
  scripts/install-lodestar.sh
) >"$LOG" 2>&1 &
installs=$!
echo "demo.sh: installing anvil and Lodestar in the background (log: $LOG) while cargo builds"
if ! cargo build --quiet; then
  kill "$installs" 2>/dev/null || true
  exit 1
fi
if ! wait "$installs"; then
  echo "demo.sh: installing the devnet peers failed; $LOG says:" >&2
  tail -n 30 "$LOG" >&2
  exit 1
fi
exec cargo run --quiet -- demo "$@"
