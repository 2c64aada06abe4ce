#!/usr/bin/env bash
# Creates the two Python environments (see ../shared/INSTALL-NOTES.md for why there are two).
# Idempotent: each environment carries a stamp with the hash of the files that define it, and is
# only (re)installed when those files change. No apt step; nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3

stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- application environment (.venv) -------------------------------------------------------
app_hash=$(stamp_of requirements/app.txt pyproject.toml)
if [ "$(cat .venv/.stamp 2>/dev/null)" != "$app_hash" ]; then
  echo "==> installing the application environment (.venv)"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  # The exact pin takes the local CPU wheel; an unpinned torch would pull CUDA packages.
  .venv/bin/pip install -q torch==2.13.0
  .venv/bin/pip install -q -r requirements/app.txt
  # compat mode puts the project root on sys.path, so packages added later import without reinstalling
  .venv/bin/pip install -q --no-deps -e . --config-settings editable_mode=compat
  echo "$app_hash" > .venv/.stamp
else
  echo "==> application environment up to date"
fi

# --- Rasa environment (.venv-rasa) -----------------------------------------------------------
rasa_hash=$(stamp_of requirements/rasa.txt requirements/rasa-overrides.txt)
if [ "$(cat .venv-rasa/.stamp 2>/dev/null)" != "$rasa_hash" ]; then
  echo "==> installing the Rasa environment (.venv-rasa)"
  UV=.venv/bin/uv
  [ -x "$UV" ] || .venv/bin/pip install -q uv
  [ -x .venv-rasa/bin/python ] || "$UV" venv -q -p "$PY" .venv-rasa
  # uv ignores rasa's Requires-Python upper bound; the override moves matplotlib to a 3.11 wheel.
  "$UV" pip install -q -p .venv-rasa/bin/python --override requirements/rasa-overrides.txt \
      -r requirements/rasa.txt
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
