"""Guardrails that keep the code base easy to live in, run by `make test` and so by CI.

Each check calls the real tool on the whole tree, so a commit that breaks the house rules fails here
rather than in review. Settings live in pyproject.toml.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
import tomllib
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


def test_action_modules_do_not_import_one_another():
    _contract("action-modules-independent")


def test_the_independence_contract_lists_every_action_module():
    """The contract names the action modules (those defining concrete rasa-sdk actions; a base such as
    actions.staff_base.StaffAction is shared); a new one (or one that stops defining actions) must
    be listed (or dropped) there, else it would escape the check."""
    from rasa_sdk import Action

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(
        c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "action-modules-independent"
    )
    defining = set()
    for info in pkgutil.iter_modules([str(ROOT / "actions")], "actions."):
        if info.name == "actions.__main__":
            continue
        module = importlib.import_module(info.name)
        if any(
            issubclass(cls, Action) and not inspect.isabstract(cls) and cls.__module__ == module.__name__
            for cls in vars(module).values()
            if isinstance(cls, type)
        ):
            defining.add(info.name)
    assert defining and set(contract["modules"]) == defining


def test_the_layering_picture_matches_the_layers_contract():
    """docs/development.md draws the `layers` contract; a package moved in one must move in the other."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "layers")
    docs = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    picture = docs.split("## Layering", 1)[1].split("```", 2)[1]
    drawn = [
        " | ".join(part.strip() for part in m.group(1).split("│"))
        for line in picture.splitlines()
        if (m := re.match(r"\s*([a-z_]+(?:\s*│\s*[a-z_]+)*)\s{2,}\S", line))
    ]
    assert drawn == contract["layers"]


def test_mypy_is_clean():
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
