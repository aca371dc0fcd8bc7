#!/usr/bin/env bash
# Installs the etcd server (Debian package etcd-server, binary /usr/bin/etcd) for tests/etcd_test.ts.
# Idempotent: a quick no-op when etcd is already there. The package's systemd unit is not used
# (tests start their own etcd on free loopback ports with a temp data dir).
set -euo pipefail

if command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ]; then
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
# Do not keep a packaged etcd running on the default port: tests start their own.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now etcd >/dev/null 2>&1 || true; fi
/usr/bin/etcd --version 2>/dev/null | head -1 || true
