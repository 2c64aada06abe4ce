#!/usr/bin/env bash
# Creates the two Python environments (see ../shared/INSTALL-NOTES.md for why there are two).
# Installs from the lock files (requirements/*.lock, exact versions with hashes; `make lock` writes them).
# Idempotent: each environment carries a stamp with the hash of its lock file, and is only
# (re)installed when that changes. No apt step; nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3

stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- lock files -------------------------------------------------------------------------------
# Both environments install from lock files with hashes (requirements/*.lock, written by
# scripts/lock.sh from the human-edited requirements/*.txt). An input edited since its lock was
# compiled is locked again first (uv keeps every other version): commit the new lock with it.
relock=()
lock_matches() { grep -qx "# inputs: $(stamp_of "${@:2}")" "requirements/$1"; }
lock_matches test.lock requirements/app.txt requirements/test.txt || relock+=(app)
lock_matches rasa-test.lock requirements/rasa.txt requirements/rasa-test.txt requirements/rasa-overrides.txt \
  || relock+=(rasa)
if [ ${#relock[@]} -gt 0 ]; then
  echo "==> requirements changed since their lock (${relock[*]}): re-locking; commit requirements/*.lock"
  [ -x .venv/bin/uv ] || { [ -x .venv/bin/python ] || "$PY" -m venv .venv; .venv/bin/pip install -q uv; }
  bash scripts/lock.sh "${relock[@]}"
fi

# DAOGOU_RUNTIME_ONLY=1 installs the runtime locks only (app.lock, rasa.lock: no test tools).
if [ -n "${DAOGOU_RUNTIME_ONLY:-}" ]; then APP_LOCK=app.lock RASA_LOCK=rasa.lock; else APP_LOCK=test.lock RASA_LOCK=rasa-test.lock; fi

# --- application environment (.venv) -------------------------------------------------------
app_hash=$(stamp_of "requirements/$APP_LOCK" pyproject.toml)
if [ "$(cat .venv/.stamp 2>/dev/null)" != "$app_hash" ]; then
  echo "==> installing the application environment (.venv) from requirements/$APP_LOCK"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  # Every package pinned with its hashes; the torch pin in the lock is the local CPU wheel.
  .venv/bin/pip install -q --require-hashes -r "requirements/$APP_LOCK"
  # compat mode puts the project root on sys.path, so packages added later import without reinstalling;
  # no build isolation: the build uses the locked setuptools instead of fetching one.
  .venv/bin/pip install -q --no-deps --no-build-isolation -e . --config-settings editable_mode=compat
  echo "$app_hash" > .venv/.stamp
else
  echo "==> application environment up to date"
fi

# --- Rasa environment (.venv-rasa) -----------------------------------------------------------
rasa_hash=$(stamp_of "requirements/$RASA_LOCK")
if [ "$(cat .venv-rasa/.stamp 2>/dev/null)" != "$rasa_hash" ]; then
  echo "==> installing the Rasa environment (.venv-rasa) from requirements/$RASA_LOCK"
  UV=.venv/bin/uv
  [ -x .venv-rasa/bin/python ] || "$UV" venv -q -p "$PY" .venv-rasa
  # The lock is the whole resolution (made with rasa-overrides.txt, see scripts/lock.sh): installed
  # as it is, without resolving again (rasa's Requires-Python < 3.11 and matplotlib pin would refuse).
  "$UV" pip install -q -p .venv-rasa/bin/python --require-hashes --no-deps -r "requirements/$RASA_LOCK"
  echo "$rasa_hash" > .venv-rasa/.stamp
else
  echo "==> Rasa environment up to date"
fi

# --- chat widget (bot/web/widget), built with npm at install time ------------------------------
if command -v npm >/dev/null 2>&1; then
  bash widget/build.sh
else
  echo "==> npm not found: the chat widget (bot/web/widget) is not built; install Node.js 20 and npm" >&2
fi
