#!/usr/bin/env bash
# Installs what the browser tests (tests/test_browser.py) need, once: Debian's chromium (Playwright
# drives it; `playwright install` is never run) with an emoji font for the 👍/👎 buttons in
# screenshots, and axe-core from npm in a cache outside the repository. Idempotent and quiet.
set -euo pipefail

AXE_PREFIX="${KULTURPLAN_NPM_PREFIX:-$HOME/.cache/kulturplan/npm}"
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]} (apt)"
    log="$(mktemp)"
    if ! { $SUDO apt-get update -qq -o Acquire::Retries=5 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -o Acquire::Retries=5 \
            --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        exit 1
    fi
    rm -f "$log"
fi

if [ ! -f "$AXE_PREFIX/node_modules/axe-core/axe.min.js" ]; then
    command -v npm >/dev/null 2>&1 || { echo "npm is needed to install axe-core" >&2; exit 1; }
    echo "installing axe-core@4 into $AXE_PREFIX (npm)"
    mkdir -p "$AXE_PREFIX"
    npm install --silent --no-audit --no-fund --prefix "$AXE_PREFIX" axe-core@4 >/dev/null
fi
