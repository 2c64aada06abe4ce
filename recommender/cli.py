"""`daogou recommend …`: offline evaluation, customer analytics, training and recommendations."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(
    help="Recommender: evaluate on Online Retail, analytics, train, recommend.", no_args_is_help=True
)


@app.command("evaluate")
def evaluate(
    history: str | None = typer.Option(
        None,
        help="The order history to evaluate on: 'database' or a JSONL file.",
    ),
    val_start: str = typer.Option("", help="Validation start (with --history)."),
    test_start: str = typer.Option("", help="Test start (with --history)."),
    test_end: str | None = typer.Option(None, help="Test end, inclusive (with --history)."),
) -> None:
    """Run the offline protocol on an order history (printed only). The Online Retail benchmark, which
    writes benchmarks/results/recommender.json, is `daogou bench run recommender` (make bench-recommender)."""
    if history is None:
        raise typer.BadParameter(
            "give --history; the Online Retail benchmark is `daogou bench run recommender`",
            param_hint="--history",
        )
    from recommender.evaluation import ProtocolConfig, run_protocol

    if not (val_start and test_start):
        raise typer.BadParameter("--history needs --val-start and --test-start")
    from catalog import load_products

    lines, _ = _load_source(history)
    products = {p.sku: p for p in load_products()}
    unknown = set(lines["sku"]) - products.keys()
    result = run_protocol(
        lines,
        ProtocolConfig(val_start, test_start, test_end, earlier_val_starts=()),
        progress=typer.echo,
        products=None if unknown else products,
    )  # content model only with a full catalogue
    typer.echo(json.dumps(result.split_stats))
    for r in result.results:
        typer.echo(f"{r.variant} {r.model:11s} " + " ".join(f"{k}={v:.4f}" for k, v in r.metrics.items()))


@app.command("analytics")
def analytics(
    source: str = typer.Option(
        "online-retail", help="'online-retail' or a JSONL order-lines file (demo history)."
    ),
    figures: Path | None = typer.Option(None, help="Write cohort_retention.png and rfm_segments.png here."),
    holdout_start: str | None = typer.Option(
        None, help="Check BG/NBD on the orders from this date on (default for Online Retail: 2011-09-01)."
    ),
    output: Path | None = typer.Option(None, help="Write the summary JSON here."),
) -> None:
    """RFM segments, CLV (BG/NBD + Gamma-Gamma), cohort retention, AOV and repurchase rate."""
    from recommender.report import analytics_report, write_figures

    lines, title = _load_source(source)
    if holdout_start is None and source == "online-retail":
        holdout_start = "2011-09-01"
    report = analytics_report(lines, holdout_start=holdout_start or None)
    summary = report.summary()
    text = json.dumps(summary, indent=2, ensure_ascii=False)
    typer.echo(text)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
    if figures:
        for path in write_figures(report, figures, title):
            typer.echo(f"wrote {path}")


@app.command("segment")
def segment(
    customer_id: str | None = typer.Argument(None, help="A customer; omit with --segment."),
    name: str | None = typer.Option(
        None, "--segment", help="List the customers of this segment (e.g. at_risk)."
    ),
    source: str = typer.Option("online-retail", help="'online-retail' or a JSONL order-lines file."),
    limit: int = 20,
) -> None:
    """Answer staff questions: which segment is customer X in, who is in segment Y."""
    from recommender import analytics as A

    lines, _ = _load_source(source)
    table = A.rfm(lines)
    if customer_id:
        typer.echo(json.dumps(A.customer_profile(table, customer_id).__dict__, ensure_ascii=False))
    elif name:
        typer.echo(A.customers_in_segment(table, name, limit).to_string())
    else:
        raise typer.BadParameter("give a customer id or --segment")


def _load_source(source: str):
    """'online-retail', 'database' (the order service's orders) or a JSONL file."""
    from recommender.data import load_online_retail
    from recommender.sources import order_lines_from_database, order_lines_from_jsonl

    if source == "online-retail":
        return load_online_retail()[0], "UCI Online Retail"
    if source == "database":
        from daogou.config import get_settings

        try:
            lines = order_lines_from_database(get_settings().db_url)
        except Exception as exc:  # missing tables, server down: say what to do instead
            text = str(exc)
            reason = (
                "its orders tables do not exist yet"
                if "no such table" in text or "does not exist" in text
                else text.splitlines()[0][:160]
            )
            raise typer.BadParameter(
                f"cannot read orders from the order service's database ({reason}); load the "
                "demo data or pass --history <file.jsonl> from `daogou recommend demo-history`"
            ) from exc
        if lines.empty:
            raise typer.BadParameter(
                "the order service's database has no purchase orders yet; load the demo "
                "history or pass --history <file.jsonl> from `daogou recommend demo-history`"
            )
        return lines, "demo shop"
    path = Path(source)
    if not path.exists():
        raise typer.BadParameter(f"{source} is neither 'online-retail', 'database' nor an existing file")
    return order_lines_from_jsonl(path), path.stem


@app.command("train")
def train(
    history: str | None = typer.Option(
        None, help="'database' or a JSONL file (default: RECOMMENDER_HISTORY)."
    ),
    force: bool = typer.Option(False, help="Retrain even when the inputs have not changed."),
) -> None:
    """Train the shop recommender from the order history (+ catalogue) into $STATE_DIR/recommender."""
    from catalog import load_categories, load_products
    from daogou.config import get_settings
    from recommender.shop import (
        ShopConfig,
        load_model,
        model_dir,
        model_fingerprint,
        save_model,
        train_shop_model,
    )

    lines, _ = _load_source(history or get_settings().recommender_history)
    products = load_products()
    directory = model_dir()
    fingerprint = model_fingerprint(lines, products, ShopConfig())
    if not force:
        try:
            if load_model(directory).fingerprint == fingerprint:
                typer.echo(f"up to date ({fingerprint}); use --force to retrain")
                return
        except FileNotFoundError:
            pass
    categories = {cid: c.name for cid, c in load_categories().items()}
    model = train_shop_model(lines, products, categories)
    path = save_model(model, directory)
    inter = model.interactions
    typer.echo(
        f"trained on {len(lines)} order lines: {len(inter.users)} customers, {len(inter.items)} items "
        f"bought, {len(products)} in the catalogue; {model.train_seconds:.1f}s -> {path}"
    )


def _print(items, lang: str) -> None:
    from recommender.shop import get_shop_recommender

    rec = get_shop_recommender()
    for item in items:
        extra = "".join(
            f"  {k}={getattr(item, k)}" for k in ("support", "confidence", "lift") if hasattr(item, k)
        )
        typer.echo(f"{item.sku:16s} {rec.name(item.sku)[:48]:48s} {item.reason.text(lang)}{extra}")


@app.command("for")
def recommend_for(
    customer_id: str | None = typer.Argument(None, help="Customer id (omit for an anonymous shopper)."),
    viewed: list[str] = typer.Option([], help="SKUs looked at in this conversation."),
    cart: list[str] = typer.Option([], help="SKUs in the cart."),
    category: str | None = typer.Option(None, help="Only this category id."),
    k: int = 5,
    lang: str = "en",
) -> None:
    """ "Recommend me something" for a customer (and/or the conversation's context)."""
    from recommender.shop import get_shop_recommender

    _print(get_shop_recommender().recommend_for_customer(customer_id, viewed, cart, k, category), lang)


@app.command("similar")
def similar(sku: str, k: int = 5, lang: str = "en") -> None:
    """ "Similar to X"."""
    from recommender.shop import get_shop_recommender

    _print(get_shop_recommender().similar_items(sku, k), lang)


@app.command("together")
def together(
    sku: str, k: int = 5, lang: str = "en", by: str = typer.Option("lift", help="'lift' or 'confidence'.")
) -> None:
    """ "Customers who bought X also bought" with support, confidence and lift."""
    from recommender.shop import get_shop_recommender

    _print(get_shop_recommender().bought_together(sku, k, by=by), lang)
