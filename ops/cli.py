"""`daogou`: the operators' command-line tool.

Each capability contributes a Typer sub-application from its own package (`<package>/cli.py`,
exporting `app`); this module only mounts them, so adding a command never touches another package.
"""

from __future__ import annotations

import importlib
import shlex

import typer

from daogou.config import Settings, exported_environment, get_settings, unsafe_settings

app = typer.Typer(
    help="Daogou shopping assistant: data, indexes, training, search, benchmarks.", no_args_is_help=True
)

# (sub-command, module exporting a Typer `app`)
SUBCOMMANDS = [
    ("db", "order_service.cli"),
    ("analytics", "order_service.analytics_cli"),
    ("catalog", "catalog.cli"),
    ("kg", "knowledge_graph.cli"),
    ("faq", "faq.cli"),
    ("recommend", "recommender.cli"),
    ("build", "build_planner.cli"),
    ("bot", "ops.bot_cli"),
    ("bench", "benchmarks.cli"),
    ("campaign", "outreach.cli"),
]

# The demo data's commands (demo/cli.py) appear where operators look for them: (sub-command, command).
DEMO_COMMANDS = [("db", "load-demo"), ("recommend", "demo-history"), ("analytics", "demo-events")]

mounted: dict[str, typer.Typer] = {}
for name, module in SUBCOMMANDS:
    try:
        sub = importlib.import_module(module).app
    except ModuleNotFoundError as exc:  # a capability not installed yet in this checkout
        if exc.name and module.startswith(exc.name):
            continue
        raise
    app.add_typer(sub, name=name)
    mounted[name] = sub

_demo_commands = {c.name: c.callback for c in importlib.import_module("demo.cli").app.registered_commands}
for group, command in DEMO_COMMANDS:
    if group in mounted:
        mounted[group].command(command)(_demo_commands[command])


@app.callback()
def main() -> None:
    """Daogou shopping assistant: data, indexes, training, search, benchmarks."""


def _check(current: Settings) -> None:
    """The settings and the order database as production mode judges them (order_service.main)."""
    from order_service.core.db import make_engine
    from order_service.main import production_problems

    engine = make_engine(current.db_url)
    try:
        problems = production_problems(current.model_copy(update={"production": True}), engine)
    except Exception as error:  # no database yet: the settings alone
        typer.echo(f"(order database not checked: {type(error).__name__})", err=True)
        problems = unsafe_settings(current)
    finally:
        engine.dispose()
    for problem in problems:
        typer.echo(f"unsafe: {problem}")
    if problems:
        raise typer.Exit(1)
    typer.echo("nothing unsafe found")


@app.command("config")
def show_config(
    markdown: bool = typer.Option(False, help="Print the README's configuration table."),
    env: bool = typer.Option(False, help="Print shell-quoted KEY=VALUE lines for the process supervisor."),
    check: bool = typer.Option(
        False, help="Say what is unsafe for production (secrets, demo passwords); exit 1 if anything is."
    ),
) -> None:
    """Show every setting, its environment variable, its current value and what it does."""
    current = get_settings()
    if check:
        _check(current)
        return
    if env:
        values = exported_environment(current)
        # Quoted for the shell that sources them: empty values must stay defined (Rasa refuses to
        # start when a ${VAR} in credentials.yml is unset), which honcho's own env-file parser drops.
        typer.echo("\n".join(f"{key}={shlex.quote(str(value))}" for key, value in values.items()))
        return
    if markdown:
        typer.echo("| variable | default | meaning |\n|---|---|---|")
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, type(current.data_dir)):
            default = "<repo>/" + str(default.relative_to(Settings.model_fields["state_dir"].default.parent))
        if markdown:
            typer.echo(f"| `{name.upper()}` | `{default}` | {field.description} |")
        else:
            typer.echo(f"{name.upper()}={getattr(current, name)}    # {field.description}")


@app.command()
def prepare() -> None:
    """Everything `make run` needs before it starts the processes, in one process (each step skips
    itself when up to date): migrate, load the demo shop into an empty database, build the FAQ index,
    train the shop recommender and the Rasa model."""
    from demo import cli as demo_cli
    from faq import cli as faq_cli
    from ops import bot_cli
    from order_service import cli as db_cli
    from recommender import cli as recommend_cli

    db_cli.upgrade(revision="head", url=None)
    demo_cli.load_demo(force=False, url=None, orders=True)
    faq_cli.build()
    recommend_cli.train(history=None, force=False)
    bot_cli.train(force=False)


@app.command()
def health(
    watch: bool = typer.Option(False, help="Wait for every service, print the URLs, keep watching."),
) -> None:
    """Check that every process of the running assistant answers."""
    from ops import health as checks

    if watch:
        checks.watch()
        return
    results = checks.status()
    for name, ok in results.items():
        typer.echo(f"{'up  ' if ok else 'DOWN'}  {name}")
    raise typer.Exit(0 if all(results.values()) else 1)


@app.command()
def web() -> None:
    """Serve the chat page (bot/web) on $WEB_PORT."""
    from ops.web import main as serve

    serve()


if __name__ == "__main__":
    app()
