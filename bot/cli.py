"""`commercy`: the command line. The bot, the tests and people use the same functions.

Settings are read here (and only in `bot/`); the commands call into `kpi/` with plain
arguments. A bad setting or argument ends with one line on stderr and exit code 2.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from pathlib import Path

import click

from bot.settings import Settings, SettingsError, load_settings
from kpi.warehouse import Warehouse, WarehouseError, open_warehouse


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"commercy: {message}", err=True)
    sys.exit(code)


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.obj.get("settings") if ctx.obj else None
    if settings is None:
        try:
            settings = load_settings()
        except SettingsError as exc:
            _fail(str(exc))
        ctx.ensure_object(dict)["settings"] = settings
    return settings


def _warehouse(ctx: click.Context) -> Warehouse:
    settings = _settings(ctx)
    try:
        return open_warehouse(
            settings.database_url, query_timeout_seconds=settings.query_timeout_seconds
        )
    except WarehouseError as exc:
        _fail(str(exc), code=1)
        raise  # unreachable; keeps type checkers content


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Commercy: the analytics assistant for e-commerce marketers in Teams."""
    ctx.ensure_object(dict)
    settings = _settings(ctx)
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")


@cli.group()
def data() -> None:
    """The warehouse: schema, sample data, statistics and GA imports."""


@data.command()
@click.option(
    "--dialect",
    type=click.Choice(["duckdb", "mssql"]),
    default="duckdb",
    show_default=True,
    help="mssql is Azure SQL or a Fabric warehouse SQL endpoint.",
)
def ddl(dialect: str) -> None:
    """Print the CREATE statements of the ga_data schema."""
    from kpi.schema import ddl as schema_ddl

    click.echo(schema_ddl(dialect), nl=False)


@data.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the ga_data schema and tables where they do not exist (idempotent)."""
    warehouse = _warehouse(ctx)
    warehouse.create_schema()
    click.echo(f"ga_data is ready ({warehouse.dialect_name})")


@data.command()
@click.option(
    "--days",
    default=365,
    show_default=True,
    type=click.IntRange(1, 3660),
    help="How many days of sessions.",
)
@click.option("--end", callback=_date, help="Last day (YYYY-MM-DD); default yesterday.")
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.001, 100),
    help="Traffic relative to the real store.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Same seed, same rows.")
@click.option("--replace", is_flag=True, help="Delete whatever the warehouse holds first.")
@click.option("--if-empty", is_flag=True, help="Do nothing if the warehouse holds sessions.")
@click.pass_context
def generate(
    ctx: click.Context, days: int, end: dt.date | None, scale: float, seed: int,
    replace: bool, if_empty: bool,
) -> None:  # fmt: skip
    """Fill the warehouse with a sample of the Google Merchandise Store.

    A sample already there is replaced; imported or production data is kept unless
    --replace is given.
    """
    import time

    from kpi.generate import generate as run_generate

    settings = _settings(ctx)
    warehouse = _warehouse(ctx)
    warehouse.create_schema()
    if not warehouse.is_empty():
        if if_empty:
            click.echo("the warehouse already holds sessions; nothing generated")
            return
        if not (replace or warehouse.holds_only_samples()):
            _fail(
                "the warehouse holds imported data; add --replace to delete it and "
                "generate a sample instead",
                code=1,
            )
        warehouse.truncate()
    end = end or dt.datetime.now(settings.zone).date() - dt.timedelta(days=1)
    with _progress("generating", total=days) as advance:
        report = run_generate(
            warehouse, days=days, end=end, scale=scale, seed=seed, zone=settings.zone,
            progress=advance,
        )  # fmt: skip
    warehouse.record_sample_run({
        "generated_at": int(time.time()), "start_date": report.start, "end_date": report.end,
        "scale": scale, "seed": seed, "sessions": report.sessions,
    })  # fmt: skip
    click.echo(report.summary())


@data.command()
@click.option("--json", "as_json", is_flag=True, help="Print every figure as JSON.")
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Print the figures of ga-facts.md for whatever the warehouse holds."""
    from kpi.stats import check, compute_stats

    warehouse = _warehouse(ctx)
    warehouse.create_schema()
    figures = compute_stats(warehouse)
    if not figures.get("sessions", 1):
        _fail("the warehouse holds no sessions; run `commercy data generate` first", code=1)
    checks = check(figures)
    if as_json:
        figures["checks"] = [
            {"figure": fact.path, "value": value, "real": fact.real, "low": fact.low,
             "high": fact.high, "within": within}
            for fact, value, within in checks
        ]  # fmt: skip
        click.echo(json.dumps(figures, indent=2, ensure_ascii=False, default=str))
        return
    _print_stats(figures, checks)


def _print_stats(figures: dict, checks: list) -> None:
    from rich.console import Console
    from rich.table import Table

    # Piped output (make run, CI logs) gets a readable width instead of rich's 80.
    console = Console(width=None if sys.stdout.isatty() else 120)
    period, volume = figures["period"], figures["volume"]
    console.print(
        f"{period['first_date']} .. {period['last_date']} ({period['days']} days): "
        f"{volume['sessions']:,} sessions, {volume['users']:,} visitors, "
        f"revenue ${figures['money']['revenue']:,.2f}"
    )
    table = Table("figure", "measured", "real store", "accepted", "")
    for fact, value, within in checks:
        shown = "—" if value is None else f"{value:,.4g}"
        mark = "[green]✓[/green]" if within else "[red]✗[/red]"
        table.add_row(fact.path, shown, fact.real, f"{fact.low:g} .. {fact.high:g}", mark)
    console.print(table)
    months = ", ".join(f"{m} {n:,}" for m, n in volume["sessions_by_month"].items())
    console.print(f"sessions by month: {months}")


class _progress:
    """A rich progress bar on a terminal; silent when output is piped (CI, logs)."""

    def __init__(self, description: str, total: int) -> None:
        self.description, self.total = description, total
        self.bar = None

    def __enter__(self):
        if not sys.stderr.isatty():
            return lambda _done: None
        from rich.progress import Progress

        self.bar = Progress(transient=True)
        self.bar.start()
        task = self.bar.add_task(self.description, total=self.total)
        return lambda done: self.bar.advance(task, done)

    def __exit__(self, *_exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


@data.command("import-ga")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--batch-size", default=2000, show_default=True, help="Sessions per transaction.")
@click.pass_context
def import_ga(ctx: click.Context, files: tuple[Path, ...], batch_size: int) -> None:
    """Import Google Analytics exports: Kaggle train.csv / train_v2.csv, or BigQuery
    ga_sessions newline-delimited JSON (.json, .jsonl, .ndjson, optionally .gz).

    Re-importing a file adds nothing; bad rows are reported with their line and skipped.
    """
    from kpi.importer import ImportError_
    from kpi.importer import import_ga as run_import

    settings = _settings(ctx)
    for path in files:
        if not path.exists():
            _fail(f"{path}: no such file")
    warehouse = _warehouse(ctx)
    warehouse.create_schema()
    try:
        report = run_import(
            warehouse,
            list(files),
            zone=settings.zone,
            batch_size=batch_size,
            progress=sys.stderr.isatty(),
        )
    except ImportError_ as exc:
        _fail(str(exc), code=1)
    for problem in report.problems:
        click.echo(f"skipped {problem}", err=True)
    click.echo(report.summary())


def main() -> None:
    cli(obj={})


if __name__ == "__main__":
    main()
