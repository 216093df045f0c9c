#!/usr/bin/env bash
# The test command (README and CI): installs what is missing, lints, then runs
# every tier: unit, render (real salt-call), integration (real dockerd, registry,
# MariaDB, salt-master + 3 minions, Glance). Extra arguments go to pytest,
# e.g. `bash scripts/test.sh -m unit` or `bash scripts/test.sh test/render`. The
# integration tier runs in one pytest-xdist worker, unit and render in another.
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
# two workers (pytest-xdist): the integration tier in one, unit + render beside it
python -m pytest -n "${GLANCE_TEST_WORKERS:-2}" --dist loadgroup "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
