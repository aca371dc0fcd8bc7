#!/usr/bin/env bash
# Builds Go's own rpcx-examples programs (tests/interop/go-examples: the upstream files unchanged,
# UPSTREAM.blobs names their commit and git blob ids) into .cache/bin/goex/<example>-<side> for
# tests/go_examples_test.ts. Only the programs that test runs; rebuilt when any is missing or the
# hash changes: the sources, the Go version, GOFLAGS, the build flags and this script itself
# (stored in .cache/bin/goex/.hash, removed before a rebuild and written only once every binary is
# built, so a failed or interrupted build is redone next time). Built two at a time (GOEX_JOBS).
# GOEX_OUT overrides the output directory. Modules come from the Go module proxy
# (github.com/smallnest/rpcx v1.9.4, as the Go peer).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
ROOT="$(cd "$HERE/../.." && pwd)"
SRC="$ROOT/tests/interop/go-examples"
OUT="${GOEX_OUT:-$ROOT/.cache/bin/goex}"
JOBS="${GOEX_JOBS:-2}"
LDFLAGS="-s -w"
PROGRAMS="oneclient pool sticky reflection restart graceful_restart tcpcopy handler broadcast filetransfer file_download stream"

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
    echo "GOFLAGS=${GOFLAGS:-}"
    echo "$PROGRAMS $LDFLAGS"
    echo "== script"
    cat "$SELF"
    for f in go.mod go.sum $(find . -name '*.go' | LC_ALL=C sort); do
      echo "== $f"
      cat "$f"
    done
  } | sha256sum | cut -d' ' -f1
)"
targets=()
for p in $PROGRAMS; do
  for side in client server; do targets+=("$p/$side"); done
done

complete=1
for t in "${targets[@]}"; do
  [ -x "$OUT/${t/\//-}" ] || complete=0
done
if [ "$complete" = 1 ] && [ -f "$OUT/.hash" ] && [ "$(cat "$OUT/.hash")" = "$hash" ]; then
  echo "goexamples: $OUT is up to date"
  exit 0
fi

mkdir -p "$OUT"
rm -f "$OUT/.hash"
cd "$SRC"
build_one() {
  local t="$1" bin="$OUT/${1/\//-}"
  echo "goexamples: building $t"
  GOFLAGS="${GOFLAGS:-} -mod=readonly" go build -trimpath -ldflags="$LDFLAGS" -o "$bin.tmp" "./$t" &&
    mv -f "$bin.tmp" "$bin"
}
export -f build_one
export OUT LDFLAGS
# A failed build exits 255, which stops xargs (no new build starts) and makes it fail: set -e
# stops here and .hash stays absent.
printf '%s\n' "${targets[@]}" | xargs -P "$JOBS" -I{} bash -c 'build_one "$1" || exit 255' _ {}
echo "$hash" >"$OUT/.hash"
echo "goexamples: built $(echo "$PROGRAMS" | wc -w) programs x 2 into $OUT"
