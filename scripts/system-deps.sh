#!/usr/bin/env bash
# Debian packages the tests, the conversation bench and the deploy checks need (serving needs none), installed only when missing (idempotent, root).
set -euo pipefail
need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
# A throwaway PostgreSQL server for the records-store tests (Debian keeps initdb off PATH).
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
# The conversation bench's caller voices (voxline test).
command -v flite >/dev/null 2>&1 || need+=(flite)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
# Headless Chromium for the page tests (driven by Playwright; it never downloads a browser).
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing system packages: ${need[*]} (run as root or install them)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
