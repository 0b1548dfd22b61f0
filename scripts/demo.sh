#!/usr/bin/env bash
# Sets up .venv, then runs the demo: sample data, embedded sandbox, dashboards served by Voila.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/wamkt demo "$@"
