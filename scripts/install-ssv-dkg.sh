#!/usr/bin/env bash
# Builds ssvlabs' ssv-dkg v3.1.0 (the reference implementation the interop tests run against) into
# .cache/bin/ssv-dkg. The v3.1.0 tag cannot be installed by tag (its go.mod lacks the /v3 suffix),
# so it is installed by commit through the Go module proxy, with the version string set by ldflags
# because peers compare it byte for byte. Skips the build when the binary already reports v3.1.0.
# Needs Go >= 1.25.9 (go fetches a newer toolchain through the proxy if needed) and a C compiler
# (herumi/bls and blst are cgo).
set -euo pipefail

COMMIT=653210cbfddeaf05ff514e084c5a1ab18469b7d1
VERSION=v3.1.0
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN_DIR="$ROOT/.cache/bin"
BIN="$BIN_DIR/ssv-dkg"

if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -qw "$VERSION"; then
  echo "ssv-dkg $VERSION already at $BIN"
  exit 0
fi

command -v go >/dev/null || { echo "install-ssv-dkg: go is not installed (need Go >= 1.25.9)" >&2; exit 1; }
command -v gcc >/dev/null || command -v cc >/dev/null || {
  echo "install-ssv-dkg: no C compiler; install gcc (apt-get install -y gcc)" >&2; exit 1; }

mkdir -p "$BIN_DIR"
echo "building ssv-dkg $VERSION ($COMMIT) with $(go env GOVERSION) ..."
if ! GOBIN="$BIN_DIR" CGO_ENABLED=1 GOFLAGS=-mod=mod \
  go install -ldflags "-X main.Version=$VERSION" \
  "github.com/ssvlabs/ssv-dkg/cmd/ssv-dkg@$COMMIT"; then
  echo "install-ssv-dkg: go install failed; if the module proxy answered 403 for" >&2
  echo "github.com/ssvlabs/ssv-dkg it does not serve that module here. Alternatively build the same" >&2
  echo "commit from a checkout with: go build -ldflags \"-X main.Version=$VERSION\" -o $BIN ./cmd/ssv-dkg" >&2
  echo "(or point SSV_DKG_BIN at such a binary)." >&2
  exit 1
fi

if ! "$BIN" --version 2>/dev/null | grep -qw "$VERSION"; then
  echo "install-ssv-dkg: built binary does not report $VERSION: $("$BIN" --version 2>&1 || true)" >&2
  exit 1
fi
echo "ssv-dkg $VERSION installed at $BIN"
