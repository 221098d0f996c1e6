#!/usr/bin/env bash
# Installs what the browser tests drive: Chromium (tests/api/browser.rs, over the DevTools
# protocol), Firefox ESR with an Xvfb display to draw on (tests/api/firefox.rs, over WebDriver
# BiDi), and a Chinese font, so that the screenshots the tests write show the pages' Chinese.
#
# Idempotent: installs only what is missing, so CI can call it on every run. Debian's packages
# are used (not browser builds downloaded by a tool) because the package registries are the only
# network our machines reach.
set -euo pipefail

chromium_bin="${CHROMIUM:-/usr/bin/chromium}"
firefox_bin="${FIREFOX:-/usr/bin/firefox-esr}"

missing=()
[ -x "$chromium_bin" ] || missing+=(chromium)
# Firefox draws WebGL with Mesa's software rasteriser on the Xvfb display.
[ -x "$firefox_bin" ] || missing+=(firefox-esr libgl1-mesa-dri libegl1)
[ -x /usr/bin/Xvfb ] || missing+=(xvfb)
# A CJK font: fontconfig lists it for Chinese.
if ! { command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh | grep -q .; }; then
    missing+=(fonts-wqy-zenhei)
fi

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-browser: present: $("$chromium_bin" --version 2>/dev/null || echo chromium), $("$firefox_bin" --version 2>/dev/null || echo firefox), Xvfb, a Chinese font"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "install-browser: not root and no sudo: install the Debian packages ${missing[*]} by hand" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update
"${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"

for bin in "$chromium_bin" "$firefox_bin" /usr/bin/Xvfb; do
    if [ ! -x "$bin" ]; then
        echo "install-browser: apt-get finished but $bin is missing" >&2
        exit 1
    fi
done
echo "install-browser: installed ${missing[*]}"
