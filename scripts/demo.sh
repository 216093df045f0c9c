#!/usr/bin/env bash
# README's first command: install what is missing, then deploy a single-node Glance
# (file backend) with the formula and print its URL. `bash scripts/demo.sh stop` stops it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=$(bash "$here/scripts/install.sh" | tail -n 1)
exec "$venv/bin/python" "$here/scripts/demo.py" "${@:-deploy}"
