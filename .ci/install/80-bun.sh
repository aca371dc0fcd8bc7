#!/usr/bin/env bash
# Installs Bun from the npm registry (package `bun`, which brings the binary for this platform)
# into .cache/bun/ for the tests that run the package under Bun (tests/runtime_test.ts,
# tests/npm_test.ts; they find it at .cache/bun/node_modules/.bin/bun). Idempotent: a quick
# no-op when that version is there. BUN_PREFIX installs elsewhere (a worktree whose .cache is
# shared with another checkout).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VERSION="1.4.5"
PREFIX="${BUN_PREFIX:-$ROOT/.cache/bun}"
BIN="$PREFIX/node_modules/.bin/bun"

if [ -x "$BIN" ] && [ "$("$BIN" --version 2>/dev/null)" = "$VERSION" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "80-bun: npm is not installed (Bun comes from the npm registry)" >&2
  exit 1
fi
mkdir -p "$PREFIX"
# The package's postinstall puts the platform binary (from @oven/bun-<os>-<arch>) in place.
npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error --foreground-scripts \
  "bun@$VERSION" >/dev/null
test "$("$BIN" --version)" = "$VERSION"
echo "80-bun: bun $VERSION at $BIN"
