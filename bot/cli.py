"""`commercy`: the command line. The bot, the tests and people use the same functions.

Settings are read here (and only in `bot/`); the commands call into `kpi/` with plain
arguments. A bad setting or argument ends with one line on stderr and exit code 2.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time
import uuid
from pathlib import Path
from typing import Any, NoReturn

import click

from bot.control import absolute_paths, command_path, find_bot, forward, goes_through_the_bot
from bot.settings import Settings, SettingsError, load_settings
from bot.state.feedback import KEEP_DAYS, ScopeTally
from kpi.storage.warehouse import (
    Warehouse,
    WarehouseCorrupt,
    WarehouseEmpty,
    WarehouseError,
    WarehouseLocked,
    WarehouseMissing,
    open_warehouse,
)

log = logging.getLogger("bot.cli")
FILL_IT = "run `commercy data generate` (a sample year) or `commercy data import-ga FILE`"


def _fail(message: str, code: int = 2) -> NoReturn:
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


def _advice(exc: WarehouseError) -> str:
    """What is wrong with the warehouse and what to do about it, in one line."""
    if isinstance(exc, WarehouseMissing):
        return f"{exc}: {FILL_IT}"
    if isinstance(exc, WarehouseEmpty):
        if len(exc.missing) < 6:
            return f"{exc}: run `commercy data init` to add them"
        return f"{exc}: {FILL_IT}"
    if isinstance(exc, WarehouseLocked):
        return (f"{exc}, not a running `commercy serve` this command can reach: stop that "
                "process (or let it finish) and try again")  # fmt: skip
    if isinstance(exc, WarehouseCorrupt):
        return (f"{exc}: move it away (or restore a copy) and run `commercy data generate` "
                "for a new one")  # fmt: skip
    return str(exc)


def _warehouse(ctx: click.Context, *, create: bool = False) -> Warehouse:
    """The warehouse: the running bot's own when the command runs inside it, else opened
    here. Readers (`create` false) need the ga_data tables and never make a new file;
    every state it can be in that stops the command is one line and exit code 2."""
    obj = ctx.ensure_object(dict)
    if obj.get("warehouse") is not None:
        return obj["warehouse"]
    settings = _settings(ctx)
    try:
        warehouse = open_warehouse(
            settings.database_url, create=create,
            query_timeout_seconds=settings.query_timeout_seconds,
        )  # fmt: skip
        if not create:
            warehouse.require_tables()
    except WarehouseError as exc:
        _fail(_advice(exc))
    except Exception as exc:  # a server that does not answer, a login refused (Azure SQL)
        log.debug("cannot reach the warehouse", exc_info=True)
        _fail(f"cannot reach the warehouse ({type(exc).__name__}): check COMMERCY_DATABASE_URL, "
              "the server and the network")  # fmt: skip
    obj["warehouse"] = warehouse
    obj.setdefault("opened", []).append(warehouse)  # closed when the command ends
    return warehouse


def _unreadable(what: str, where: str, exc: Exception, advice: str) -> NoReturn:
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0] if str(exc) else ""
    for prefix in ("(sqlite3.DatabaseError) ", "(sqlite3.OperationalError) "):
        reason = reason.removeprefix(prefix)
    log.debug("cannot read the %s", what, exc_info=True)
    _fail(f"cannot read the {what} {where} ({reason or type(exc).__name__}): {advice}")


def _database_errors() -> tuple[type[BaseException], ...]:
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    return (sqlite3.Error, SQLAlchemyError, OSError)


def _index(settings: Settings):  # -> rag_indexer.index.SearchIndex
    from bot.documents import open_index

    try:
        return open_index(settings)
    except _database_errors() as exc:
        _unreadable("search index", settings.index_url.removeprefix("sqlite:///"), exc,
                    "move it away and run `commercy index " + settings.docs_dir + "` to "
                    "rebuild it")  # fmt: skip


def _indexer(settings: Settings):  # -> rag_indexer.pipeline.Indexer
    from bot.documents import open_indexer

    index = _index(settings)
    try:
        return open_indexer(settings, index)
    except _database_errors() as exc:
        _unreadable("indexer's state", settings.indexer_state_url.removeprefix("sqlite:///"),
                    exc, "move it away; the indexer then reads every file again")  # fmt: skip


def _state(settings: Settings):  # -> bot.state.State
    from bot.state import State

    try:
        return State.from_url(settings.state_url)
    except _database_errors() as exc:
        _unreadable("state database", settings.state_url.removeprefix("sqlite:///"), exc,
                    "restore a copy, or move it away to start afresh (conversations then "
                    "subscribe again when they next write)")  # fmt: skip


def _forward_to_bot(argv: list[str]) -> None:
    """While a bot serves this warehouse, run a warehouse command inside it (bot/control.py
    says why); exits with the command's code when it did. Returns when no bot runs."""
    path = command_path(argv)
    if path is None:
        return
    try:
        settings = load_settings()
    except SettingsError:
        return  # the command itself says what is wrong
    if not goes_through_the_bot(path, settings.database_url):
        return  # Azure SQL: many processes share it, the command connects itself
    bot = find_bot(settings.database_url)
    if bot is None:
        return
    outcome = forward(bot, argv, absolute_paths(settings.model_dump(), Path.cwd()))
    sys.stdout.write(outcome.stdout)
    sys.stdout.flush()
    sys.stderr.write(outcome.stderr)
    sys.exit(outcome.code)


