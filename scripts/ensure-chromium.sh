#!/usr/bin/env bash
# Make sure Debian's Chromium is at /usr/bin/chromium for the admin pages' browser test
# (tests/e2e/test_admin_browser.py drives it with Playwright). Installs it with apt-get when it
# is missing and we may; otherwise says so, and that test skips with the same reason.
set -u

say() { printf '[chromium] %s\n' "$*"; }

if [ -x /usr/bin/chromium ]; then
    say "Chromium is installed: $(/usr/bin/chromium --version 2>/dev/null | head -n 1)"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    say "no /usr/bin/chromium and no apt-get: the browser test will be skipped"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    say "no /usr/bin/chromium and no root to install it (apt-get install chromium):" \
        "the browser test will be skipped"
    exit 0
fi

say "installing Debian's chromium (apt-get; takes a minute)"
if ${as_root[@]+"${as_root[@]}"} apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive ${as_root[@]+"${as_root[@]}"} \
        apt-get install -y -qq chromium >/dev/null; then
    say "installed: $(/usr/bin/chromium --version 2>/dev/null | head -n 1)"
else
    say "apt-get install chromium failed: the browser test will be skipped"
fi
exit 0
