#!/usr/bin/env bash
# `make run`: install if needed, prepare data, models and indexes (each step skips itself when up to
# date), then start every process under honcho. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
D=.venv/bin/daogou
$D db upgrade
$D db load-demo          # loads only into an empty database
$D faq build             # embeds the FAQ only when its questions or the model changed
$D bot train             # trains only when the training data changed
$D config --env > var/run.env
set -a; . var/run.env; set +a   # every setting, empty ones included, for every process
exec .venv/bin/honcho --env /dev/null --procfile Procfile start
