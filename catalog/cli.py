"""`daogou catalog …`: inspect what the import makes of the shop data."""

from __future__ import annotations

from collections import Counter

import typer

app = typer.Typer(help="Catalogue import: products, categories, stores.", no_args_is_help=True)


@app.command("summary")
def summary() -> None:
    """Counts of imported products per part type / source, stores per type, brands found."""
    from catalog import load_categories, load_products, load_stores

    products = load_products()
    stores = load_stores()
    typer.echo(
        f"products: {len(products)} ({sum(p.brand is not None for p in products)} with a brand), "
        f"categories: {len(load_categories())}, stores: {len(stores)}"
    )
    for part_type, n in Counter(p.part_type or "bestbuy-sample" for p in products).most_common():
        typer.echo(f"  {part_type:24s} {n}")
    for kind, n in Counter(s.type for s in stores).most_common():
        typer.echo(f"  store {kind:18s} {n}")


@app.command("product")
def product(sku: str) -> None:
    """Print one imported product record."""
    from catalog import load_products

    match = next((p for p in load_products() if p.sku == sku.upper()), None)
    if match is None:
        raise typer.BadParameter(f"no product with SKU {sku}")
    typer.echo(match)
