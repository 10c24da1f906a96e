"""MetricQuery: what a person asks for, compiled to SQL with SQLAlchemy Core and run.

A query names metrics, dimensions, filters and a closed range of dates. The compiler
builds one SELECT per grain its metrics need (session, hit or product rows), joining
only the tables those metrics, dimensions and filters use, so the same query runs on
DuckDB and compiles for Azure SQL (`mssql`). Rows come back keyed by the canonical
dimension and metric names; ratios are fractions; a ratio over nothing is None.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Date, Double, Integer, Select, and_, case, cast, distinct, func, literal
from sqlalchemy import select as sa_select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from kpi.metrics.catalog import (
    AGGREGATES,
    DIMENSIONS,
    METRICS,
    CatalogError,
    Dimension,
    Grain,
    canonical_value,
    dimension,
    metric,
)
from kpi.storage import schema
from kpi.storage.schema import dialect_named

COMPARISONS = ("previous", "week", "year")


@dataclass(frozen=True)
class MetricQuery:
    """Metrics over [start, end] by dimensions, filtered; names are canonical."""

    metrics: tuple[str, ...]
    start: dt.date
    end: dt.date
    dimensions: tuple[str, ...] = ()
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    order_by: str | None = None
    descending: bool = True
    limit: int | None = None
    compare: str | None = None

    @classmethod
    def build(
        cls,
        metrics: Sequence[str],
        start: dt.date,
        end: dt.date,
        dimensions: Sequence[str] = (),
        filters: Mapping[str, str | Sequence[str]] | None = None,
        order_by: str | None = None,
        descending: bool = True,
        limit: int | None = None,
        compare: str | None = None,
    ) -> MetricQuery:
        """A checked query from names or synonyms (매출, 기기별, ...). Filter values are
        mapped through the catalog's value synonyms (모바일 -> mobile) but not checked
        against the data: `check_filter_values` does that with a warehouse at hand."""
        if not metrics:
            raise CatalogError("name at least one metric")
        names = tuple(dict.fromkeys(metric(m).name for m in metrics))
        dims = tuple(dict.fromkeys(dimension(d).name for d in dimensions))
        checked_filters = []
        for key, values in (filters or {}).items():
            dim = dimension(key)
            listed = [values] if isinstance(values, str) else list(values)
            if not listed:
                raise CatalogError(f"filter {dim.name} has no value")
            checked_filters.append((dim.name, tuple(canonical_value(dim, v) for v in listed)))
        if end < start:
            raise CatalogError(f"the period ends ({end}) before it starts ({start})")
        if order_by is not None:
            order_by = metric(order_by).name
            if order_by not in names:
                names = (*names, order_by)
        if limit is not None and limit < 1:
            raise CatalogError("limit must be at least 1")
        if compare is not None and compare not in COMPARISONS:
            raise CatalogError(f"compare must be one of {', '.join(COMPARISONS)}")
        query = cls(names, start, end, dims, tuple(sorted(checked_filters)), order_by,
                    descending, limit, compare)  # fmt: skip
        query.grains()  # raises on product dimensions with session metrics
        return query

    @property
    def filter_map(self) -> dict[str, tuple[str, ...]]:
        return dict(self.filters)

    def with_period(self, start: dt.date, end: dt.date) -> MetricQuery:
        return replace(self, start=start, end=end, compare=None)

    def grains(self) -> dict[Grain, list[str]]:
        """Metrics grouped by the grain they are computed at."""
        by_grain: dict[Grain, list[str]] = {}
        for name in self.metrics:
            by_grain.setdefault(METRICS[name].grain, []).append(name)
        used = set(self.dimensions) | set(self.filter_map)
        product_dims = [d for d in used if DIMENSIONS[d].product_only]
        if product_dims and set(by_grain) != {"product"}:
            raise CatalogError(
                f"{', '.join(product_dims)} pairs with product metrics only "
                "(product_revenue); ask for those separately"
            )
        return by_grain

    def to_dict(self) -> dict[str, Any]:
        """The query as JSON: what `kpi query --json` and `ask --json` print, what the bot
        keeps for follow-ups, and what `from_dict` reads back."""
        return {
            "metrics": list(self.metrics),
            "dimensions": list(self.dimensions),
            "filters": {k: list(v) for k, v in self.filters},
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "order_by": self.order_by,
            "descending": self.descending,
            "limit": self.limit,
            "compare": self.compare,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetricQuery:
        """The query `to_dict` wrote, checked again by `build`. Only "metrics", "start" and
        "end" are required; a filter's values may be one string or a list. Raises
        CatalogError for names the catalog does not know, ValueError for a bad date."""
        missing = [key for key in ("metrics", "start", "end") if key not in data]
        if missing:
            raise CatalogError(f"a query needs {', '.join(missing)}")
        return cls.build(
            data["metrics"],
            dt.date.fromisoformat(data["start"]),
            dt.date.fromisoformat(data["end"]),
            data.get("dimensions") or (),
            data.get("filters") or None,
            order_by=data.get("order_by"),
            descending=data.get("descending", True),
            limit=data.get("limit"),
            compare=data.get("compare"),
        )


# -- dialect-specific pieces ----------------------------------------------------------


class _WeekStart(FunctionElement):
    type = Date()
    inherit_cache = True


class _MonthStart(FunctionElement):
    type = Date()
    inherit_cache = True


class _IsoWeekday(FunctionElement):
    type = Integer()
    inherit_cache = True


class _Category(FunctionElement):
    """The second segment of a GA category path: Home/Apparel/Men's/ -> Apparel."""

    inherit_cache = True


