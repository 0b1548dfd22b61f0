#!/usr/bin/env bash
# Sets up .venv and Debian's chromium (for the browser tests), then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq </dev/null
  apt-get install -y -qq chromium </dev/null >/dev/null
fi
exec .venv/bin/python -m pytest "$@"
