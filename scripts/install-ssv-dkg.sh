#!/usr/bin/env bash
# Builds ssvlabs' ssv-dkg v3.1.0 (commit 653210cb), the real peer the Go interop tests run against,
# at .cache/bin/ssv-dkg from the source archive in ../shared/peers/ssv-dkg (its build.sh checks the
# archive's SHA-256, builds with `-X main.Version=v3.1.0` and is a no-op when the binary is there).
# Needs Go >= 1.24 and a C compiler (cgo: herumi/bls, blst); Go dependencies come from the Go
# module proxy, pinned by the archive's go.sum. scripts/test-all.sh runs this.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/../shared/peers/ssv-dkg/build.sh"
BIN="$ROOT/.cache/bin/ssv-dkg"

fail() { printf 'install-ssv-dkg: %s\n' "$*" >&2; exit 1; }

[ -x "$BUILD" ] || fail "$BUILD not found: the ssv-dkg source archive lives in ../shared/peers/ssv-dkg beside the repo"
if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -qw v3.1.0; then
  "$BIN" --version
  exit 0
fi
command -v go >/dev/null || fail "no Go toolchain on PATH: install Go >= 1.24 (https://go.dev/dl/) and a C compiler, then rerun"
gover=$(go env GOVERSION | sed 's/^go//')
major=${gover%%.*}; rest=${gover#*.}; minor=${rest%%.*}
if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 24 ]; }; then
  fail "Go $gover is too old: ssv-dkg v3.1.0 needs Go >= 1.24"
fi
command -v "$(go env CC)" >/dev/null || command -v cc >/dev/null || fail "no C compiler (cgo needs gcc or clang)"
# An absolute output path: build.sh resolves a relative one inside its temp dir.
"$BUILD" "$BIN"