class _Commercy(click.Group):
    """The `commercy` group: forwards warehouse commands to a running bot, and turns
    every error into one line on stderr (usage: exit 2), never a traceback."""

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:  # fmt: skip
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode:
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        if extra.get("obj") is None:
            extra["obj"] = {}
        try:
            if not (extra.get("obj") or {}).get("inside_bot"):
                _forward_to_bot(argv)
            result = super().main(argv, prog_name or "commercy", complete_var,
                                  standalone_mode=False, **extra)  # fmt: skip
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "commercy"
            message = " ".join(exc.format_message().split())
            _fail(f"{message.rstrip('.')} (see `{where} --help`)".replace("commercy: ", ""))
        except click.ClickException as exc:
            _fail(" ".join(exc.format_message().split()), code=exc.exit_code)
        except (click.Abort, KeyboardInterrupt):
            _fail("stopped", code=130)
        except Exception as exc:
            correlation_id = uuid.uuid4().hex[:12]
            log.debug("unexpected error [%s]", correlation_id, exc_info=True)
            _fail(f"unexpected error {correlation_id} ({type(exc).__name__}); "
                  "COMMERCY_LOG_LEVEL=DEBUG shows where", code=1)  # fmt: skip
        finally:
            # Let go of what this command opened (a DuckDB file stays locked while open).
            for warehouse in extra["obj"].pop("opened", []):
                warehouse.close()
        sys.exit(result if isinstance(result, int) else 0)


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form") from None


def _here(ctx: click.Context, path: Path) -> Path:
    """A path the person gave, against their folder (a command run inside the bot runs
    in the bot's folder, which may be another)."""
    cwd = (ctx.obj or {}).get("cwd")
    return Path(cwd) / path if cwd and not path.is_absolute() else path


@click.group(cls=_Commercy, context_settings={"help_option_names": ["-h", "--help"]})
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
    from kpi.storage.schema import ddl as schema_ddl

    click.echo(schema_ddl(dialect), nl=False)


