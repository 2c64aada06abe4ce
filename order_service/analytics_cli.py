"""`daogou analytics …`: does the assistant sell? (issue 18; docs/analytics.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

app = typer.Typer(help="The assistant's effectiveness: events, funnel, experiments.", no_args_is_help=True)

PERCENT = (
    "ctr",
    "shown_to_cart",
    "shown_to_order",
    "cart_to_order",
    "containment",
    "fallback_rate",
    "faq_unsure_rate",
)


@app.callback()
def main() -> None:
    """The assistant's effectiveness: events, funnel, experiments (docs/analytics.md)."""


def _url(url: str | None) -> str:
    from order_service.core.config import get_settings

    return url or get_settings().db_url


def _show(frame, title: str) -> None:
    shown = frame.copy()
    for column in shown.columns:
        if column in PERCENT or column.endswith(("_low", "_high")) or column == "conversion":
            shown[column] = shown[column].map(lambda v: "–" if v != v else f"{100 * v:.1f}%")
    if "rating_mean" in shown:
        shown["rating_mean"] = shown["rating_mean"].map(lambda v: "–" if v != v else f"{v:.2f}")
    typer.echo(f"\n{title}\n{shown.to_string(index=False)}")


@app.command()
def report(
    days: int = typer.Option(28, help="The last N days (ignored with --since)."),
    since: datetime = typer.Option(None, help="From this UTC date/time."),
    until: datetime = typer.Option(None, help="Before this UTC date/time."),
    figures: Path = typer.Option(None, help="Directory for the PNG plots (default: $STATE_DIR/analytics)."),
    url: str = typer.Option(None, help="Database URL (default: settings.db_url)."),
) -> None:
    """Click-through by model, search → cart → order, revenue, containment, fallback and FAQ-unsure
    rates, satisfaction; by day, channel and language; recommendation variants with 95% intervals."""
    from daogou.config import get_settings
    from order_service.core.db import make_engine
    from order_service.effectiveness import plot
    from order_service.effectiveness import report as build

    since = since.replace(tzinfo=UTC) if since else datetime.now(UTC) - timedelta(days=days)
    until = until.replace(tzinfo=UTC) if until else None
    engine = make_engine(_url(url), pool_size=1)
    try:
        rep = build(engine, since, until)
    finally:
        engine.dispose()
    if rep.totals.empty:
        typer.echo("no assistant events in this period")
        return
    typer.echo(
        f"assistant report from {since:%Y-%m-%d %H:%M} UTC" + (f" to {until:%Y-%m-%d %H:%M}" if until else "")
    )
    _show(rep.totals, "totals")
    _show(rep.by_channel, "by channel")
    _show(rep.by_language, "by language")
    _show(rep.by_day.tail(14), "by day (last 14)")
    _show(rep.models, "click-through by model (95% Wilson interval)")
    _show(rep.variants, "recommendation variants (95% Wilson intervals)")
    tests = rep.as_dict()["variant_tests"]
    typer.echo(
        f"chi-square p-value of the variants' difference: click-through {tests['ctr_p_value']}, conversion {tests['conversion_p_value']}"
    )
    directory = figures or get_settings().state_dir / "analytics"
    for path in plot(rep, directory):
        typer.echo(f"wrote {path}")
