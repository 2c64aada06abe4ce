"""`daogou bench …`: run the benchmarks (the same ones `make bench-<area>` runs)."""
from __future__ import annotations

import importlib
import json
from pathlib import Path

import typer

from benchmarks.common import RESULTS_DIR

app = typer.Typer(help="Run benchmarks; each writes benchmarks/results/<area>.json.", no_args_is_help=True)

NOT_BENCHMARKS = {"__init__", "common", "cli"}


def areas() -> list[str]:
    return sorted(p.stem for p in Path(__file__).parent.glob("*.py") if p.stem not in NOT_BENCHMARKS)


@app.command("list")
def list_areas() -> None:
    """List the benchmarks and the metrics of their last run."""
    for area in areas():
        result = RESULTS_DIR / f"{area}.json"
        metrics = json.loads(result.read_text())["metrics"] if result.exists() else "not run yet"
        typer.echo(f"{area}: {metrics}")


@app.command("run")
def run(area: list[str] = typer.Argument(None, help="Areas to run; none means all.")) -> None:
    """Run one, several or all benchmarks."""
    for name in area or areas():
        if name not in areas():
            raise typer.BadParameter(f"unknown benchmark {name!r}; known: {', '.join(areas())}")
        importlib.import_module(f"benchmarks.{name}").main()
