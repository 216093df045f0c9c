#!/usr/bin/env bash
# The test command (README and CI): installs what is missing, lints, then runs
# every tier: unit, render (real salt-call), integration (real dockerd, registry,
# MariaDB, salt-master + 3 minions, Glance). Extra arguments go to pytest,
# e.g. `bash scripts/test.sh -m unit` or `bash scripts/test.sh test/render`. Without
# arguments, unit + render run beside the integration tier (two pytest runs).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
venv=$(bash scripts/install.sh | tail -n 1)
export PATH="$venv/bin:$PATH"

echo "== lint"
yamllint -s .
salt-lint $(git ls-files '*.sls' 2>/dev/null || find glance -name '*.sls')

echo "== pytest"
set +e
if [ $# -gt 0 ]; then
  python -m pytest "$@"
  rc=$?
  if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests" >&2
    exit 1
  fi
  exit "$rc"
fi
# The whole suite: unit + render (CPU-bound, no daemons, ~4.5 min) run beside the
# integration tier (one stack: real daemons, mostly waiting on containers) as a
# second pytest run; its report follows the integration tier's.
fast_log=$(mktemp)
python -m pytest -m "unit or render" >"$fast_log" 2>&1 &
fast=$!
trap 'kill "$fast" 2>/dev/null; rm -f "$fast_log"' EXIT
python -m pytest -m integration
rc=$?
wait "$fast"
fast_rc=$?
trap 'rm -f "$fast_log"' EXIT
echo "== unit + render (ran beside the integration tier)"
cat "$fast_log"
for code in "$rc" "$fast_rc"; do
  if [ "$code" -eq 5 ]; then
    echo "pytest collected no tests" >&2
    exit 1
  fi
done
[ "$rc" -ne 0 ] && exit "$rc"
exit "$fast_rc"
