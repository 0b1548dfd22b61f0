#!/usr/bin/env bash
# Sets up .venv, Debian's chromium (for the browser tests) and Debian's postgresql (the tests start
# their own throw-away server from its binaries), then runs the static checks (ruff, mypy, import-linter)
# and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq </dev/null
  apt-get install -y -qq chromium </dev/null >/dev/null
fi
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing Debian's postgresql for the PostgreSQL tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq </dev/null
  apt-get install -y -qq postgresql </dev/null >/dev/null
fi
# the static checks first, each stopping the run with what failed (configured in pyproject.toml)
check() {
  local what=$1; shift
  if ! "$@"; then
    echo "scripts/test.sh: $what failed ($*); fix the findings above before the tests run" >&2
    exit 1
  fi
}
check "ruff lint" .venv/bin/ruff check .
check "ruff format" .venv/bin/ruff format --check .
check "mypy" .venv/bin/mypy
check "the import layers" .venv/bin/lint-imports
# two processes (pytest-xdist), each taking a whole test file at a time so a file's module fixtures
# (a JupyterLab or Voila server, a browser) start once; each process starts its own PostgreSQL server.
# Arguments come after these: `bash scripts/test.sh -n 0 ...` runs in this one process.
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
