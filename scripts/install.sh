#!/usr/bin/env bash
# Installs everything the formula's tests and demo need on a fresh Debian machine:
# Debian packages (only the missing ones) and a venv keyed by the pinned requirements.
# Prints the venv path on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${GLANCE_TEST_CACHE:-/var/cache/glance-formula}
packages=(docker.io docker-registry debootstrap mariadb-server haproxy cron python3-venv memcached iproute2)
mkdir -p "$cache"
# one installer at a time (the demo, the tests and a benchmark may start together)
exec 9>"$cache/.lock-install"
flock 9

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== apt-get install ${missing[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
fi

py=${PYTHON:-python3.11}
command -v "$py" >/dev/null || py=python3
req_hash=$(cat "$here/requirements-test.txt" <("$py" --version) | sha256sum | cut -c1-12)
venv=${GLANCE_VENV:-$cache/venv-$req_hash}
if [ ! -f "$venv/.complete" ]; then
  echo "== creating $venv" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv" >&2
  "$venv/bin/pip" install -q --upgrade pip >&2
  "$venv/bin/pip" install -q -r "$here/requirements-test.txt" >&2
  touch "$venv/.complete"
fi
echo "$venv"
