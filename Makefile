# Two commands set up everything on a fresh machine: `make run` and `make test`.
.PHONY: run test install lock audit train test-python test-rasa-env test-bot bench clean
SHELL := /bin/bash
PY := .venv/bin/python
BENCHMARKS := $(patsubst benchmarks/%.py,%,$(filter-out benchmarks/__init__.py benchmarks/common.py benchmarks/cli.py,$(wildcard benchmarks/*.py)))

install:
	@bash scripts/bootstrap.sh

# Lock files with hashes (requirements/*.lock) from the human-edited requirements/*.txt (scripts/lock.sh);
# LOCK_UPGRADE=1 make lock moves every package to its newest allowed version.
lock:
	@bash scripts/lock.sh

# Known vulnerabilities in both environments' locks (pip-audit; requirements/audit-ignore.txt).
audit: install
	@$(PY) scripts/audit.py

run:
	@bash scripts/run.sh

train: install
	@.venv/bin/daogou bot train

# pytest for the application environment, pytest for code that runs inside the Rasa server,
# then the bot: data validation and test stories.
test: install
	@bash scripts/test-deps.sh
	@.venv/bin/daogou bot train
	$(PY) -m pytest -q -ra --ignore=tests/channels --ignore=tests/bot
	.venv-rasa/bin/python -m pytest -q -ra tests/bot $(wildcard tests/channels)
	@.venv/bin/daogou bot validate
	@.venv/bin/daogou bot test

bench: $(addprefix bench-,$(BENCHMARKS))

bench-%: install
	$(PY) -m benchmarks.$*

clean:
	rm -rf var models
