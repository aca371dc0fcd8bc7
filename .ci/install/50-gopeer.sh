#!/usr/bin/env bash
# Builds the Go rpcx peer (tests/interop/go, binary rpcxpeer) into .cache/bin/ for the interop
# tests and the head-to-head benchmark. Rebuilt only when the hash of the Go sources
# (go.mod, go.sum, *.go) or of the Go version changes; the hash is stored next to the binary.
# Modules come from the Go module proxy into the default GOPATH module cache (outside the repo).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SRC="$ROOT/tests/interop/go"
OUT_DIR="$ROOT/.cache/bin"
BIN="$OUT_DIR/rpcxpeer"
HASH_FILE="$BIN.hash"

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    echo "gopeer: the go toolchain is not installed (need go >= 1.26 for github.com/smallnest/rpcx v1.9.4)" >&2
    exit 1
  fi
fi

hash="$(
  cd "$SRC"
  {
    go version
    for f in go.mod go.sum $(ls -1 ./*.go | LC_ALL=C sort); do
      echo "== $f"
      cat "$f"
    done
  } | sha256sum | cut -d' ' -f1
)"

if [ -x "$BIN" ] && [ -f "$HASH_FILE" ] && [ "$(cat "$HASH_FILE")" = "$hash" ]; then
  echo "gopeer: $BIN is up to date"
  exit 0
fi

mkdir -p "$OUT_DIR"
echo "gopeer: building $BIN"
(
  cd "$SRC"
  GOFLAGS="${GOFLAGS:-} -mod=readonly" go build -trimpath -o "$BIN.tmp" .
)
mv -f "$BIN.tmp" "$BIN"
echo "$hash" >"$HASH_FILE"
echo "gopeer: built $BIN"