class _LocalHour(FunctionElement):
    """Hour of a UNIX-seconds column in a named time zone (the second argument)."""

    type = Integer()
    inherit_cache = True


@compiles(_WeekStart, "duckdb")
def _week_duckdb(element, compiler, **kw):
    return f"CAST(date_trunc('week', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(_WeekStart, "mssql")
def _week_mssql(element, compiler, **kw):
    d = compiler.process(element.clauses, **kw)
    return f"DATEADD(day, -((DATEPART(weekday, {d}) + @@DATEFIRST - 2) % 7), {d})"


@compiles(_MonthStart, "duckdb")
def _month_duckdb(element, compiler, **kw):
    return f"CAST(date_trunc('month', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(_MonthStart, "mssql")
def _month_mssql(element, compiler, **kw):
    d = compiler.process(element.clauses, **kw)
    return f"DATEFROMPARTS(YEAR({d}), MONTH({d}), 1)"


@compiles(_IsoWeekday, "duckdb")
def _weekday_duckdb(element, compiler, **kw):
    return f"isodow({compiler.process(element.clauses, **kw)})"


@compiles(_IsoWeekday, "mssql")
def _weekday_mssql(element, compiler, **kw):
    d = compiler.process(element.clauses, **kw)
    return f"((DATEPART(weekday, {d}) + @@DATEFIRST - 2) % 7 + 1)"


@compiles(_Category, "duckdb")
def _category_duckdb(element, compiler, **kw):
    return f"split_part({compiler.process(element.clauses, **kw)}, '/', 2)"


@compiles(_Category, "mssql")
def _category_mssql(element, compiler, **kw):
    c = compiler.process(element.clauses, **kw)
    first = f"CHARINDEX('/', {c})"
    second = f"CHARINDEX('/', {c} + '/', {first} + 1)"
    segment = f"SUBSTRING({c}, {first} + 1, {second} - {first} - 1)"
    return f"(CASE WHEN {first} = 0 THEN '' ELSE {segment} END)"


@compiles(_LocalHour, "duckdb")
def _hour_duckdb(element, compiler, **kw):
    column, zone = list(element.clauses)
    return (
        f"hour(timezone({compiler.process(zone, **kw)}, "
        f"to_timestamp({compiler.process(column, **kw)})))"
    )