@data.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the ga_data schema and tables where they do not exist (idempotent)."""
    warehouse = _warehouse(ctx, create=True)
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
@click.option(
    "--catch-up",
    is_flag=True,
    help="Generate the sample year if the warehouse is empty; if it holds the sample, add "
    "the days missing up to --end (yesterday); leave imported data alone.",
)
@click.pass_context
def generate(
    ctx: click.Context, days: int, end: dt.date | None, scale: float, seed: int,
    replace: bool, if_empty: bool, catch_up: bool,
) -> None:  # fmt: skip
    """Fill the warehouse with a sample of the Google Merchandise Store.

    A sample already there is replaced; imported or production data is kept unless
    --replace is given.
    """
    from kpi.sample.provenance import holds_only_samples

    settings = _settings(ctx)
    warehouse = _warehouse(ctx, create=True)
    warehouse.create_schema()
    end = end or dt.datetime.now(settings.zone).date() - dt.timedelta(days=1)
    if not warehouse.is_empty():
        if catch_up:
            _catch_up(warehouse, end, settings.zone, days=days)
            return
        if if_empty:
            click.echo("the warehouse already holds sessions; nothing generated")
            return
        if not (replace or holds_only_samples(warehouse)):
            _fail(
                "the warehouse holds imported data; add --replace to delete it and "
                "generate a sample instead",
                code=1,
            )
        warehouse.truncate()
    _generate(warehouse, days=days, end=end, scale=scale, seed=seed, zone=settings.zone)


MAX_CATCH_UP_DAYS = 365  # a sample older than a year gets a year, not its whole gap


def _catch_up(warehouse: Warehouse, end: dt.date, zone: Any, *, days: int) -> None:
    """The days since the sample's last generated day through `end`, so a sample made
    last week still has yesterday (the morning summary's day). What the live replay wrote
    on those days (part of a day the bot ran) makes way for whole generated days, at the
    sample's scale. Without a generated sample (only live sessions), the `days` to `end`."""
    from kpi.sample.provenance import holds_only_samples

    if not holds_only_samples(warehouse):
        click.echo("the warehouse holds imported data; nothing generated")
        return
    previous = warehouse.last_sample_run() or {}
    after = previous["end_date"] if previous else end - dt.timedelta(days=days)
    first = max(after, end - dt.timedelta(days=MAX_CATCH_UP_DAYS)) + dt.timedelta(days=1)
    if first > end:
        click.echo(f"the sample is up to date (to {after}); nothing generated")
        return
    dropped = warehouse.delete_sessions(first, end)
    if dropped:
        click.echo(f"{dropped:,} live-replayed sessions from {first} to {end} make way "
                   "for whole days")  # fmt: skip
    # A seed of its own: the sample's seed would repeat its first days' visitors.
    _generate(warehouse, days=(end - first).days + 1, end=end,
              scale=float(previous.get("scale") or 1.0),
              seed=int(previous.get("seed") or 0) + end.toordinal(), zone=zone)  # fmt: skip


def _generate(
    warehouse: Warehouse, *, days: int, end: dt.date, scale: float, seed: int, zone: Any
) -> None:
    import time

    from kpi.sample.generate import generate as run_generate

    with _progress("generating", total=days) as advance:
        report = run_generate(
            warehouse, days=days, end=end, scale=scale, seed=seed, zone=zone, progress=advance,
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
    from kpi.sample.stats import check, compute_stats

    warehouse = _warehouse(ctx)
    if warehouse.is_empty():
        _fail(f"the warehouse {warehouse.where} holds no sessions: {FILL_IT}")
    figures = compute_stats(warehouse)
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
    from kpi.ga_import.importer import ImportError_
    from kpi.ga_import.importer import import_ga as run_import

    settings = _settings(ctx)
    files = tuple(_here(ctx, path) for path in files)
    for path in files:
        if not path.exists():
            _fail(f"{path}: no such file")
    warehouse = _warehouse(ctx, create=True)
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


@cli.group()
def kpi() -> None:
    """Metrics from the one catalog: queries, the daily summary, why a metric moved."""


def _as_of(settings: Settings, value: dt.date | None) -> dt.date:
    return value or dt.datetime.now(settings.zone).date()


def _period(settings: Settings, as_of: dt.date, text: str | None,
            start: dt.date | None, end: dt.date | None):  # fmt: skip
    from kpi.metrics.periods import PeriodError, default_period, explicit_period, resolve_period

    try:
        if text and (start or end):
            raise PeriodError("give either --period or --from/--to, not both")
        if text:
            return resolve_period(text, as_of)
        if start or end:
            if not (start and end):
                raise PeriodError("--from and --to go together")
            return explicit_period(start, end)
        return default_period(as_of)
    except PeriodError as exc:
        _fail(str(exc))


def _parse_filters(items: tuple[str, ...]) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            _fail(f"--filter {item!r}: write it as DIMENSION=VALUE, e.g. device=mobile")
        filters.setdefault(name.strip(), []).extend(v.strip() for v in value.split(","))
    return filters


@kpi.command("query")
@click.option("--metric", "metrics", multiple=True, required=True, help="A metric (repeatable).")
@click.option("--by", "dimensions", multiple=True, help="A dimension to group by (repeatable).")
@click.option("--filter", "filters", multiple=True, help="DIMENSION=VALUE[,VALUE] (repeatable).")
@click.option("--from", "start", callback=_date, help="First day (YYYY-MM-DD).")
@click.option("--to", "end", callback=_date, help="Last day (YYYY-MM-DD).")
@click.option("--period", help='A period in words: "지난주", "last 14 days", "10월".')
@click.option("--as-of", "as_of", callback=_date, help="Resolve periods as if today were this day.")
@click.option(
    "--compare",
    type=click.Choice(["previous", "week", "year"]),
    help="Also run the query on a comparison period.",
)
@click.option("--limit", type=click.IntRange(1, 10_000), help="At most this many rows.")
@click.option("--json", "as_json", is_flag=True, help='Print {"query": ..., "rows": [...]}.')
@click.option("--sql", "show_sql", is_flag=True, help="Print the SQL instead of running it.")
@click.option(
    "--dialect",
    type=click.Choice(["duckdb", "mssql"]),
    help="With --sql: the dialect (default: the warehouse's).",
)
@click.pass_context
def kpi_query(ctx: click.Context, metrics, dimensions, filters, start, end, period, as_of,
              compare, limit, as_json, show_sql, dialect) -> None:  # fmt: skip
    """Run a metric query from the catalog."""
    from kpi.metrics.catalog import CatalogError
    from kpi.metrics.query import MetricQuery, check_filter_values, compile_sql, run_query

    settings = _settings(ctx)
    resolved = _period(settings, _as_of(settings, as_of), period, start, end)
    try:
        query = MetricQuery.build(
            metrics, resolved.start, resolved.end, dimensions, _parse_filters(filters),
            limit=limit, compare=compare,
        )  # fmt: skip
        if show_sql:
            dialect = dialect or ("mssql" if "mssql" in settings.database_url else "duckdb")
            click.echo(compile_sql(query, dialect=dialect, zone=settings.timezone))
            return
        warehouse = _warehouse(ctx)
        query = check_filter_values(warehouse, query, zone=settings.timezone)
    except CatalogError as exc:
        _fail(str(exc))
    result = run_query(warehouse, query, zone=settings.timezone)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    _print_rows(result, resolved)


def _print_rows(result, period) -> None:
    from rich.console import Console
    from rich.table import Table

    from kpi.metrics.catalog import DIMENSIONS, METRICS
    from kpi.metrics.units import format_value

    console = Console(width=None if sys.stdout.isatty() else 120)
    console.print(f"{period.label_en} · {period.label_ko}")
    table = Table(*[DIMENSIONS[d].label_en for d in result.query.dimensions],
                  *[METRICS[m].label_en for m in result.query.metrics])  # fmt: skip
    for row in result.rows:
        table.add_row(
            *[str(row[d]) for d in result.query.dimensions],
            *[format_value(row[m], METRICS[m].unit) for m in result.query.metrics],
        )
    console.print(table)


@kpi.command("summary")
@click.option("--date", "day", callback=_date, help="The day to sum up (default: yesterday).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--chart",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the revenue chart of the last 14 days as a PNG.",
)
@click.pass_context
def kpi_summary(ctx: click.Context, day: dt.date | None, as_json: bool, chart: Path | None) -> None:
    """The morning KPI summary: headline metrics, changes, top movers, 14-day trends."""
    from kpi.insights.summary import daily_summary

    settings = _settings(ctx)
    day = day or _as_of(settings, None) - dt.timedelta(days=1)
    summary = daily_summary(_warehouse(ctx), day, zone=settings.timezone)
    if chart is not None:
        _write_summary_chart(summary, _here(ctx, chart))
    if as_json:
        click.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2))
        return
    _print_summary(summary)


def _write_summary_chart(summary, path: Path) -> None:
    from cards.chart_png import Series, line_chart_png

    points = summary.series["revenue"]
    series = Series("매출", [d for d, _ in points], [v for _, v in points])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(line_chart_png(series, unit="usd", title="최근 14일 매출", lang="ko"))


