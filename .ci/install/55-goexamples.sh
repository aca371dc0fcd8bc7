#!/usr/bin/env bash
# Builds Go's own rpcx-examples programs (tests/interop/go-examples: the upstream files unchanged,
# UPSTREAM.blobs names their commit and git blob ids) into .cache/bin/goex/<example>-<side> for
# tests/go_examples_test.ts. Only the programs that test runs; rebuilt only when the hash of the
# sources or of the Go version changes (stored in .cache/bin/goex/.hash). Modules come from the Go
# module proxy (github.com/smallnest/rpcx v1.9.4, as the Go peer).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SRC="$ROOT/tests/interop/go-examples"
OUT="$ROOT/.cache/bin/goex"
PROGRAMS="oneclient pool sticky reflection restart graceful_restart tcpcopy handler broadcast"

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    echo "goexamples: the go toolchain is not installed (need go >= 1.26 for github.com/smallnest/rpcx v1.9.4)" >&2
    exit 1
  fi
fi

hash="$(
  cd "$SRC"
  {
    go version
    echo "$PROGRAMS -s -w"
    for f in go.mod go.sum $(find . -name '*.go' | LC_ALL=C sort); do
      echo "== $f"
      cat "$f"
    done
  } | sha256sum | cut -d' ' -f1
)"
if [ -f "$OUT/.hash" ] && [ "$(cat "$OUT/.hash")" = "$hash" ]; then
  echo "goexamples: $OUT is up to date"
  exit 0
fi

mkdir -p "$OUT"
cd "$SRC"
for p in $PROGRAMS; do
  for side in client server; do
    echo "goexamples: building $p/$side"
    GOFLAGS="${GOFLAGS:-} -mod=readonly" go build -trimpath -ldflags="-s -w" -o "$OUT/$p-$side.tmp" "./$p/$side"
    mv -f "$OUT/$p-$side.tmp" "$OUT/$p-$side"
  done
done
echo "$hash" >"$OUT/.hash"
echo "goexamples: built $(echo "$PROGRAMS" | wc -w) programs x 2 into $OUT"
