#!/usr/bin/env bash
# What the tests need beyond the two Python environments: Debian's Chromium (browser tests) and nginx
# (the scale-out test). Installed with apt when this runs as root and they are missing; otherwise the
# one command to run is printed and the script stops, so `make test` never half-runs those tests.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing ${missing[*]} for the browser and scale-out tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "the tests need ${missing[*]}: run  sudo apt-get install -y ${missing[*]}  and then make test again" >&2
  exit 1
fi
