"""`daogou bot …`: train, validate and test the Rasa bot (which lives in its own environment).

Training is skipped when a model with the fingerprint of the training inputs already exists, so a
warm `make run` starts at once and a changed NLU file retrains exactly once.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import typer

from daogou.config import ROOT, exported_environment

app = typer.Typer(help="Train, validate and test the Rasa bot.", no_args_is_help=True)

RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
MODELS = ROOT / "models"
DOMAIN = ROOT / "bot" / "domain"
TRAINING_DATA = [ROOT / "data" / "nlu", ROOT / "data" / "rules", ROOT / "data" / "stories"]
TEST_STORIES = ROOT / "tests" / "stories"


def _training_inputs() -> list[Path]:
    files = [ROOT / "config.yml"]
    for folder in [DOMAIN, *TRAINING_DATA]:
        files += sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml"))
    return files


def fingerprint() -> str:
    digest = hashlib.sha256()
    for path in _training_inputs():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path() -> Path:
    return MODELS / f"daogou-{fingerprint()}.tar.gz"


def rasa(*args: str) -> int:
    # every setting: bot/endpoints.yml and credentials.yml name them as ${VAR}
    env = {
        **exported_environment(),
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": str(ROOT),
    }
    cmd = [str(RASA), *args]
    typer.echo("$ " + " ".join(cmd[0:1] + [a.replace(str(ROOT) + "/", "") for a in cmd[1:]]))
    return subprocess.call(cmd, cwd=ROOT, env=env)


def _data_args() -> list[str]:
    # Only folders that exist: given a missing --data path, Rasa falls back to reading all of data/,
    # shop data included.
    return [
        "--config",
        "config.yml",
        "--domain",
        str(DOMAIN),
        "--data",
        *[str(p) for p in TRAINING_DATA if p.is_dir()],
    ]


@app.command()
def train(force: bool = typer.Option(False, help="Train even when the model is up to date.")) -> None:
    """Train the model unless one with the same training-data fingerprint exists."""
    target = model_path()
    if target.exists() and not force:
        typer.echo(f"model up to date: {target.relative_to(ROOT)}")
        return
    MODELS.mkdir(exist_ok=True)
    code = rasa("train", *_data_args(), "--out", str(MODELS), "--fixed-model-name", target.name[:-7])
    if code != 0:
        raise typer.Exit(code)
    for old in MODELS.glob("daogou-*.tar.gz"):  # `rasa run -m models` loads the newest; keep one
        if old != target:
            old.unlink()


@app.command("model-path")
def show_model_path() -> None:
    """Print the path of the model that matches the current training data."""
    typer.echo(model_path())


@app.command()
def validate() -> None:
    """`rasa data validate` on the domain and training data."""
    raise typer.Exit(rasa("data", "validate", *_data_args()))


@app.command()
def test() -> None:
    """Run the test stories (tests/stories) against the trained model; fails on any wrong prediction."""
    if not model_path().exists():
        typer.echo("no model for the current training data: run `daogou bot train` first", err=True)
        raise typer.Exit(2)
    out = ROOT / "var" / "rasa-test-results"
    raise typer.Exit(
        rasa(
            "test",
            "core",
            "--model",
            str(model_path()),
            "--stories",
            str(TEST_STORIES),
            "--endpoints",
            "bot/endpoints.yml",
            "--out",
            str(out),
            "--fail-on-prediction-errors",
        )
    )


if __name__ == "__main__":
    sys.exit(app())
