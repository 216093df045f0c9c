#!/usr/bin/env bash
# README's first command: install what is missing, then deploy a single-node Glance
# (file backend, Keystone on, newest release) through a real salt-master and minion,
# and print its URL and credentials. `bash scripts/demo.sh stop` stops it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
log=${GLANCE_DEMO_LOG:-${GLANCE_DEMO_DIR:-/var/lib/glance-formula-demo}/demo.log}
mkdir -p "$(dirname "$log")"
export GLANCE_DEMO_LOG=$log
start=$SECONDS
printf '[0] packages and Python venv ...'
venv=$(bash "$here/scripts/install.sh" 2>>"$log" | tail -n 1)
echo " $((SECONDS - start)) s"
exec "$venv/bin/python" "$here/scripts/demo.py" "${@:-deploy}"
