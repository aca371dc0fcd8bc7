#!/usr/bin/env bash
# mDNS tests: an independent DNS-SD browser (python-zeroconf) to check our records, and
# iproute2/util-linux for the private network namespace the tests run in.
set -euo pipefail

if ! command -v unshare >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq util-linux iproute2 >/dev/null
fi

if ! python3 -c 'import zeroconf' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'zeroconf>=0.131,<1'
fi

python3 -c 'import zeroconf; print("mdns: python zeroconf", zeroconf.__version__)'

# Go rpcx's own mDNS code, run against ours by tests/mdns_test.ts: fetch its modules now (the test
# builds tests/support/mdns_upstream into .cache/ and runs it inside a namespace without network).
if command -v go >/dev/null 2>&1; then
  (cd "$(dirname "$0")/../../tests/support/mdns_upstream" && go mod download)
  echo "mdns: Go rpcx modules for tests/support/mdns_upstream are in the module cache"
fi
