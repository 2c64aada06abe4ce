#!/usr/bin/env bash
# `make run`: install if needed, prepare data, models and indexes (each step skips itself when up to
# date), then start every process under honcho. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
D=.venv/bin/daogou
# migrate; load the demo shop only into an empty database; build the FAQ index, train the shop
# recommender and the Rasa model only when their inputs changed
$D prepare
$D config --env > var/run.env
set -a; . var/run.env; set +a   # every setting, empty ones included, for every process
exec .venv/bin/honcho --env /dev/null --procfile Procfile start