def _print_summary(summary) -> None:
    from rich.console import Console
    from rich.table import Table

    from kpi.metrics.catalog import METRICS
    from kpi.metrics.units import format_value

    console = Console(width=None if sys.stdout.isatty() else 120)
    console.print(f"KPI summary for {summary.date:%Y-%m-%d (%a)}")
    table = Table("metric", "value", "vs previous day", "vs same weekday last week")
    for line in summary.kpis:
        unit = METRICS[line.metric].unit
        table.add_row(
            f"{METRICS[line.metric].label_en} · {METRICS[line.metric].label_ko}",
            format_value(line.value, unit),
            _change(line.change_vs_previous_day, unit),
            _change(line.change_vs_week_ago, unit),
        )
    console.print(table)
    for mover in summary.movers:
        unit = METRICS[mover.metric].unit
        console.print(
            f"  {mover.dimension} {mover.segment}: {METRICS[mover.metric].label_en} "
            f"{format_value(mover.value, unit)} ({'+' if mover.change >= 0 else '-'}"
            f"{format_value(abs(mover.change), unit)} vs a week before)"
        )


def _change(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:+.2f}%p"
    return f"{value * 100:+.1f}%"


@kpi.command("why")
@click.option("--metric", "metric_name", required=True, help="The metric that moved.")
@click.option("--period", help='The period to explain, e.g. "last week" or "지난주".')
@click.option("--from", "start", callback=_date, help="First day (YYYY-MM-DD).")
@click.option("--to", "end", callback=_date, help="Last day (YYYY-MM-DD).")
@click.option(
    "--compare",
    type=click.Choice(["previous", "week", "year"]),
    default="previous",
    show_default=True,
    help="What to compare the period with.",
)
@click.option("--as-of", "as_of", callback=_date, help="Resolve periods as if today were this day.")
@click.option("--filter", "filters", multiple=True, help="DIMENSION=VALUE (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the decomposition as JSON.")
@click.pass_context
def kpi_why(ctx: click.Context, metric_name, period, start, end, compare, as_of, filters,
            as_json) -> None:  # fmt: skip
    """Why a metric moved: its change split into factors and segments that add up."""
    from kpi.insights.drivers import explain
    from kpi.metrics.catalog import CatalogError
    from kpi.metrics.periods import comparison_period

    settings = _settings(ctx)
    current = _period(settings, _as_of(settings, as_of), period, start, end)
    baseline = comparison_period(current, compare)
    single = {k: v[0] for k, v in _parse_filters(filters).items()}
    try:
        report = explain(
            _warehouse(ctx), metric_name, (current.start, current.end),
            (baseline.start, baseline.end), zone=settings.timezone, filters=single,
        )  # fmt: skip
    except CatalogError as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    _print_why(report, current, baseline)


def _print_why(report, current, baseline) -> None:
    from kpi.metrics.catalog import METRICS
    from kpi.metrics.units import format_value

    unit = METRICS[report.metric].unit
    click.echo(
        f"{METRICS[report.metric].label_en}: {format_value(report.before, unit)} "
        f"({baseline.label_en}) -> {format_value(report.after, unit)} ({current.label_en})"
    )
    for factor in report.factors:
        click.echo(f"  {factor.factor}: {format_value(factor.contribution, unit)}")
    click.echo("largest contributions:")
    for driver in report.top_drivers[:5]:
        main = driver.main_effect
        click.echo(
            f"  {driver.dimension} {driver.segment}: {format_value(driver.contribution, unit)}"
            f" (mostly {main.factor})"
        )