# Azure SQL's AT TIME ZONE takes Windows zone names.
WINDOWS_ZONES = {
    "Asia/Seoul": "Korea Standard Time", "UTC": "UTC", "Etc/UTC": "UTC",
    "Asia/Tokyo": "Tokyo Standard Time", "America/Los_Angeles": "Pacific Standard Time",
    "America/New_York": "Eastern Standard Time", "America/Chicago": "Central Standard Time",
    "Europe/London": "GMT Standard Time", "Europe/Berlin": "W. Europe Standard Time",
    "Europe/Paris": "Romance Standard Time", "Asia/Singapore": "Singapore Standard Time",
    "Australia/Sydney": "AUS Eastern Standard Time", "Asia/Kolkata": "India Standard Time",
}  # fmt: skip


@compiles(_LocalHour, "mssql")
def _hour_mssql(element, compiler, **kw):
    column, zone = list(element.clauses)
    zone_name = zone.value
    if zone_name not in WINDOWS_ZONES:
        raise CatalogError(f"the hour dimension on Azure SQL does not know the zone {zone_name}")
    c = compiler.process(column, **kw)
    return (
        f"DATEPART(hour, DATEADD(second, CAST({c} AS INT), CAST('1970-01-01' AS DATETIME2)) "
        f"AT TIME ZONE 'UTC' AT TIME ZONE '{WINDOWS_ZONES[zone_name]}')"
    )


# -- compiling ------------------------------------------------------------------------


@dataclass
class _Tables:
    """Aliases of the ga_data tables, joined on demand to one grain's base table."""

    grain: Grain
    aliases: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.aliases = {
            "s": schema.sessions.alias("s"),
            "t": schema.totals.alias("t"),
            "tr": schema.traffic.alias("tr"),
            "dg": schema.device_geo.alias("dg"),
            "h": schema.hits.alias("h"),
            "hp": schema.hits_product.alias("hp"),
        }
        self.used: list[str] = []

    def __getitem__(self, alias: str):
        if alias not in self.used:
            self.used.append(alias)
        return self.aliases[alias]

    def from_clause(self):
        a = self.aliases
        base = {"session": "s", "hit": "h", "product": "hp"}[self.grain]
        joined = a[base]
        done = {base}
        # Hits and product rows reach the session tables through Sessions.
        chain = {"product": ["h", "s"], "hit": ["s"], "session": []}[self.grain]
        for alias in chain:
            if alias == "h":
                joined = joined.join(a["h"], a["h"].c.hit_key == a["hp"].c.hit_key)
            else:
                joined = joined.join(a["s"], a["s"].c.session_key == a["h"].c.session_key)
            done.add(alias)
        for alias in self.used:
            if alias in done:
                continue
            joined = joined.join(a[alias], a[alias].c.session_key == a["s"].c.session_key)
            done.add(alias)
        return joined


def dimension_expression(dim: Dimension, tables: _Tables, zone: str) -> ColumnElement:
    column = tables[dim.table].c[dim.column]
    if dim.transform == "week":
        return _WeekStart(column)
    if dim.transform == "month":
        return _MonthStart(column)
    if dim.transform == "weekday":
        return _IsoWeekday(column)
    if dim.transform == "hour":
        return _LocalHour(column, literal(zone))
    if dim.transform == "category":
        return _Category(column)
    if dim.transform == "visitor_type":
        return case((column == 1, literal("new")), else_=literal("returning"))
    return column


def _aggregate_expression(name: str, tables: _Tables) -> ColumnElement:
    agg = AGGREGATES[name]
    if agg.kind == "count":
        return func.count()
    column = tables[agg.table].c[agg.column] if agg.column else None
    if agg.kind == "count_distinct":
        return func.count(distinct(column))
    # metrics.md: NULL counts as 0, so a group with no transactions has 0 of them.
    if agg.kind == "sum":
        return func.coalesce(func.sum(column), 0)
    if agg.kind == "sum_micros":
        return cast(func.coalesce(func.sum(column), 0), Double) / 1_000_000.0
    if agg.kind == "count_sessions_with":
        h = tables["h"]
        return func.count(distinct(case((h.c.actionType == agg.action_type, h.c.session_key))))
    raise ValueError(f"unknown aggregate kind {agg.kind}")


