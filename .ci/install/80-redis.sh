#!/usr/bin/env bash
# Installs redis-server (Debian package redis-server, binary /usr/bin/redis-server, built with
# TLS) for tests/redis_test.ts. Idempotent: a quick no-op when it is already there. The
# package's service is not used: tests start their own redis-server on free loopback ports with
# a temp dir (tests/support/redis_server.ts).
set -euo pipefail

if [ -x /usr/bin/redis-server ] || command -v redis-server >/dev/null 2>&1; then
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
# Do not keep a packaged redis running on the default port: tests start their own.
if command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
if command -v service >/dev/null 2>&1; then $SUDO service redis-server stop >/dev/null 2>&1 || true; fi
/usr/bin/redis-server --version
