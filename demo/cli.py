"""The demo shop's commands. The operator CLI mounts them where operators look for them:
`daogou db load-demo`, `daogou recommend demo-history`, `daogou analytics demo-events`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = typer.Typer(
    help="Demo data: the demo shop, its order history and assistant events.", no_args_is_help=True
)


def _url(url: str | None) -> str:
    from order_service.core.config import get_settings

    return url or get_settings().db_url


@app.command("load-demo")
def load_demo(
    force: bool = typer.Option(False, "--force", help="Delete all rows and load again."),
    url: str = typer.Option(None, help="Database URL (default: settings.db_url)."),
    orders: bool = typer.Option(
        True,
        "--orders/--no-orders",
        help="Also load the seeded demo order history (completed orders of demo customers; demo/orders.py).",
    ),
) -> None:
    """Load demo stores, products, stock, customers and staff; does nothing if data is already there."""
    from demo import shop as demo
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
            from demo.orders import load_for_demo_shop

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


def _is_demo_shop(engine: Engine) -> bool:
    """The database holds the generated demo order history (never true for a real shop's database)."""
    from sqlalchemy import select

    from demo.orders import DEMO_ADDRESS
    from order_service.models import Order

    with engine.connect() as conn:
        return (
            conn.scalar(select(Order.id).where(Order.delivery_address == DEMO_ADDRESS).limit(1)) is not None
        )


def _demo_events(engine: Engine) -> None:
    from demo.events import load_for_demo_shop

    added, seconds = load_for_demo_shop(engine)
    if added:
        typer.echo(f"loaded {added} demo assistant events in {seconds} s")


@app.command("demo-history")
def demo_history(
    output: Path | None = typer.Option(
        None, help="JSONL file to write (default: $STATE_DIR/demo_orders.jsonl)."
    ),
    customers: int | None = typer.Option(None, help="Synthetic customers (default: setting)."),
    seed: int | None = typer.Option(None, help="Generator seed (default: setting)."),
    days: int = typer.Option(365, help="Length of the history in days."),
) -> None:
    """Generate the seeded demo order history (see demo/history.py) as JSONL."""
    from catalog import load_products, load_stores
    from daogou.config import get_settings
    from demo.history import generate_demo_history
    from demo.shop import DEMO_CUSTOMERS
    from recommender.order_history import write_jsonl

    settings = get_settings()
    extra = [c[0] for c in DEMO_CUSTOMERS]
    stores = [s.id for s in load_stores() if s.type in ("BigBox", "Mobile")]
    history = generate_demo_history(
        load_products(),
        n_customers=customers or settings.recommender_demo_customers,
        days=days,
        seed=seed if seed is not None else settings.recommender_demo_seed,
        store_ids=stores,
        extra_customer_ids=extra,
    )
    output = output or settings.state_dir / "demo_orders.jsonl"
    write_jsonl(history, output)
    n_lines = sum(len(o.lines) for o in history.orders)
    typer.echo(
        f"{len(history.customers)} customers, {len(history.orders)} orders, {n_lines} lines -> {output}"
    )


@app.command("demo-events")
def demo_events(
    conversations: int = typer.Option(3000, help="Conversations to generate."),
    url: str = typer.Option(None, help="Database URL (default: settings.db_url)."),
) -> None:
    """Add four weeks of seeded demo events (demo/events.py) when the record is empty."""
    from demo.events import load_for_demo_shop
    from order_service.core.db import make_engine

    engine = make_engine(_url(url), pool_size=1)
    try:
        n, seconds = load_for_demo_shop(engine, conversations)
    finally:
        engine.dispose()
    typer.echo(
        f"added {n} demo assistant events in {seconds} s"
        if n
        else "assistant events already there: none added"
    )
