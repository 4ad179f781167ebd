#!/usr/bin/env bash
# Checks for ssvlabs' ssv-dkg v3.1.0 (commit 653210cbfddeaf05ff514e084c5a1ab18469b7d1), the reference
# implementation the Go interop tests run against, at .cache/bin/ssv-dkg.
#
# It cannot be installed from the package registries: the Go module proxy answers
#   403 "This module version is not available"
# for github.com/ssvlabs/ssv-dkg at every version (by tag the v3 tag is unusable anyway: its go.mod
# lacks the /v3 suffix; by commit the proxy refuses). Its dependencies are served. So this script
# only reports: exit 0 when a binary reporting v3.1.0 is present, exit 1 with the manual steps
# otherwise. It is not part of scripts/test-all.sh; the tests that need the binary are #[ignore]d
# with this reason and run with `cargo test --test dkg_interop_go -- --ignored`.
set -euo pipefail

COMMIT=653210cbfddeaf05ff514e084c5a1ab18469b7d1
VERSION=v3.1.0
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/.cache/bin/ssv-dkg"

if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -qw "$VERSION"; then
  echo "ssv-dkg $VERSION present at $BIN"
  exit 0
fi

cat >&2 <<EOF
install-ssv-dkg: no ssv-dkg $VERSION at $BIN, and it cannot be installed from a registry:
the Go module proxy refuses github.com/ssvlabs/ssv-dkg (403 "This module version is not available").
To run the Go interop tests, build it yourself from a source checkout of github.com/ssvlabs/ssv-dkg
at commit $COMMIT (tag $VERSION), with Go >= 1.25.9 and gcc (cgo: herumi/bls, blst):
  CGO_ENABLED=1 go build -ldflags "-X main.Version=$VERSION" -o $BIN ./cmd/ssv-dkg
(the version string must be set: peers compare it byte for byte), then run
  cargo test --test dkg_interop_go -- --ignored
EOF
exit 1
