"""`daogou build …`: plan a PC build, or an upgrade, from the command line (the same planner the
conversation uses: the knowledge graph's catalogue and the order database's stock)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Plan a complete, compatible PC build for a budget and a purpose (docs/build.md).",
    invoke_without_command=True,
)


def _store_id(store: str | None) -> int | None:
    """A store id, or the first store whose ZIP, name or city matches."""
    if store is None:
        return None
    if store.strip().isdigit():
        return int(store)
    from order_service.core.db import make_engine, make_sessionmaker
    from order_service.services.stock import Directory

    engine = make_engine(pool_size=1)
    try:
        with make_sessionmaker(engine, read_only=True)() as session:
            found = Directory(session).find_stores(store, 1)
    finally:
        engine.dispose()
    if not found:
        raise typer.BadParameter(f"no store matches {store!r}")
    return found[0].id


def _brands(brand: list[str]) -> dict[str, str]:
    """'AMD' (the CPU), 'NVIDIA' (the graphics card) or 'role=brand' ('video-card=AMD')."""
    out = {}
    for item in brand:
        role, _, name = item.rpartition("=")
        out[role or ("video-card" if name.lower() == "nvidia" else "cpu")] = name
    return out


@app.callback()
def build(
    ctx: typer.Context,
    budget: float = typer.Option(None, help="Budget, in --currency."),
    purpose: str = typer.Option(
        "gaming", help="gaming, office, video, streaming, sff or quiet (or their names)."
    ),
    currency: str = typer.Option("USD", help="USD or CNY (converted at KG_CNY_PER_USD)."),
    store: str | None = typer.Option(
        None, help="Pick-up store (id, ZIP, name or city): every part in stock there."
    ),
    fixed: list[str] = typer.Option([], "--fixed", help="A SKU the build must use (repeatable)."),
    have: list[str] = typer.Option([], "--have", help="A SKU the shopper already owns (repeatable)."),
    brand: list[str] = typer.Option([], "--brand", help="AMD, Intel, NVIDIA or role=brand (repeatable)."),
    colour: str | None = typer.Option(None, "--colour", "--color", help="white or black."),
    lang: str = typer.Option("en", help="en or zh."),
    show_json: bool = typer.Option(False, "--json", help="Print the build as JSON."),
) -> None:
    """Plan a build: `daogou build --budget 1500 --purpose gaming`."""
    if ctx.invoked_subcommand is not None:
        return
    if budget is None:
        raise typer.BadParameter("--budget is required")
    from build_planner import Constraints, NoBuild, plan

    constraints = Constraints(
        brands=_brands(brand), have=tuple(have), fixed=tuple(fixed), colour=colour, store_id=_store_id(store)
    )
    try:
        result = plan(budget, purpose, constraints, currency)
    except NoBuild as error:
        typer.echo(error.text(lang), err=True)
        raise typer.Exit(1) from None
    _show(result, lang, show_json)


@app.command("upgrade")
def upgrade(
    have: list[str] = typer.Option(..., "--have", help="A SKU the shopper owns (repeatable)."),
    role: str = typer.Option("video-card", help="The part to buy: video-card, cpu, memory, storage, …"),
    budget: float = typer.Option(..., help="Budget, in --currency."),
    purpose: str = typer.Option("gaming"),
    currency: str = typer.Option("USD"),
    lang: str = typer.Option("en"),
    show_json: bool = typer.Option(False, "--json"),
) -> None:
    """The best part of one role for a budget that fits what the shopper has:
    `daogou build upgrade --have <CPU SKU> --have <board SKU> --have <PSU SKU> --budget 400`."""
    from build_planner import NoBuild
    from build_planner import upgrade as plan_upgrade

    try:
        result = plan_upgrade(list(have), role, budget, purpose, currency)
    except NoBuild as error:
        typer.echo(error.text(lang), err=True)
        raise typer.Exit(1) from None
    _show(result, lang, show_json)


def _show(result, lang: str, as_json: bool) -> None:
    if as_json:
        import json

        typer.echo(
            json.dumps(
                {
                    "budget_usd": result.request.budget_usd,
                    "purpose": result.request.purpose,
                    "total": result.total,
                    "score": result.score,
                    "optimal": result.optimal,
                    "solve_ms": result.solve_ms,
                    "draw_w": result.draw_w,
                    "recommended_psu_w": result.recommended_psu_w,
                    "conversion": result.request.conversion.__dict__ if result.request.conversion else None,
                    "parts": [
                        {
                            "role": p.role,
                            "sku": p.sku,
                            "name": p.product.name if p.product else None,
                            "price": p.price,
                            "owned": p.owned,
                            "reason": p.reason(lang),
                        }
                        for p in result.parts
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    typer.echo(result.text(lang))
