"""A running single-instance stack shared by the persistence, fault and fuzz tests (starting one costs
a minute or two: the Rasa server loads its model, the action server its graph and indexes).

Tests that stop, pause or kill a process bring it back before they finish, so the next test finds
the stack whole. The time budgets are shortened so that faults show within seconds."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from daogou.config import get_settings
from deploy.stack import ROOT, Stack, prepare_state

# Short budgets: an order-service call gives up after 1 s (3 attempts), an action after 6 s.
# Rasa's HTTP API on, with a token, for reading trackers (tests.reliability.helpers.tracker).
FAULT_SETTINGS = {
    "HTTP_TIMEOUT_S": "1.0",
    "HTTP_RETRIES": "2",
    "ACTION_TIMEOUT_S": "6",
    "RASA_API_TOKEN": secrets.token_urlsafe(32),
}


@pytest.fixture(scope="session")
def rasa_model() -> Path:
    """DAOGOU_TEST_MODEL when set, else the model of the current training data (trained if missing)."""
    if os.environ.get("DAOGOU_TEST_MODEL"):
        return Path(os.environ["DAOGOU_TEST_MODEL"])
    daogou = str(ROOT / ".venv" / "bin" / "daogou")
    subprocess.run([daogou, "bot", "train"], cwd=ROOT, check=True, capture_output=True)
    path = Path(
        subprocess.run(
            [daogou, "bot", "model-path"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout.strip()
    )
    # A private copy: another `daogou bot train` deletes older models from models/.
    copy = get_settings().state_dir / "test-models" / path.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    if not copy.exists():
        shutil.copy2(path, copy)
    return copy


@pytest.fixture(scope="session")
def prepared_state(tmp_path_factory) -> Path:
    """Demo shop loaded and FAQ built once; each stack starts from a copy."""
    state = tmp_path_factory.mktemp("prepared")
    prepare_state(state)
    return state


def fresh_state(prepared: Path, target: Path) -> Path:
    shutil.copytree(prepared, target, dirs_exist_ok=True)
    return target


@pytest.fixture(scope="session")
def stack(rasa_model, prepared_state, tmp_path_factory):
    state = fresh_state(prepared_state, tmp_path_factory.mktemp("stack"))
    running = Stack(state, rasa_model, settings=FAULT_SETTINGS)
    try:
        yield running.start()
    finally:
        running.close()
