#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests (`pytest -m browser`).
#
# Idempotent: does nothing when /usr/bin/chromium is already there. As root it
# runs `apt-get update` once and installs the `chromium` package without its
# recommends (about 370 MB, under a minute). Where it cannot install (not root,
# no apt-get, no network to the Debian mirror) it says why and exits 0: the
# browser tests then skip with a message naming this script.
set -uo pipefail

CHROMIUM=/usr/bin/chromium

if [[ -x "$CHROMIUM" ]]; then
    echo "install-browser: $("$CHROMIUM" --version 2>/dev/null || echo chromium) already installed"
    exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
    echo "install-browser: not root, cannot apt-get install chromium;" \
        "the browser tests will skip (install it with: sudo apt-get install chromium)"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: apt-get not found (not a Debian-like system);" \
        "the browser tests will skip unless $CHROMIUM is provided"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-browser: installing Debian's chromium with apt-get"
if ! apt-get update -qq; then
    echo "install-browser: apt-get update failed; the browser tests will skip"
    exit 0
fi
if ! apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
    echo "install-browser: apt-get install chromium failed; the browser tests will skip"
    exit 0
fi

if [[ -x "$CHROMIUM" ]]; then
    echo "install-browser: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
else
    echo "install-browser: the chromium package installed no $CHROMIUM;" \
        "the browser tests will skip"
fi
exit 0
