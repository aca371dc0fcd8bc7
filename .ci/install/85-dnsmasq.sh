#!/usr/bin/env bash
# Installs dnsmasq for tests/dns_test.ts, which starts its own dnsmasq inside a private network
# namespace as the name server whose records change while an XClient calls.
# Idempotent: a quick no-op when dnsmasq is already there. Debian's `dnsmasq-base` is the binary
# alone (no init script, no systemd unit, nothing listening on port 53 after the install); if the
# full `dnsmasq` package is present its service is disabled and stopped, since tests start their own.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

if ! command -v dnsmasq >/dev/null 2>&1 && [ ! -x /usr/sbin/dnsmasq ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends dnsmasq-base >/dev/null
fi

# The full package starts a system-wide dnsmasq: do not keep one running (tests use their own).
if [ -e /etc/init.d/dnsmasq ] || [ -e /lib/systemd/system/dnsmasq.service ]; then
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now dnsmasq >/dev/null 2>&1 || true; fi
  if command -v update-rc.d >/dev/null 2>&1; then $SUDO update-rc.d dnsmasq disable >/dev/null 2>&1 || true; fi
  if [ -x /etc/init.d/dnsmasq ]; then $SUDO /etc/init.d/dnsmasq stop >/dev/null 2>&1 || true; fi
fi

# the tests' network namespace needs unshare and ip (as the mDNS tests)
if ! command -v unshare >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq util-linux iproute2 >/dev/null
fi

"$(command -v dnsmasq || echo /usr/sbin/dnsmasq)" --version | head -1
