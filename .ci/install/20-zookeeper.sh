#!/usr/bin/env bash
# Installs Apache ZooKeeper (Debian packages zookeeper + libzookeeper-java) and a Java runtime for
# tests/zookeeper_test.ts. Idempotent: a quick no-op when the server jar and java are there.
# Nothing is started here: tests launch their own ZooKeeperServerMain on a free loopback port with
# a temp data dir (tests/support/zookeeper_server.ts).
set -euo pipefail

have() {
  [ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null 2>&1
}

if have; then
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
pkgs=(zookeeper libzookeeper-java libslf4j-java)
if ! command -v java >/dev/null 2>&1; then pkgs+=(default-jre-headless); fi
$SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
# Do not keep a packaged ZooKeeper running on the default port: tests start their own.
if command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now zookeeper >/dev/null 2>&1 || true
fi
have
echo "zookeeper: $(ls /usr/share/java/zookeeper-3*.jar 2>/dev/null | head -1)"
