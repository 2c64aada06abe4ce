"""`daogou kg …`: build the product graph and query it from the command line."""

from __future__ import annotations

import json
import time

import typer

app = typer.Typer(
    help="Product knowledge graph: build, search, product details, compatibility.", no_args_is_help=True
)

Lang = typer.Option("en", "--lang", "-l", help="Language of the output: en or zh.")


def _graph():
    from knowledge_graph.store import load_graph

    return load_graph()


def _check_lang(lang: str) -> str:
    if lang not in ("en", "zh"):
        raise typer.BadParameter("language must be en or zh")
    return lang


@app.command("build")
def build(force: bool = typer.Option(False, help="Rebuild even when the cache is current.")) -> None:
    """Build (or load from cache) the graph and print its size."""
    from knowledge_graph.store import load_graph

    started = time.perf_counter()
    graph = load_graph(rebuild=force)
    typer.echo(
        f"{len(graph.products)} products, {graph.graph.number_of_nodes()} nodes, "
        f"{graph.graph.number_of_edges()} edges, fingerprint {graph.fingerprint} "
        f"({time.perf_counter() - started:.1f} s)"
    )


@app.command("search")
def search_cmd(
    words: list[str] = typer.Argument(
        ..., help='What to look for, e.g. "AMD CPU under $300" or "300美元以下的AMD处理器".'
    ),
    brand: list[str] = typer.Option([], "--brand", "-b", help="Only these brands (repeatable)."),
    price_min: float | None = typer.Option(None, help="Lowest price (USD)."),
    price_max: float | None = typer.Option(None, help="Highest price (USD)."),
    sort: str = typer.Option("relevance", help="relevance, price_asc or price_desc."),
    page: int = typer.Option(1, min=1),
    page_size: int = typer.Option(10, min=1, max=100),
    lang: str = Lang,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Search the catalogue with shopper wording plus optional explicit constraints."""
    from dataclasses import replace

    from knowledge_graph.api import spec_line
    from knowledge_graph.parse import parse_search
    from knowledge_graph.search import query_to_dict, search
    from knowledge_graph.vocab import format_price

    _check_lang(lang)
    graph = _graph()
    try:
        q = parse_search(graph, " ".join(words)).query
        q = replace(
            q,
            brands=tuple(brand) or q.brands,
            price_min=price_min if price_min is not None else q.price_min,
            price_max=price_max if price_max is not None else q.price_max,
            sort=sort if sort != "relevance" else q.sort,
            page=page,
            page_size=page_size,
        )
        result = search(graph, q)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "query": query_to_dict(result.query),
                    "total": result.total,
                    "relaxed": [r.constraint for r in result.relaxed],
                    "items": [{"sku": p.sku, "name": p.name, "price": p.price} for p in result.items],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    typer.echo(f"{result.total} × {result.query.describe(graph, lang)}")
    for r in result.relaxed:
        typer.echo(("  已放宽：" if lang == "zh" else "  relaxed: ") + r.text(lang))
    for p in result.items:
        typer.echo(f"  {p.sku}  {format_price(p.price, lang):>12}  {p.name}  [{spec_line(p, lang)}]")


@app.command("product")
def product_cmd(
    sku: str,
    lang: str = Lang,
    fits: bool = typer.Option(False, help="Also list what fits with it."),
    alternatives: bool = typer.Option(False, help="Also list similar, cheaper and better products."),
) -> None:
    """Everything the graph knows about one product."""
    from knowledge_graph import api
    from knowledge_graph.vocab import format_price, part_type_name

    _check_lang(lang)
    graph = _graph()
    try:
        info = api.details(graph, sku, lang)
    except KeyError as exc:
        raise typer.BadParameter(str(exc)) from exc
    p = info.product
    typer.echo(
        f"{p.sku}  {p.name}\n  {format_price(p.price, lang)} · {p.brand or '–'} · {' > '.join(info.category_path)}"
    )
    for s in info.specs:
        typer.echo(f"  {s.name}: {s.text}")
    if fits:
        for group in api.compatible_with(graph, p.sku):
            typer.echo(f"fits ({part_type_name(group.part_type, lang)}, {group.reason(lang)}): {group.total}")
            for q in group.products:
                typer.echo(f"  {q.sku}  {q.name}  {format_price(q.price, lang)}")
    if alternatives:
        for mode in ("similar", "cheaper", "better"):
            typer.echo(f"{mode}:")
            for q in api.similar(graph, p.sku, mode):
                typer.echo(f"  {q.sku}  {q.name}  {format_price(q.price, lang)}")


@app.command("compat")
def compat_cmd(sku_a: str, sku_b: str, lang: str = Lang) -> None:
    """Whether two parts work together, and why."""
    from knowledge_graph import api

    _check_lang(lang)
    try:
        result = api.compatibility(_graph(), sku_a, sku_b)
    except KeyError as exc:
        raise typer.BadParameter(str(exc)) from exc
    verdict = {True: "compatible", False: "NOT compatible", None: "unknown"}[result.compatible]
    typer.echo(f"{verdict}: {result.text(lang)}")


@app.command("check-build")
def check_build_cmd(skus: list[str], lang: str = Lang) -> None:
    """Whether a set of parts works together as one PC (sockets, memory, case, power)."""
    from knowledge_graph import api

    _check_lang(lang)
    try:
        result = api.check_build(_graph(), skus)
    except (KeyError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    verdict = {True: "compatible", False: "NOT compatible", None: "cannot confirm everything"}[
        result.compatible
    ]
    typer.echo(f"{verdict} (≈{result.estimated_draw_w} W, PSU ≥ {result.recommended_psu_w} W)")
    for reason in result.reasons:
        typer.echo(f"  {'✓' if reason.ok else '✗' if reason.ok is False else '?'} {reason.text(lang)}")


@app.command("compare")
def compare_cmd(skus: list[str], lang: str = Lang) -> None:
    """2–4 products side by side."""
    from knowledge_graph import api

    _check_lang(lang)
    try:
        table = api.compare(_graph(), skus, lang)
    except (KeyError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    for row in table.table():
        typer.echo(" | ".join(row))


@app.command("ask")
def ask_cmd(question: list[str], lang: str | None = typer.Option(None, "--lang", "-l")) -> None:
    """Answer a free-form question ("how many cores does the Ryzen 7 9800X3D have?")."""
    from daogou.language import detect
    from knowledge_graph import api

    text = " ".join(question)
    language = lang or detect(text) or "en"
    a = api.answer(_graph(), text, _check_lang(language))
    typer.echo(f"[{a.kind}] {a.text}")
