#!/usr/bin/env bash
# Runs a benchmark with the project's venv (installed when missing), as the README shows:
#   bash bench/run.sh throughput.py [args]    bash bench/run.sh apply.py --release 2026.2
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: bash bench/run.sh <benchmark>.py [args]" >&2; exit 2; }
venv=$(bash "$here/scripts/install.sh" | tail -n 1)
script=$1
shift
exec "$venv/bin/python" "$here/bench/${script#bench/}" "$@"
