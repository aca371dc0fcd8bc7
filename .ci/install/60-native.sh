#!/usr/bin/env bash
# Builds the optional native wire codec (native/ -> native/target/release/librpcx_native.so),
# which src/native/native.ts loads with Deno.dlopen. Idempotent: cargo does nothing when the
# library is up to date. Needs cargo (Rust) and crates.io for the first build.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "60-native: cargo not found; install Rust (https://rustup.rs) to build native/" >&2
    exit 1
  fi
fi

cargo build --release --locked --quiet --manifest-path native/Cargo.toml
lib=native/target/release/librpcx_native.so
[ "$(uname -s)" = "Darwin" ] && lib=native/target/release/librpcx_native.dylib
test -f "$lib"
echo "60-native: $lib ready"
