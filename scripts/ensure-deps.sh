#!/usr/bin/env bash
# Installs what the demo and the test suite need beyond the Rust toolchain, only when missing.
# Safe to run repeatedly; uses Debian packages and PyPI only.
set -euo pipefail

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-venv)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
# The buyer's browser in the hosted-page tests and the demo: Debian's Chromium and its
# WebDriver (never a browser download).
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
# libfaketime: the chaos run shifts one switch instance's wall clock with it (--clock-skew-ms).
command -v faketime >/dev/null 2>&1 || need_apt+=(faketime)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "ensure-deps: installing ${need_apt[*]} from Debian packages" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# A private Python environment for the differential and SDK interop tests.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/target/pyenv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" 2>/dev/null || { python3 -m pip install --quiet virtualenv && python3 -m virtualenv -q "$venv"; }
fi
if ! "$venv/bin/python" -c 'import iso8583, com.alipay.ams.api, schemathesis, standardwebhooks' 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/scripts/requirements-test.txt"
fi
