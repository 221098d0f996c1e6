#!/usr/bin/env bash
# Installs the headless browser that tests/api/graphiql.rs drives over the DevTools protocol.
#
# Idempotent: does nothing when Chromium is already there, so CI can call it on every run.
# Debian's package is used (not a browser build downloaded by a tool) because the package
# registries are the only network our machines reach.
set -euo pipefail

chromium_bin="${CHROMIUM:-/usr/bin/chromium}"

if [ -x "$chromium_bin" ]; then
    echo "install-browser: $chromium_bin already present: $("$chromium_bin" --version 2>/dev/null || echo 'version unknown')"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "install-browser: not root and no sudo: install the Debian package 'chromium' by hand" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update
"${as_root[@]}" apt-get install -y --no-install-recommends chromium

if [ ! -x /usr/bin/chromium ]; then
    echo "install-browser: apt-get finished but /usr/bin/chromium is missing" >&2
    exit 1
fi
echo "install-browser: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
