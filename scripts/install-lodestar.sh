#!/usr/bin/env bash
# Installs the devnet's real beacon node: Lodestar 1.5.1 as pinned in beacon-devnet/ (package.json,
# pnpm-lock.yaml, the eth1-tracker patch in patches/). Idempotent and cached: a second run with
# unchanged inputs only checks and exits; pnpm's store makes reinstalls work offline.
#
# Needs Node.js >= 20 and npm (the npm registry only). pnpm is used because npm exits 1 without a
# message on this registry's partial Lodestar dependency tree, and because patchedDependencies
# applies and records the tracker patch. If no pnpm of the pinned version is on PATH, it is installed
# with npm into beacon-devnet/.tools (not globally).
set -euo pipefail

PNPM_VERSION=9.15.9
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/beacon-devnet"
STAMP="$DIR/node_modules/.ssv-agent-install-stamp"

say() { printf 'install-lodestar: %s\n' "$*"; }
die() { printf 'install-lodestar: error: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null || die "node is not on PATH: install Node.js 20+ (e.g. apt-get install nodejs npm)"
command -v npm >/dev/null || die "npm is not on PATH: install npm (e.g. apt-get install npm)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js $(node --version) is too old: Lodestar's launcher needs 20+"

# The inputs that decide what is installed; the stamp records them after a verified install.
inputs_hash() {
  (cd "$DIR" && cat package.json pnpm-lock.yaml patches/*.patch lodestar.mjs) | sha256sum | cut -d' ' -f1
}

patch_applied() {
  # The patch adds these environment knobs to the eth1 tracker and the sync state; a stale or
  # unpatched tree lacks them.
  local tracker
  tracker="$(ls -d "$DIR"/node_modules/.pnpm/@lodestar+beacon-node@1.5.1_patch_hash=*/node_modules/@lodestar/beacon-node/lib/eth1/eth1DepositDataTracker.js 2>/dev/null | head -n1)"
  [ -n "$tracker" ] && grep -q SSV_DEVNET_ETH1_MIN_FOLLOW "$tracker" \
    && grep -q SSV_DEVNET_SLOT_IMPORT_TOLERANCE "$(dirname "$tracker")/../sync/sync.js"
}

want="$(inputs_hash)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && patch_applied; then
  say "Lodestar 1.5.1 already installed in $DIR (inputs unchanged)"
  exit 0
fi

pnpm_bin=""
if command -v pnpm >/dev/null && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
  pnpm_bin="$(command -v pnpm)"
elif [ -x "$DIR/.tools/node_modules/.bin/pnpm" ] && [ "$("$DIR/.tools/node_modules/.bin/pnpm" --version)" = "$PNPM_VERSION" ]; then
  pnpm_bin="$DIR/.tools/node_modules/.bin/pnpm"
else
  say "installing pnpm $PNPM_VERSION with npm into $DIR/.tools"
  mkdir -p "$DIR/.tools"
  npm install --prefix "$DIR/.tools" --no-audit --no-fund --no-save "pnpm@$PNPM_VERSION" >/dev/null
  pnpm_bin="$DIR/.tools/node_modules/.bin/pnpm"
  [ "$("$pnpm_bin" --version)" = "$PNPM_VERSION" ] || die "pnpm $PNPM_VERSION did not install into $DIR/.tools"
fi

say "installing the pinned Lodestar tree in $DIR (cold: about a minute of native builds)"
# --frozen-lockfile: exactly the committed tree; --prefer-offline: the store first, the registry only for misses.
(cd "$DIR" && CI=true "$pnpm_bin" install --frozen-lockfile --prefer-offline --reporter=append-only) \
  || die "pnpm install failed in $DIR"

patch_applied || die "the eth1 tracker patch (patches/) is not applied after install"
version="$(cd "$DIR" && node lodestar.mjs --version 2>/dev/null | grep -m1 -o 'v1\.5\.1[^ ]*' || true)"
case "$version" in
  *1.5.1*) ;;
  *) die "node lodestar.mjs --version did not report v1.5.1: the launcher or the tree is broken" ;;
esac

printf '%s\n' "$want" > "$STAMP"
say "Lodestar installed: $version"
