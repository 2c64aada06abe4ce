"""Guardrails that keep the code base easy to live in, run by `make test` and so by CI.

Each check calls the real tool on the whole tree, so a commit that breaks the house rules fails here
rather than in review. Settings live in pyproject.toml.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*args: str) -> subprocess.CompletedProcess:
    tool = BIN / args[0]
    if not tool.exists():
        pytest.fail(f"{args[0]} is not installed in {BIN}: run `make install`")
    return subprocess.run([str(tool), *args[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_lint_is_clean():
    result = _run("ruff", "check", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_applied():
    result = _run("ruff", "format", "--check", ".")
    assert result.returncode == 0, "run `.venv/bin/ruff format .`:\n" + result.stdout + result.stderr


def _contract(contract_id: str) -> None:
    result = _run("lint-imports", "--no-cache", "--contract", contract_id)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bot_imports_only_the_shared_base():
    _contract("bot-base-only")


def test_capabilities_import_no_benchmarks_actions_deploy_or_demo():
    _contract("capabilities-stand-alone")


def test_packages_form_layers_without_cycles():
    _contract("layers")


def test_no_import_cycles_between_modules():
    _contract("modules-acyclic")


def test_mypy_is_clean():
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
