#!/usr/bin/env bash
# Builds the chat widget into bot/web/widget/ with npm (install time; nothing is fetched at run time).
# Idempotent: rebuilds only when the widget's sources or lock file changed (stamp in the output folder).
# Called by scripts/bootstrap.sh; needs node 20 and npm with access to the npm registry.
set -euo pipefail
cd "$(dirname "$0")"
out=../bot/web/widget
hash=$(cat package.json package-lock.json build.sh $(find src -type f | sort) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$out/.stamp" 2>/dev/null)" = "$hash" ] && [ -f "$out/daogou-widget.js" ]; then
  echo "==> chat widget up to date"
  exit 0
fi
echo "==> building the chat widget (bot/web/widget)"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
echo "$hash" > "$out/.stamp"
