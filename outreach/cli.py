"""`daogou campaign …`: campaigns, the outreach worker, dead letters and consent (docs/outreach.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import typer

app = typer.Typer(help="Outreach: campaigns, the worker, dead letters, consent.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Outreach: post-sale messages, back-in-stock alerts and campaigns (docs/outreach.md)."""


def _sessions() -> Any:
    from order_service.core.config import get_settings
    from order_service.core.db import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(get_settings().db_url))


def _now() -> datetime:
    return datetime.now(UTC)


@app.command()
def worker() -> None:
    """Run the outreach worker (APScheduler; stops on Ctrl-C or SIGTERM after the current pass)."""
    import logging

    from outreach.worker import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per send otherwise
    try:
        serve()
    except (KeyboardInterrupt, SystemExit):
        pass


@app.command()
def tick() -> None:
    """One pass of the worker now: scan events and receipts, launch due campaigns, drain the outbox."""
    from outreach.worker import Outreach

    outreach = Outreach.from_settings()
    outreach.recover()
    typer.echo(outreach.tick())


@app.command()
def create(
    name: str = typer.Option(..., help="Campaign name (also the headline when none is given)."),
    code: str = typer.Option(..., help="Discount code of the offer."),
    percent_off: int = typer.Option(10, min=1, max=90),
    max_uses: int = typer.Option(1000, min=1, help="How many orders may use the code."),
    valid_until: str = typer.Option("", help="Last day the code is valid (YYYY-MM-DD)."),
    headline: str = typer.Option("", help="Headline in English."),
    headline_zh: str = typer.Option("", help="Headline in Chinese."),
    channel: str = typer.Option("wechat", help="web or wechat"),
    segment: list[str] = typer.Option([], help="RFM segment key(s), e.g. at_risk, champions."),
    clv_min: float | None = typer.Option(None),
    clv_max: float | None = typer.Option(None),
    category: str | None = typer.Option(None, help="Category id or part type the customer bought."),
    store: int | None = typer.Option(None, help="Store id for a distance target."),
    within_km: float | None = typer.Option(None),
    at: str | None = typer.Option(None, help="Launch time (ISO 8601, UTC when no zone); default now."),
    holdout: float = typer.Option(0.1, min=0.0, max=0.9, help="Share of targets held out."),
    max_per_week: int = typer.Option(1, min=1, help="Campaign messages per customer per 7 days."),
    seed: int = typer.Option(0, help="Seed of the holdout assignment."),
) -> None:
    """Create (schedule) a campaign."""
    from outreach.campaigns import create_campaign

    target: dict[str, Any] = {}
    if segment:
        target["segment"] = segment
    for key, value in (
        ("clv_min", clv_min),
        ("clv_max", clv_max),
        ("category", category),
        ("store_id", store),
        ("within_km", within_km),
    ):
        if value is not None:
            target[key] = value
    offer = {"code": code, "percent_off": percent_off, "max_uses": max_uses, "valid_until": valid_until}
    if headline:
        offer["headline_en"] = headline
    if headline_zh:
        offer["headline_zh"] = headline_zh
    when = datetime.fromisoformat(at) if at else _now()
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    with _sessions()() as session:
        try:
            campaign = create_campaign(
                session,
                name=name,
                target=target,
                offer=offer,
                channel=channel,
                scheduled_at=when,
                now=_now(),
                holdout_share=holdout,
                max_per_week=max_per_week,
                seed=seed,
                created_by="cli",
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        session.commit()
        typer.echo(f"campaign {campaign.id} scheduled for {when.isoformat()}")


@app.command("list")
def list_campaigns() -> None:
    """Every campaign with its status."""
    from sqlalchemy import select

    from order_service.models import Campaign

    with _sessions()() as session:
        for c in session.scalars(select(Campaign).order_by(Campaign.id)):
            typer.echo(
                f"{c.id:>4}  {c.status:<9}  {c.channel:<6}  {c.scheduled_at:%Y-%m-%d %H:%M}  {c.name}  "
                f"target={json.dumps(c.target)}  holdout={c.holdout_share}"
            )


@app.command()
def launch(campaign_id: int) -> None:
    """Launch a campaign now (members and messages; the worker sends them)."""
    from outreach.campaigns import launch_campaign

    with _sessions()() as session:
        typer.echo(launch_campaign(session, campaign_id, _now()))


@app.command()
def report(
    campaign_id: int, days: float = typer.Option(14.0, help="Measurement window after the launch.")
) -> None:
    """Conversion and revenue per customer, treated vs holdout, with 95% confidence intervals."""
    from outreach.campaigns import campaign_result

    with _sessions()() as session:
        result = campaign_result(session, campaign_id, days)
    typer.echo(f"campaign {campaign_id}: {result.treated} treated, {result.holdout} held out, {days:g} days")
    for label, e, fmt in (
        ("conversion", result.conversion, "{:.2%}"),
        ("revenue/customer", result.revenue_per_customer, "{:.2f}"),
    ):
        typer.echo(
            f"  {label:<17} treated {fmt.format(e.treated)}  holdout {fmt.format(e.holdout)}  "
            f"uplift {fmt.format(e.uplift)}  95% CI [{fmt.format(e.ci_low)}, {fmt.format(e.ci_high)}]  p={e.p_value:.3g}"
        )


@app.command("dead-letters")
def dead_letters_command(limit: int = 50) -> None:
    """Messages that failed every attempt, or whose send was interrupted (outcome unknown)."""
    from outreach.outbox import dead_letters

    with _sessions()() as session:
        rows = dead_letters(session, limit)
        for m in rows:
            typer.echo(
                f"{m.id:>6}  {m.status:<7}  {m.channel:<6}  {m.send_key}  attempts={m.attempts}  {m.last_error}"
            )
        if not rows:
            typer.echo("no dead letters")


@app.command()
def retry(message_ids: list[int]) -> None:
    """Send dead or unknown messages again (an operator's decision)."""
    from outreach.outbox import requeue

    with _sessions()() as session:
        typer.echo(f"{requeue(session, message_ids, _now())} message(s) queued again")


@app.command()
def consent(
    customer_id: str, channel: str, opt_in: bool = typer.Option(..., "--in/--out", help="Opt in or out.")
) -> None:
    """Record a customer's opt-in or opt-out for a channel."""
    from outreach.consent import set_consent

    with _sessions()() as session:
        set_consent(session, customer_id, channel, opt_in, "operator", _now())
        session.commit()
    typer.echo(f"{customer_id} {channel}: {'opted in' if opt_in else 'opted out'}")