@cli.command()
@click.argument("question")
@click.option("--as-of", "as_of", callback=_date, help="Answer as if today were this day.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"route", "query", "rows", "sql", "text", "card"}.',
)
@click.pass_context
def ask(ctx: click.Context, question: str, as_of: dt.date | None, as_json: bool) -> None:
    """Ask Commercy a question, as in Teams, without Teams."""
    from bot.documents import embedder, library, writer
    from bot.llm import assistant
    from dialogs.context import AskContext
    from dialogs.router import answer

    settings = _settings(ctx)
    warehouse = _warehouse(ctx)
    # With an LLM, the examples people confirmed in Teams guide the CLI's answers too.
    memory = _state(settings).memory if settings.chat_model else None
    documents = library(settings, _index(settings), embedder(settings), writer(settings))
    context = AskContext(warehouse=warehouse, zone=settings.timezone,
                         as_of=_as_of(settings, as_of), library=documents,
                         assistant=assistant(settings, memory),
                         news_path=settings.news_path)  # fmt: skip
    reply = answer(question, context)
    if as_json:
        click.echo(json.dumps(reply.to_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(reply.text)


@cli.command()
@click.option("--port", type=click.IntRange(1, 65535), help="The bot's port (COMMERCY_PORT).")
@click.option(
    "--playground/--no-playground",
    default=True,
    show_default=True,
    help="Also start the Microsoft 365 Agents Playground (a local Teams).",
)
@click.option(
    "--playground-port",
    type=click.IntRange(1, 65535),
    help="The Playground's port (COMMERCY_PLAYGROUND_PORT).",
)
@click.pass_context
def serve(
    ctx: click.Context, port: int | None, playground: bool, playground_port: int | None
) -> None:
    """Start the bot (and the Agents Playground); Ctrl+C stops both."""
    from bot.serve import run

    settings = _settings(ctx)
    port = port or settings.port
    playground_port = playground_port or settings.playground_port
    running = find_bot(settings.database_url)
    if running is not None:
        _fail(f"Commercy already runs on this warehouse (PID {running.pid}); stop it first, "
              "or give this one its own COMMERCY_DATABASE_URL")  # fmt: skip
    # Every store opened and checked before anything starts: a bad one is one line here,
    # not a bot that answers each question with an apology.
    try:
        warehouse = open_warehouse(settings.database_url, create=False,
                                   query_timeout_seconds=settings.query_timeout_seconds,
                                   memory_limit=settings.warehouse_memory_limit)  # fmt: skip
    except WarehouseError as exc:
        _fail(_advice(exc))
    ctx.obj.setdefault("opened", []).append(warehouse)
    try:
        warehouse.require_tables()
    except WarehouseError as exc:
        _fail(_advice(exc))
    state, index = _state(settings), _index(settings)
    run(
        settings, port=port, playground_port=playground_port if playground else None,
        warehouse=warehouse, state=state, index=index, commands=ctx.find_root().command,
    )  # fmt: skip


@cli.group()
def alerts() -> None:
    """Risk alerts: the rules the bot checks every 5 minutes."""


@alerts.command("evaluate")
@click.option(
    "--at",
    "at_text",
    required=True,
    help="The end of the window, YYYY-MM-DDTHH:MM in the reporting time zone.",
)
@click.option("--json", "as_json", is_flag=True, help='Print {"at": ..., "alerts": [...]}.')
@click.pass_context
def alerts_evaluate(ctx: click.Context, at_text: str, as_json: bool) -> None:
    """What the check ending at --at raises (deterministic: the same data, the same answer)."""
    from kpi.insights.alerts import evaluate

    settings = _settings(ctx)
    try:
        at = dt.datetime.fromisoformat(at_text)
    except ValueError:
        _fail(f"--at {at_text!r}: write YYYY-MM-DDTHH:MM")
    at = at.replace(tzinfo=settings.zone) if at.tzinfo is None else at.astimezone(settings.zone)
    raised = evaluate(_warehouse(ctx), at, zone=settings.zone, thresholds=settings.thresholds)
    if as_json:
        payload = {"at": at.isoformat(), "alerts": [a.to_dict() for a in raised]}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
        return
    if not raised:
        click.echo(f"{at:%Y-%m-%d %H:%M}: nothing to report; every rule is within its normal range")
    for alert in raised:
        click.echo(f"{alert.severity:8} {alert.rule:20} {alert.scope:22} {alert.message_en}")


# A rule earns a hint in `alerts status` with at least this many alerts marked not
# useful, making up at least half of its marked alerts: fewer is one person's bad day.
HINT_MIN_NOT_USEFUL = 3


@alerts.command("status")
@click.option("--days", type=click.IntRange(1, KEEP_DAYS), default=30, show_default=True,
              help=f"How many days back to count (the state keeps {KEEP_DAYS}).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON (below).")
@click.pass_context
def alerts_status(ctx: click.Context, days: int, as_json: bool) -> None:
    """Per rule and scope over the last --days: alerts raised, alerts people marked
    useful (Acknowledge or Why? on the card) and not useful (the Not useful button), the
    rule's warning_score as the settings make it, and a hint naming the setting to
    change for a rule with at least 3 alerts marked not useful that are at least half
    of its marked alerts. An alert counts once however many people mark it; one marked
    useful by some and not useful by others counts in both.

    \b
    --json prints {"days": N, "since": ISO time,
      "rules": [{"rule", "sensitivity", "warning_score", "critical_score",
                 "raised", "useful", "not_useful", "marked",
                 "scopes": [{"scope", "raised", "useful", "not_useful", "marked"}],
                 "hint": null or {"setting", "value", "warning_score", "text"}}]},
    every rule of the risk check in its order (a rule it no longer has, found in the
    state, comes last with null sensitivity and scores)."""
    settings = _settings(ctx)
    state = _state(settings)
    since = dt.datetime.now(settings.zone) - dt.timedelta(days=days)
    try:
        tallies = state.feedback.tally(since.timestamp())
    except _database_errors() as exc:
        _unreadable("state database", settings.state_url.removeprefix("sqlite:///"), exc,
                    "restore a copy, or move it away to start afresh")  # fmt: skip
    finally:
        state.close()
    report = {"days": days, "since": since.isoformat(timespec="seconds"),
              "rules": _rule_reports(settings, tallies)}  # fmt: skip
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    _print_alert_status(report)


def _rule_reports(settings: Settings, tallies: list[ScopeTally]) -> list[dict[str, Any]]:
    from kpi.insights.alerts import RULES

    thresholds, sensitivity = settings.thresholds, settings.sensitivity
    known = {t.rule for t in tallies}
    reports = []
    for rule in [*RULES, *sorted(known - set(RULES))]:
        scopes = [t for t in tallies if t.rule == rule]
        totals = {key: sum(getattr(t, key) for t in scopes)
                  for key in ("raised", "useful", "not_useful", "marked")}  # fmt: skip
        limits = thresholds.rule(rule) if rule in RULES else None
        report: dict[str, Any] = {
            "rule": rule,
            "sensitivity": sensitivity.get(rule, "normal") if limits else None,
            "warning_score": limits.warning_score if limits else None,
            "critical_score": limits.critical_score if limits else None,
            **totals,
            "scopes": [
                {
                    "scope": t.scope,
                    "raised": t.raised,
                    "useful": t.useful,
                    "not_useful": t.not_useful,
                    "marked": t.marked,
                }
                for t in scopes
            ],
            "hint": None,
        }
        not_useful, marked = totals["not_useful"], totals["marked"]
        if limits and not_useful >= HINT_MIN_NOT_USEFUL and 2 * not_useful >= marked:
            report["hint"] = _sensitivity_hint(settings, rule, totals)
        reports.append(report)
    return reports


def _sensitivity_hint(settings: Settings, rule: str, totals: dict[str, int]) -> dict[str, Any]:
    """The one setting to change to make `rule` less sensitive, and the value to give it:
    the next level of COMMERCY_ALERT_SENSITIVITY, or COMMERCY_ALERT_THRESHOLDS when that
    already names the rule's scores (explicit values win over the level) or the rule is
    at "lowest" already."""
    from bot.settings import SENSITIVITY_LEVELS, effective_thresholds

    sensitivity, overrides = settings.sensitivity, settings.threshold_overrides
    current = settings.thresholds.rule(rule)
    keys = (f"{rule}.warning_score", f"{rule}.critical_score")
    level = sensitivity.get(rule, "normal")
    if level != SENSITIVITY_LEVELS[-1] and not any(key in overrides for key in keys):
        new_sensitivity = {
            **sensitivity,
            rule: SENSITIVITY_LEVELS[SENSITIVITY_LEVELS.index(level) + 1],
        }
        new_overrides = overrides
        setting, value = "COMMERCY_ALERT_SENSITIVITY", json.dumps(new_sensitivity)
    else:  # one step as big as "low" is, on the exact values
        new_sensitivity = sensitivity
        new_overrides = {**overrides, keys[0]: current.warning_score + 1,
                         keys[1]: current.critical_score + 1}  # fmt: skip
        setting, value = "COMMERCY_ALERT_THRESHOLDS", json.dumps(new_overrides)
    warning = effective_thresholds(new_sensitivity, new_overrides).rule(rule).warning_score
    text = (f"{rule}: {totals['not_useful']} of {totals['marked']} marked alerts were not "
            f"useful; to make it less sensitive set {setting}='{value}' (warning_score "
            f"{current.warning_score:g} -> {warning:g}) and restart the bot")  # fmt: skip
    return {"setting": setting, "value": value, "warning_score": warning, "text": text}


def _print_alert_status(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 120)
    since = dt.datetime.fromisoformat(report["since"])
    console.print(f"alerts of the last {report['days']} days (since {since:%Y-%m-%d %H:%M}), "
                  "as people marked them on the cards")  # fmt: skip
    table = Table("rule", "scope", "raised", "useful", "not useful", "warning_score")
    for rule in report["rules"]:
        score = "—" if rule["warning_score"] is None else f"{rule['warning_score']:g}"
        if rule["sensitivity"] not in (None, "normal"):
            score += f" ({rule['sensitivity']})"
        scopes = rule["scopes"] or [{"scope": "—", "raised": 0, "useful": 0, "not_useful": 0}]
        for scope in scopes:
            table.add_row(rule["rule"], scope["scope"], str(scope["raised"]),
                          str(scope["useful"]), str(scope["not_useful"]), score)  # fmt: skip
    console.print(table)
    for rule in report["rules"]:
        if rule["hint"]:
            console.print(f"hint: {rule['hint']['text']}", markup=False, soft_wrap=True)


@cli.group()
def stream() -> None:
    """Live events: the sample model replayed into the warehouse minute by minute."""


def _speed(_ctx: click.Context, _param: click.Parameter, value: str) -> float:
    if value.strip().lower() == "max":
        return 0.0
    try:
        speed = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number or 'max'") from None
    if speed < 0:
        raise click.BadParameter("speed must be positive, or 0 / max for as fast as possible")
    return speed


class _TenMinuteLog:
    """One line per 10 simulated minutes of a replay (on a terminal)."""

    def __init__(self) -> None:
        self.results: list = []

    def __call__(self, result) -> None:
        self.results.append(result)
        if len(self.results) == 10:
            self._print()
            self.results = []

    def _print(self) -> None:
        first = self.results[0].minute
        last = self.results[-1].minute + dt.timedelta(minutes=1)
        written = [r for r in self.results if not r.skipped]
        line = (
            f"{first:%H:%M}-{last:%H:%M} {sum(r.sessions for r in written):,} sessions, "
            f"{sum(r.hits for r in written):,} hits, "
            f"{sum(r.transactions for r in written):,} transactions, "
            f"${sum(r.revenue_usd for r in written):,.2f}"
        )
        if skipped := len(self.results) - len(written):
            line += f", {skipped} minutes already there"
        if incidents := sorted({k for r in self.results for k in r.incidents}):
            line += f" [{', '.join(incidents)}]"
        click.echo(line)


@stream.command("replay")
@click.option(
    "--speed",
    default="60",
    show_default=True,
    callback=_speed,
    help="Simulated time per real time; 0 or max: as fast as possible.",
)
@click.option(
    "--start",
    "start_text",
    help='First minute, "YYYY-MM-DD HH:MM" in the reporting time zone (default: now).',
)
@click.option(
    "--minutes",
    type=click.IntRange(1),
    help="Stop after this many simulated minutes (default: until Ctrl+C).",
)
@click.option(
    "--seed", default=0, show_default=True, type=click.IntRange(0), help="Same seed, same rows."
)
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.001, 100),
    help="Traffic relative to the real store.",
)
@click.option(
    "--inject",
    "injects",
    multiple=True,
    metavar="KIND@HH:MM[+MIN]",
    help="An incident (repeatable): checkout_bottleneck, traffic_drop, "
    "conversion_drop, payment_errors; 30 minutes unless +MIN.",
)
@click.pass_context
def stream_replay(ctx: click.Context, speed: float, start_text: str | None,
                  minutes: int | None, seed: int, scale: float,
                  injects: tuple[str, ...]) -> None:  # fmt: skip
    """Write live sessions and hits into the warehouse in 1-minute batches.

    Follows the sample model for the time of day and weekday. Run again over the same
    minutes, it continues where the last run stopped. Ctrl+C stops cleanly.
    """
    from kpi.sample.stream import parse_incident, replay

    settings = _settings(ctx)
    zone = settings.zone
    if start_text:
        try:
            start = dt.datetime.fromisoformat(start_text)
        except ValueError:
            _fail(f"--start {start_text!r}: write YYYY-MM-DD HH:MM")
        start = start.replace(tzinfo=zone) if start.tzinfo is None else start.astimezone(zone)
    else:
        start = dt.datetime.now(zone)
    start = start.replace(second=0, microsecond=0)
    try:
        incidents = [
            parse_incident(text, day=start.date(), zone=zone, not_before=start) for text in injects
        ]
    except ValueError as exc:
        _fail(f"--inject: {exc}")
    warehouse = _warehouse(ctx, create=True)
    warehouse.create_schema()
    stop = ctx.ensure_object(dict).get("stop")  # inside the bot: set when the caller goes

    def sleep(seconds: float) -> None:
        if stop is None:
            time.sleep(seconds)
        elif stop.wait(seconds):
            raise KeyboardInterrupt  # replay() ends cleanly on it

    report = replay(
        warehouse, start=start, minutes=minutes, speed=speed, zone=zone, seed=seed,
        scale=scale, incidents=incidents, sleep=sleep,
        on_batch=_TenMinuteLog() if sys.stdout.isatty() else None,
    )  # fmt: skip
    click.echo(report.summary())


