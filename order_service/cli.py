"""`daogou db …`: schema migrations, demo data, reservation expiry, stock audit."""

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


@app.command("load-demo")
def load_demo(
    force: bool = typer.Option(False, "--force", help="Delete all rows and load again."),
    url: str = typer.Option(None, help="Database URL (default: settings.db_url)."),
    orders: bool = typer.Option(
        True,
        "--orders/--no-orders",
        help="Also load the seeded demo order "
        "history (completed orders of demo customers; order_service/demo_orders.py).",
    ),
) -> None:
    """Load demo stores, products, stock, customers and staff; does nothing if data is already there."""
    from order_service import demo
    from order_service.core.db import make_engine
    from order_service.core.migrate import upgrade as do_upgrade

    target = _url(url)
    do_upgrade(target)
    engine = make_engine(target, pool_size=1)
    try:
        if not demo.is_empty(engine):
            if not force:
                typer.echo("database already has data: nothing loaded (use --force to reload)")
                if orders and _is_demo_shop(engine):  # loaded before the assistant's event record existed
                    _demo_events(engine)
                return
            demo.wipe(engine)
        from catalog import load_products, load_stores

        summary = demo.load(engine, products := load_products(), stores := load_stores())
        if orders:
            from order_service.demo_orders import load_for_demo_shop

            history = load_for_demo_shop(engine, products, stores)
            typer.echo(
                f"loaded demo order history: {history.orders} completed orders, {history.lines} lines, "
                f"{history.customers_added} customers in {history.seconds} s"
            )
            _demo_events(engine)
    finally:
        engine.dispose()
    typer.echo(
        f"loaded {summary.locations} locations (warehouse + stores), {summary.products} products, "
        f"{summary.stock_rows} stock rows ({summary.units_on_hand} units; {summary.out_of_stock_rows} out, "
        f"{summary.low_rows} low), {summary.ledger_rows} ledger rows, {summary.customers} customers, "
        f"staff {', '.join(summary.staff)} in {summary.seconds} s"
    )
    typer.echo(
        f"demo passwords: admin/{demo.DEMO_PASSWORDS['admin']}, manager/{demo.DEMO_PASSWORDS['manager']}, "
        f"assoc-<store id>/{demo.DEMO_PASSWORDS['associate']}"
    )


def _is_demo_shop(engine) -> bool:
    """The database holds the generated demo order history (never true for a real shop's database)."""
    from sqlalchemy import select

    from order_service.demo_orders import DEMO_ADDRESS
    from order_service.models import Order

    with engine.connect() as conn:
        return (
            conn.scalar(select(Order.id).where(Order.delivery_address == DEMO_ADDRESS).limit(1)) is not None
        )


def _demo_events(engine) -> None:
    from order_service.demo_events import load_for_demo_shop

    added, seconds = load_for_demo_shop(engine)
    if added:
        typer.echo(f"loaded {added} demo assistant events in {seconds} s")


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
