#!/usr/bin/env bash
# Runs every test on a fresh machine: installs the pinned real peers the tests use (anvil + solc
# from npm, py_ecc from PyPI, Lodestar from npm, the Go ssv-dkg v3.1.0 built from the source archive
# in ../shared/peers/ssv-dkg), each step cached and idempotent, then runs the Rust test suite.
# Needs: Rust, Go >= 1.24 + a C compiler, Node.js 20 + npm, Python 3.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() { printf '\n== %s\n' "$*"; }

step "anvil 1.7.1 + solc 0.8.37 (npm, anvil/)"
if [ ! -x anvil/node_modules/.bin/anvil ] || [ ! -d anvil/node_modules/solc ]; then
  (cd anvil && npm ci --no-audit --no-fund)
fi
anvil/node_modules/.bin/anvil --version | head -n1

step "independent checkers (PyPI)"
scripts/install-py-checkers.sh

step "Lodestar 1.5.1 (npm, beacon-devnet/)"
scripts/install-lodestar.sh

step "ssv-dkg v3.1.0 (Go, ../shared/peers/ssv-dkg/build.sh)"
scripts/install-ssv-dkg.sh
export SSV_DKG_BIN="$ROOT/.cache/bin/ssv-dkg"

step "cargo test"
cargo test --no-fail-fast "$@"
