#!/usr/bin/env bash
# Compiles the lock files (exact versions with hashes) from the human-edited inputs, with uv
# (`uv pip compile --generate-hashes`, a maintained resolver; pip installs the result with
# --require-hashes). `make lock` runs it; scripts/bootstrap.sh runs it by itself when an input changed.
#
#   application environment (.venv):  app.txt             -> app.lock   (runtime)
#                                      test.txt (-r app.txt) -> test.lock  (runtime + tests, dev tools;
#                                      the runtime packages constrained to app.lock's versions)
#   Rasa environment (.venv-rasa):     rasa.txt            -> rasa.lock
#                                      rasa-test.txt       -> rasa-test.lock (constrained by rasa.lock)
#                                      both with rasa-overrides.txt (uv --override, see that file)
#
# An existing lock is uv's preference, so re-locking after a new line keeps every other version.
# Each lock carries the sha256 of its group's inputs ("# inputs: ..."), which bootstrap compares.
# Usage: scripts/lock.sh [app|rasa ...]   (default: both groups)   Upgrade all: LOCK_UPGRADE=1
set -euo pipefail
cd "$(dirname "$0")/.."
R=requirements
UV=.venv/bin/uv
[ -x "$UV" ] || UV=$(command -v uv) || { echo "scripts/lock.sh needs uv (.venv/bin/uv)" >&2; exit 1; }

inputs_hash() { cat "$@" | sha256sum | cut -d' ' -f1; }
APP_INPUTS=("$R/app.txt" "$R/test.txt")
RASA_INPUTS=("$R/rasa.txt" "$R/rasa-test.txt" "$R/rasa-overrides.txt")

# The package sources pip is configured with on this machine kind (pip.conf: the local wheel of the
# CPU torch build, local package mirrors), so that uv resolves what pip will install.
sources=()
PIP=.venv/bin/pip
[ -x "$PIP" ] || PIP="python3 -m pip"
pip_cfg() { $PIP config list 2>/dev/null | sed -n "s/^global\.$1='\(.*\)'$/\1/p"; }
for link in $(pip_cfg find-links); do sources+=(--find-links "$link"); done
for index in $(pip_cfg extra-index-url); do sources+=(--extra-index-url "$index"); done

compile() { # output input... [uv options]
  local out=$1 hash=$2
  shift 2
  local upgrade=()
  [ -n "${LOCK_UPGRADE:-}" ] && upgrade=(--upgrade)
  "$UV" pip compile -q --generate-hashes --python-version 3.11 --index-strategy unsafe-best-match \
    --custom-compile-command "make lock" "${sources[@]}" "${upgrade[@]}" -o "$out" "$@"
  sed -i "1i # inputs: $hash" "$out"
  sed -i '2,${/^# inputs: /d}' "$out"
}

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(app rasa)
for group in "${groups[@]}"; do
  case $group in
    app)
      h=$(inputs_hash "${APP_INPUTS[@]}")
      echo "==> locking the application environment: $R/app.lock, $R/test.lock"
      compile "$R/app.lock" "$h" "$R/app.txt"
      compile "$R/test.lock" "$h" "$R/test.txt" -c "$R/app.lock"
      ;;
    rasa)
      h=$(inputs_hash "${RASA_INPUTS[@]}")
      echo "==> locking the Rasa environment: $R/rasa.lock, $R/rasa-test.lock"
      # uv ignores rasa's Requires-Python upper bound; the override moves matplotlib to a 3.11 wheel.
      compile "$R/rasa.lock" "$h" "$R/rasa.txt" --override "$R/rasa-overrides.txt"
      compile "$R/rasa-test.lock" "$h" "$R/rasa-test.txt" -c "$R/rasa.lock" \
        --override "$R/rasa-overrides.txt"
      ;;
    *)
      echo "usage: scripts/lock.sh [app|rasa ...]" >&2
      exit 2
      ;;
  esac
done