def _metric_expression(name: str, tables: _Tables) -> ColumnElement:
    m = METRICS[name]
    numerator = _aggregate_expression(m.numerator, tables)
    if m.denominator is None:
        return numerator
    ratio = cast(numerator, Double) / func.nullif(_aggregate_expression(m.denominator, tables), 0)
    return 1 - ratio if m.complement else ratio


def scoped(query: MetricQuery, grain: Grain, *, zone: str) -> tuple[_Tables, list[ColumnElement]]:
    """The tables of `grain` (joined as they are used) and the conditions that keep the
    query's period and filters: what every statement over `query`'s scope starts from,
    the catalog's and the dashboard's (kpi/insights/dashboard.py) alike."""
    tables = _Tables(grain)
    s = tables["s"]
    conditions: list[ColumnElement] = [s.c.date >= query.start, s.c.date <= query.end]
    for name, values in query.filters:
        expression = dimension_expression(DIMENSIONS[name], tables, zone)
        conditions.append(expression.in_(list(values)))
    return tables, conditions


def grain_statement(query: MetricQuery, grain: Grain, metrics: list[str], *, zone: str) -> Select:
    """The SELECT computing `metrics` (all of one grain) for `query`."""
    tables, conditions = scoped(query, grain, zone=zone)
    dims = [DIMENSIONS[d] for d in query.dimensions]
    dim_columns = [dimension_expression(d, tables, zone).label(d.name) for d in dims]
    metric_columns = [_metric_expression(m, tables).label(m) for m in metrics]
    if grain == "hit":
        conditions.append(tables["h"].c.actionType.in_(["3", "6"]))
    if grain == "product":
        conditions.append(tables["h"].c.actionType == "6")
    statement = (
        sa_select(*dim_columns, *metric_columns)
        .select_from(tables.from_clause())
        .where(and_(*conditions))
    )
    if dims:
        statement = statement.group_by(*[c.element for c in dim_columns])
    return _ordered(statement, query, dims, metrics)


def _ordered(
    statement: Select, query: MetricQuery, dims: list[Dimension], metrics: list[str]
) -> Select:
    if not dims:
        return statement
    time_dims = [d.name for d in dims if d.is_time or d.name in ("weekday", "hour")]
    key = query.order_by if query.order_by in metrics else None
    if key is None and not time_dims:
        key = metrics[0]
    order = []
    if key is not None:
        column = statement.selected_columns[key]
        # NULLs last on both dialects (T-SQL has no NULLS LAST).
        order.append(case((column.is_(None), 1), else_=0))
        order.append(column.desc() if query.descending else column.asc())
    order.extend(statement.selected_columns[d.name].asc() for d in dims)
    statement = statement.order_by(*order)
    if query.limit is not None and len(query.grains()) == 1:
        statement = statement.limit(query.limit)
    return statement


def statements(query: MetricQuery, *, zone: str) -> dict[Grain, Select]:
    return {
        grain: grain_statement(query, grain, metrics, zone=zone)
        for grain, metrics in query.grains().items()
    }


def compile_sql(query: MetricQuery, *, dialect: str, zone: str) -> str:
    """The SQL a person reads under "SQL 보기": values inlined, one statement per grain."""
    compiled = []
    for statement in statements(query, zone=zone).values():
        text = statement.compile(
            dialect=dialect_named(dialect), compile_kwargs={"literal_binds": True}
        )
        compiled.append(str(text).strip())
    return ";\n\n".join(compiled) + ";"


# -- running --------------------------------------------------------------------------


