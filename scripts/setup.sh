#!/usr/bin/env bash
# Creates .venv and installs wamkt_nb with its test extras at the versions the suite was tested with
# (constraints.txt); re-installs only when pyproject.toml or constraints.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c "import ensurepip, venv" 2>/dev/null; then  # Debian's python3 ships venv separately
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's python3-venv" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq </dev/null
    apt-get install -y -qq python3-venv </dev/null >/dev/null
  else
    echo "$PY cannot create virtual environments: install python3-venv (sudo apt-get install python3-venv)" >&2
    exit 1
  fi
fi
if ! .venv/bin/python -m pip --version >/dev/null 2>&1; then  # none yet, or a half-made one
  rm -rf .venv
  "$PY" -m venv .venv
fi
stamp=.venv/.wamkt-installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[test]"
  echo "$want" > "$stamp"
fi
