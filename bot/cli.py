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


@data.command("import-ga")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--batch-size", default=2000, show_default=True, help="Sessions per transaction.")
@click.pass_context
def import_ga(ctx: click.Context, files: tuple[Path, ...], batch_size: int) -> None:
    """Import Google Analytics exports: Kaggle train.csv / train_v2.csv, or BigQuery
    ga_sessions newline-delimited JSON (.json, .jsonl, .ndjson, optionally .gz).

    Re-importing a file adds nothing; bad rows are reported with their line and skipped.
    """
    from kpi.importer import ImportError_, import_ga as run_import

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
