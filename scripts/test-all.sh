#!/usr/bin/env bash
# Runs every test on a fresh machine: installs the pinned real peers the tests use (anvil + solc
# from npm, py_ecc from PyPI, Lodestar from npm, the Go ssv-dkg v3.1.0 built from the source archive
# in ../shared/peers/ssv-dkg), builds the real SSV Network contracts from ../shared/peers/ssv-network
# (about 2.5 min the first time, then cached), each step cached and idempotent, then runs the Rust
# test suite. Needs: Rust, Go >= 1.24 + a C compiler, Node.js 20 + npm, Python 3.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() { printf '\n== %s\n' "$*"; }

step "anvil 1.7.1 + solc 0.8.37, 0.8.24, 0.8.4 + OpenZeppelin 4.9.6 (npm, anvil/)"
if [ ! -x anvil/node_modules/.bin/anvil ] || [ ! -d anvil/node_modules/solc ] \
  || [ ! -d anvil/node_modules/solc-0.8.24 ] || [ ! -d anvil/node_modules/@openzeppelin/contracts-upgradeable ]; then
  (cd anvil && npm ci --no-audit --no-fund)
fi
anvil/node_modules/.bin/anvil --version | head -n1

step "real SSV Network contracts (../shared/peers/ssv-network, cached in .cache/real-ssv)"
scripts/build-real-contracts.sh

step "independent checkers (PyPI)"
scripts/install-py-checkers.sh

step "Lodestar 1.5.1 (npm, beacon-devnet/)"
scripts/install-lodestar.sh

step "ssv-dkg v3.1.0 (Go, ../shared/peers/ssv-dkg/build.sh)"
scripts/install-ssv-dkg.sh
export SSV_DKG_BIN="$ROOT/.cache/bin/ssv-dkg"

step "cargo fmt --check, cargo clippy -D warnings"
cargo fmt --check
cargo clippy --all-targets --features test-hooks -- -D warnings

step "cargo test"
# Every process the suite starts inherits this marker; whatever still carries it afterwards leaked.
export SSV_AGENT_TEST_RUN="test-all-$$-$RANDOM"
status=0
log="$ROOT/.cache/test-output.log"
mkdir -p "$ROOT/.cache"
# Anvil's default cache folder, never cleaned by anvil: every devnet passes its own --cache-path,
# so nothing new may appear here.
anvil_tmp="$HOME/.foundry/anvil/tmp"
anvil_tmp_before=$(ls "$anvil_tmp" 2>/dev/null | sort || true)
cargo test --features test-hooks --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?

step "processes left behind by the suite"
sleep 1
leaked=$(scripts/leaked-processes.sh "$SSV_AGENT_TEST_RUN" || true)
if [ -n "$leaked" ]; then
  echo "these processes started by the suite are still alive:" >&2
  echo "$leaked" >&2
  status=1
else
  echo "none"
fi

step "files left behind by the suite"
new_anvil_tmp=$(comm -13 <(echo "$anvil_tmp_before") <(ls "$anvil_tmp" 2>/dev/null | sort || true))
if [ -n "$new_anvil_tmp" ]; then
  echo "anvil persisted states under $anvil_tmp (a devnet without --cache-path):" >&2
  echo "$new_anvil_tmp" >&2
  status=1
else
  echo "none"
fi
if [ "$status" != 0 ]; then
  # A failing test's captured output can be long enough that the panic scrolls out of a CI
  # excerpt: repeat each panic, with the lines that follow it, at the end.
  step "why the failing tests failed"
  grep -A12 "panicked at" "$log" | grep -v "^ *[0-9]*: \|^ *at " | cut -c1-600 || true
fi

exit $status
