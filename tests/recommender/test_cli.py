from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from daogou.config import get_settings
from demo.cli import app as demo_app
from recommender.cli import app


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("STATE_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.mark.slow
def test_demo_history_train_and_ask(state_dir):
    runner = CliRunner()
    history = state_dir / "h.jsonl"
    out = runner.invoke(
        demo_app, ["demo-history", "--output", str(history), "--customers", "40", "--days", "150"]
    )
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["train", "--history", str(history)])
    assert out.exit_code == 0 and "trained on" in out.output, out.output
    assert list((state_dir / "recommender").glob("shop-model-*.pkl"))
    assert "up to date" in runner.invoke(app, ["train", "--history", str(history)]).output

    first = next(
        json.loads(line)
        for line in history.read_text(encoding="utf-8").splitlines()
        if json.loads(line)["type"] == "order"
    )
    customer, sku = first["customer_id"], first["lines"][0]["sku"]
    out = runner.invoke(app, ["for", customer, "--k", "3", "--lang", "zh"])
    assert out.exit_code == 0 and len(out.output.strip().splitlines()) == 3, out.output
    assert runner.invoke(app, ["similar", sku]).exit_code == 0
    assert runner.invoke(app, ["together", sku]).exit_code == 0
    out = runner.invoke(app, ["segment", customer, "--source", str(history)])
    assert json.loads(out.output)["customer_id"] == customer
    out = runner.invoke(app, ["train", "--history", str(state_dir / "missing.jsonl")])
    assert out.exit_code != 0
