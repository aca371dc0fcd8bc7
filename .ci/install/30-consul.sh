#!/usr/bin/env bash
# Builds a real Consul agent (there is no Debian package) into .cache/bin/consul for the Consul
# registry tests and example. Consul's own go.mod carries `replace` directives, so it cannot be
# `go install`ed directly; instead a throwaway module under .cache/consul-build/ requires the
# pinned release and builds its main package. github.com/hashicorp/consul/api is pinned to a
# version the module proxy serves (the one consul v1.15.4 names is refused by the proxy).
# Skipped when the binary already reports the pinned version.
set -euo pipefail

CONSUL_VERSION="v1.15.4"
CONSUL_API_VERSION="v1.21.1"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT_DIR="$ROOT/.cache/bin"
BIN="$OUT_DIR/consul"
WORK="$ROOT/.cache/consul-build"

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    echo "consul: the go toolchain is not installed" >&2
    exit 1
  fi
fi

# The first line of `consul version` (read whole: piping it into `head` can end consul with
# SIGPIPE, which pipefail turns into a failure).
built_version() {
  local out
  out="$("$BIN" version 2>/dev/null || true)"
  printf '%s\n' "${out%%$'\n'*}"
}

if [ -x "$BIN" ] && [ "$(built_version)" = "Consul ${CONSUL_VERSION}" ]; then
  echo "consul: $BIN ($CONSUL_VERSION) is up to date"
  exit 0
fi

mkdir -p "$OUT_DIR" "$WORK"
echo "consul: building $CONSUL_VERSION into $BIN (first build takes several minutes)"
cd "$WORK"
rm -f go.mod go.sum
cat >go.mod <<MOD
module rpcxcore.local/consulbuild

go 1.22
MOD
cat >tools.go <<'SRC'
//go:build tools

package consulbuild

import _ "github.com/hashicorp/consul"
SRC
export GOFLAGS="-mod=mod"
go get "github.com/hashicorp/consul@${CONSUL_VERSION}" "github.com/hashicorp/consul/api@${CONSUL_API_VERSION}"
go build -trimpath \
  -ldflags "-s -w -X github.com/hashicorp/consul/version.GitVersion=${CONSUL_VERSION#v} -X github.com/hashicorp/consul/version.Version=${CONSUL_VERSION#v} -X github.com/hashicorp/consul/version.VersionPrerelease=" \
  -o "$BIN.tmp" github.com/hashicorp/consul
mv -f "$BIN.tmp" "$BIN"
echo "consul: built $BIN ($(built_version))"
