#!/usr/bin/env bash
# Install everything (Python packages, and Debian's Chromium for the browser test) and run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
python3 -m pip install -q -r requirements-dev.txt
exec python3 -m pytest "$@"
