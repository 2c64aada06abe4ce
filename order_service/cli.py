"""`daogou db …`: schema migrations, reservation expiry, stock audit (the demo data: demo/cli.py)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Order/inventory database: migrations, demo data, maintenance.", no_args_is_help=True)


def _url(url: str | None) -> str:
    from order_service.core.config import get_settings

    return url or get_settings().db_url


@app.command()
def upgrade(
    revision: str = typer.Argument("head", help="Alembic revision to upgrade to."),
    url: str = typer.Option(None, help="Database URL (default: settings.db_url)."),
) -> None:
    """Apply the schema migrations (Alembic `upgrade head`)."""
    from order_service.core.migrate import current_revision
    from order_service.core.migrate import upgrade as do_upgrade

    target = _url(url)
    do_upgrade(target, revision)
    typer.echo(f"database at revision {current_revision(target)}")


@app.command("expire-reservations")
def expire_reservations(
    url: str = typer.Option(None, help="Database URL (default: settings.db_url)."),
) -> None:
    """Cancel pending orders whose reservation has expired and release their stock."""
    from order_service.core.db import make_engine, make_sessionmaker
    from order_service.services import orders

    engine = make_engine(_url(url), pool_size=1)
    with make_sessionmaker(engine)() as session:
        n = orders.expire_pending(session)
    engine.dispose()
    typer.echo(f"expired {n} pending orders")


@app.command()
def audit(url: str = typer.Option(None, help="Database URL (default: settings.db_url).")) -> None:
    """Rebuild stock levels from the ledger and report any difference (exit code 1 if there is one)."""
    from order_service.core.db import make_engine, make_sessionmaker
    from order_service.services import stock

    engine = make_engine(_url(url), pool_size=1)
    with make_sessionmaker(engine)() as session:
        checked, on_hand_bad, reserved_bad = stock.audit(session)
    engine.dispose()
    typer.echo(
        f"checked {checked} stock rows: {len(on_hand_bad)} on-hand and {len(reserved_bad)} reserved mismatches"
    )
    for row in (on_hand_bad + reserved_bad)[:20]:
        typer.echo(f"  {row}")
    if on_hand_bad or reserved_bad:
        raise typer.Exit(1)
