#!/usr/bin/env bash
# Programs that some tests drive for real: LibreOffice (partner CSVs opened by a real
# spreadsheet program) and Chromium (the public report opened by a headless browser).
# Idempotent: does nothing when they are present. Needs root (apt-get); without root it
# says what to install and leaves the decision to the tests (which skip outside CI).
set -euo pipefail
need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: not root; please install: ${need[*]}" >&2
  exit 0
fi
echo "install-system-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" fonts-dejavu-core >/dev/null
