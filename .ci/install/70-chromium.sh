#!/usr/bin/env bash
# Installs Debian's chromium for the admin page test (tests/ui_test.ts drives it headless with
# puppeteer-core). Idempotent: a quick no-op when chromium is there.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium >/dev/null
echo "chromium: $(chromium --version 2>/dev/null || echo installed)"
