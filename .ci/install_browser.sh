#!/usr/bin/env bash
# Install what tests/test_browser.py needs from Debian: headless Chromium, a Hangul (CJK) font
# (NanumGothic, small) and a colour emoji font (the check cells' ✅ ⏳ ❌ in screenshots).
#
# - Idempotent: when /usr/bin/chromium, a Korean font and an emoji font are there, it does nothing.
# - Quiet: apt's progress goes to a log that is printed only when something fails.
# - Loud on error: any failing step exits non-zero with the log.
# Playwright's own browser download (`playwright install`) is never used: the tests drive Debian's
# chromium through the Playwright Python package (executable_path=/usr/bin/chromium).
set -euo pipefail

have_font() { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=ko family 2>/dev/null)" ]; }
have_emoji() { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list ':charset=2705' family 2>/dev/null)" ]; }

if [ -x /usr/bin/chromium ] && have_font && have_emoji; then
    echo "install_browser: chromium, a Korean font and an emoji font already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

log="$(mktemp -t install_browser.XXXXXX.log)"
trap 'status=$?; if [ $status -ne 0 ]; then echo "install_browser: FAILED (exit $status); apt log:" >&2; cat "$log" >&2; fi; rm -f "$log"' EXIT

start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >"$log" 2>&1
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-nanum fonts-noto-color-emoji fontconfig >>"$log" 2>&1

[ -x /usr/bin/chromium ] || { echo "install_browser: /usr/bin/chromium missing after install" >&2; exit 1; }
fc-cache -f >/dev/null 2>&1 || true
have_font || { echo "install_browser: no Korean font visible to fontconfig after install" >&2; exit 1; }
have_emoji || { echo "install_browser: no emoji font visible to fontconfig after install" >&2; exit 1; }

echo "install_browser: $(/usr/bin/chromium --version 2>/dev/null | head -n1), font: $(fc-list :lang=ko family | head -n1) ($(( $(date +%s) - start )) s)"