@dataclass
class QueryResult:
    """Rows keyed by canonical names, the SQL that produced them, and the comparison."""

    query: MetricQuery
    rows: list[dict[str, Any]]
    sql: str
    comparison: QueryResult | None = None

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "query": self.query.to_dict(),
            "rows": [_jsonable(row) for row in self.rows],
        }
        if self.comparison is not None:
            result["comparison"] = {
                "start": self.comparison.query.start.isoformat(),
                "end": self.comparison.query.end.isoformat(),
                "rows": [_jsonable(row) for row in self.comparison.rows],
            }
        return result

    def total(self, name: str) -> float | None:
        """The metric's value when the query has no dimensions."""
        return self.rows[0].get(name) if self.rows else None


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in row.items()}


def plain_value(value: Any) -> Any:
    """Driver values as plain Python: Decimal sums become numbers, dates stay dates."""
    if value is None or isinstance(value, (int, float, str, dt.date)):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return int(number) if number.is_integer() and "." not in str(value) else number


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Independent queries at once, each on its own pooled connection, results in order: a
    small DuckDB scan leaves a core idle, so two run in about the time of one."""
    with ThreadPoolExecutor(max_workers=min(len(calls), 8) or 1) as pool:
        return [future.result() for future in [pool.submit(call) for call in calls]]


def run_query(warehouse: Any, query: MetricQuery, *, zone: str) -> QueryResult:
    """Run `query` on `warehouse` (a kpi.storage.warehouse.Warehouse); one statement per grain."""
    parts = statements(query, zone=zone)
    dims = list(query.dimensions)
    merged: dict[tuple, dict[str, Any]] = {}
    with warehouse.engine.connect() as conn:
        for statement in parts.values():
            for row in conn.execute(statement).mappings():
                values = {k: plain_value(v) for k, v in row.items()}
                key = tuple(values[d] for d in dims)
                merged.setdefault(key, {d: values[d] for d in dims}).update(values)
    rows = list(merged.values())
    for row in rows:
        for name in query.metrics:
            row.setdefault(name, None)
    if len(parts) > 1 and dims:
        rows = _sort_rows(rows, query)
    sql = compile_sql(query, dialect=warehouse.dialect_name, zone=zone)
    comparison = None
    if query.compare is not None:
        from kpi.metrics.periods import comparison_period, explicit_period

        shifted = comparison_period(explicit_period(query.start, query.end), query.compare)
        comparison = run_query(warehouse, query.with_period(shifted.start, shifted.end), zone=zone)
    return QueryResult(query, rows, sql, comparison)


def _sort_rows(rows: list[dict[str, Any]], query: MetricQuery) -> list[dict[str, Any]]:
    dims = [DIMENSIONS[d] for d in query.dimensions]
    if query.order_by is None and any(d.is_time or d.name in ("weekday", "hour") for d in dims):
        ordered = sorted(rows, key=lambda r: tuple(str(r[d.name]) for d in dims))
    else:
        key = query.order_by or query.metrics[0]
        sign = -1 if query.descending else 1
        ordered = sorted(rows, key=lambda r: (r[key] is None, sign * (r[key] or 0)))
    return ordered[: query.limit] if query.limit else ordered


def known_values(warehouse: Any, name: str, *, zone: str) -> list[str]:
    """Every value the dimension takes in the warehouse (for filters and close matches)."""
    dim = DIMENSIONS[name]
    tables = _Tables("product" if dim.product_only else "session")
    expression = dimension_expression(dim, tables, zone)
    statement = sa_select(expression).select_from(tables.from_clause()).distinct()
    with warehouse.engine.connect() as conn:
        return [str(v) for (v,) in conn.execute(statement) if v is not None]


def check_filter_values(warehouse: Any, query: MetricQuery, *, zone: str) -> MetricQuery:
    """The query with filter values matched to stored values (any case); CatalogError with
    close matches for a value the data does not have."""
    checked = []
    for name, values in query.filters:
        known = known_values(warehouse, name, zone=zone)
        dim = DIMENSIONS[name]
        checked.append((name, tuple(canonical_value(dim, v, known) for v in values)))
    return replace(query, filters=tuple(checked))