@stream.command("inject")
@click.argument("kind")
@click.option(
    "--in",
    "in_minutes",
    default=-30,
    show_default=True,
    type=click.IntRange(-180, 1440),
    help="Minutes from now to its start; negative: it began that long ago, and the replay "
    "rewrites those minutes of its own as they would have been, so the next 5-minute check "
    "sees a whole look-back.",
)
@click.option(
    "--minutes",
    default=40,
    show_default=True,
    type=click.IntRange(1, 1440),
    help="How long it lasts.",
)
@click.pass_context
def stream_inject(ctx: click.Context, kind: str, in_minutes: int, minutes: int) -> None:
    """Make the running bot's live replay produce an incident: checkout_bottleneck,
    traffic_drop, conversion_drop or payment_errors. Its alert card follows in every
    subscribed conversation."""
    kinds = ("traffic_drop", "checkout_bottleneck", "conversion_drop", "payment_errors")
    if kind not in kinds:
        _fail(f"unknown incident {kind!r}: one of {', '.join(kinds)}")
    obj = ctx.ensure_object(dict)
    if not obj.get("inside_bot"):
        _fail("no running `commercy serve` for this warehouse: start it (`make run`) and "
              "inject again; `commercy stream replay --inject KIND@HH:MM` writes an incident "
              "without the bot")  # fmt: skip
    live = obj.get("live")
    if live is None:
        _fail("the bot runs without its live replay (COMMERCY_REPLAY=false): start it with "
              "the replay to inject incidents")  # fmt: skip
    try:
        report = live.inject(kind, in_minutes=in_minutes, minutes=minutes)
    except ValueError as exc:  # the replay stopped, or would not take it
        _fail(str(exc))
    click.echo(report)


# -- documents (RAG) ---------------------------------------------------------------------


@cli.command("index")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.pass_context
def index_command(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """Index PDFs now: files, or folders (whose removed files then leave the index)."""
    from rag_indexer.pipeline import SyncReport
    from rag_indexer.sources import FolderSource

    indexer = _indexer(_settings(ctx))
    logging.getLogger("rag_indexer").setLevel(logging.ERROR)  # the summary below says it all
    total = SyncReport()
    with _progress("indexing", total=len(paths)) as advance:
        for path in paths:
            if path.is_dir():
                report = indexer.sync(FolderSource(path))
            else:
                source = FolderSource(path.parent)
                report = SyncReport()
                file = next((f for f in source.files() if f.name == path.name), None)
                if file is None:
                    _fail(f"{path}: a hidden or temporary file; rename it to index it")
                seen = {f.name: f for f in indexer.state.files(source.key)}.get(file.name)
                indexer.index_file(source, file, seen, report)
            total.add(report)
            advance(1)
    for name, reason in total.quarantined:
        click.echo(f"quarantined {name}: {reason}", err=True)
    click.echo(total.summary())


@cli.command("search")
@click.argument("query")
@click.option("--top", default=5, show_default=True, type=click.IntRange(1, 50))
@click.option("--json", "as_json", is_flag=True, help='Print [{"file", "page", "score", "text"}].')
@click.pass_context
def search_command(ctx: click.Context, query: str, top: int, as_json: bool) -> None:
    """Search the indexed documents, as the bot does."""
    hits = _index(_settings(ctx)).search(query, top=top)
    if as_json:
        click.echo(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        click.echo("nothing found")
    for hit in hits:
        click.echo(f"{hit.score:.2f}  {hit.file} p.{hit.page}  {hit.section}")
        click.echo("      " + hit.text[:200].replace("\n", " "))


@cli.group("indexer", invoke_without_command=True)
@click.option(
    "--watch",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to watch (default COMMERCY_DOCS_DIR).",
)
@click.option("--blob", "container", help="A Blob container to watch (COMMERCY_BLOB_CONTAINER).")
@click.option("--poll", default=30.0, show_default=True, help="Seconds between full checks.")
@click.pass_context
def indexer_group(ctx: click.Context, folder: Path | None, container: str | None,
                  poll: float) -> None:  # fmt: skip
    """Run the indexer: keep the search index in line with a folder or a blob container."""
    if ctx.invoked_subcommand is not None:
        return
    import signal
    import threading

    from bot.documents import blob_source, folder_source
    from rag_indexer.watch import watch

    settings = _settings(ctx)
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    if container is None and folder is None:  # deployed: COMMERCY_BLOB_CONTAINER is the source
        container = settings.blob_container or None
    try:
        source = blob_source(settings, container) if container else folder_source(settings, folder)
    except ValueError as exc:
        _fail(str(exc))
    indexer = _indexer(settings)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    click.echo(f"indexer: watching {source.key}")

    def reported(report) -> None:
        if report.indexed or report.removed or report.quarantined:
            click.echo(f"indexer: {report.summary()}")
            for name, reason in report.quarantined:
                click.echo(f"indexer: quarantined {name}: {reason}")

    watch(indexer, source, stop, poll_seconds=poll, on_sync=reported)
    click.echo("indexer: stopped")


@indexer_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print documents and quarantine as JSON.")
@click.pass_context
def indexer_status(ctx: click.Context, as_json: bool) -> None:
    """The indexed documents, their passages, and the files in quarantine with why."""
    indexer = _indexer(_settings(ctx))
    documents = indexer.index.documents()
    quarantine = indexer.state.quarantined()
    if as_json:
        click.echo(json.dumps({
            "documents": [{"file": d.file, "title": d.title, "pages": d.pages,
                           "chunks": d.chunks, "source": d.source,
                           "indexed_at": dt.datetime.fromtimestamp(d.indexed_at).isoformat()}
                          for d in documents],
            "chunks": indexer.index.chunk_count(),
            "quarantine": [{"file": q.name, "reason": q.reason, "source": q.source}
                           for q in quarantine],
        }, ensure_ascii=False, indent=2))  # fmt: skip
        return
    click.echo(f"{len(documents)} documents, {indexer.index.chunk_count()} passages")
    for d in documents:
        click.echo(f"  {d.file}  {d.pages} pages, {d.chunks} passages  ({d.title})")
    click.echo(f"{len(quarantine)} in quarantine")
    for q in quarantine:
        click.echo(f"  {q.name}: {q.reason}")


@cli.group()
def news() -> None:
    """News for the dashboard: RSS/Atom feeds, topics and sentiment."""


@news.command("ingest")
@click.argument("sources", nargs=-1)
@click.option("--sample", is_flag=True, help="Also ingest the sample feed the project writes.")
@click.pass_context
def news_ingest(ctx: click.Context, sources: tuple[str, ...], sample: bool) -> None:
    """Read feeds (URLs or files; default COMMERCY_NEWS_FEEDS), tag topics, score
    sentiment (with the chat model when one is set), store new articles."""
    from bot.llm import news_scorer
    from news import NewsStore, ingest
    from news.sample import write_sample_feed

    settings = _settings(ctx)
    sources = sources or tuple(settings.feeds)
    if sample:
        written = write_sample_feed(Path(settings.news_path).with_name("news-sample.xml"),
                                    dt.datetime.now(settings.zone).date())  # fmt: skip
        sources = (*sources, str(written))
    if not sources:
        _fail("name at least one feed (a URL or a file), set COMMERCY_NEWS_FEEDS, or pass --sample")

    def progress(source: str, report: Any) -> None:
        click.echo(f"news: {source}: {report.summary()}", err=not report.ok)

    with NewsStore(settings.news_path) as store:
        report = ingest(list(sources), store, topics=settings.topics,
                        scorer=news_scorer(settings), on_source=progress)  # fmt: skip
    if len(sources) > 1:
        click.echo(f"news: {report.summary()}")
    if report.failed:
        sys.exit(1)


@cli.command("package")
@click.option("--bot-id", help="The Azure Bot's Microsoft App ID (default: MicrosoftAppId).")
@click.option("--domain", help="The bot's public host (default: COMMERCY_PUBLIC_URL's host).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("build/appPackage.zip"),
              show_default=True, help="Where to write the zip.")  # fmt: skip
@click.pass_context
def package_command(ctx: click.Context, bot_id: str | None, domain: str | None, out: Path) -> None:
    """Build the Teams app package to sideload (manifest, localisation, icons)."""
    from bot.package import PackageError, build_package

    settings = _settings(ctx)
    try:
        path = build_package(out, bot_id=bot_id or settings.app_id,
                             domain=domain or settings.public_url)  # fmt: skip
    except PackageError as exc:
        _fail(str(exc))
    click.echo(f"wrote {path}: upload it in Teams (Apps > Manage your apps > Upload an app)")


@cli.command("feedback")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="How many of the latest feedbacks to list.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON (below).")
@click.pass_context
def feedback_command(ctx: click.Context, limit: int, as_json: bool) -> None:
    """The latest 👍/👎 people gave the bot's answers in Teams, newest first, with the
    question, route and comment, and the counts per route over all stored feedback.

    \b
    --json prints {"counts": {route: {"like": N, "dislike": N}},
      "feedback": [{"feedback_id", "answer_id", "conversation_id", "message_id",
                    "reaction", "comment", "question", "route", "query", "user_id",
                    "user_name", "at" (ISO time)}]}"""
    settings = _settings(ctx)
    state = _state(settings)
    try:
        recent = state.answers.recent_feedback(limit)
        counts = state.answers.counts_by_route()
    except _database_errors() as exc:
        _unreadable("state database", settings.state_url.removeprefix("sqlite:///"), exc,
                    "restore a copy, or move it away to start afresh")  # fmt: skip
    finally:
        state.close()
    rows = []
    for item in recent:
        row = item.to_dict()
        row["at"] = dt.datetime.fromtimestamp(item.at, settings.zone).isoformat(timespec="seconds")
        rows.append(row)
    report = {
        "counts": {route: {"like": c["like"], "dislike": c["dislike"]}
                   for route, c in sorted(counts.items())},
        "feedback": rows,
    }  # fmt: skip
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no feedback yet")
        return
    for route, count in report["counts"].items():
        click.echo(f"{route or '(unknown answer)'}: 👍 {count['like']}  👎 {count['dislike']}")
    click.echo("")
    for row in rows:
        mark = "👍" if row["reaction"] == "like" else "👎"
        comment = f" - {row['comment']}" if row["comment"] else ""
        click.echo(f"{row['at']} {mark} [{row['route'] or '?'}] {row['question'] or '?'}{comment}")


def main() -> None:
    cli(obj={})


if __name__ == "__main__":
    main()
