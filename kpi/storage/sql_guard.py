"""The guard every model-written SQL statement passes before it reaches the warehouse.

A statement is let through only when sqlglot parses it as exactly one SELECT (a WITH,
a UNION of SELECTs) that reads the `ga_data` tables, names only their columns (or
aliases the statement itself defines), calls only functions on an allowlist, and returns
at most `max_rows` rows. Everything else raises `UnsafeSQL` with a short reason, which
goes back to the model, never to a person.

The guard is one of three walls: the statement also runs in a read-only transaction
(`Warehouse.read_only_rows`) with a time-out, so a statement the guard wrongly passes
still cannot write or run for long. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from kpi.storage.schema import SCHEMA, TABLES

MAX_ROWS = 500

# Functions an analytical SELECT needs: aggregates, arithmetic, dates, strings, CASE.
# An allowlist, because a denylist of DuckDB's file readers, settings and extensions
# would have to know every function DuckDB will ever add.
_ALLOWED = """
    count sum avg min max median quantile_cont quantile_disc percentile_cont
    percentile_disc stddev stddev_pop stddev_samp variance var_pop var_samp approx_distinct
    approx_count_distinct count_if countif sum_if any_value first last arg_max arg_min
    argmax argmin mode corr covar_pop covar_samp bool_and bool_or string_agg group_concat
    listagg array_agg
    abs round ceil ceiling floor sqrt power pow ln log log10 log2 exp sign greatest least
    mod div safe_divide nullif coalesce ifnull isnull nvl if iif case cast try_cast
    convert
    lower upper length len char_length trim ltrim rtrim substring substr left right
    concat concat_ws replace split_part strpos position instr contains starts_with
    ends_with regexp_matches regexp_like regexp_extract regexp_replace lpad rpad reverse
    date_trunc datetrunc date_part datepart extract year month day dayofweek
    dayofyear week weekofyear quarter hour minute second date_diff datediff date_add
    dateadd date_sub datesub strftime strptime str_to_time time_to_str to_timestamp
    unix_to_time epoch epoch_ms make_date date_from_parts current_date
    ts_or_ds_to_date ts_or_ds_add ts_or_ds_diff timestamp_trunc time_str_to_date
    str_to_date date_str_to_date date_to_date_str ts_or_ds_to_date_str to_date
    date last_day format eomonth getdate
    row_number rank dense_rank ntile lag lead first_value last_value percent_rank cume_dist
"""
ALLOWED_FUNCTIONS = frozenset(_ALLOWED.split())

# Statement kinds that change data, schema, settings or the process, wherever they hide
# (a CTE, a subquery). sqlglot parses anything it does not know as exp.Command.
_FORBIDDEN = tuple(
    getattr(exp, name)
    for name in (
        "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "AlterTable",
        "Command", "Copy", "Set", "Pragma", "Use", "Attach", "Detach", "Into", "Lock",
        "Transaction", "Commit", "Rollback", "LoadData", "Describe", "Install", "Summarize",
        "Export", "Grant", "Revoke", "Truncate", "TruncateTable", "Analyze", "Kill",
    )
    if hasattr(exp, name)
)  # fmt: skip


class UnsafeSQL(ValueError):
    """The statement may not run; the message says why, for the model to fix it."""


def known_columns(tables: Iterable = TABLES) -> dict[str, set[str]]:
    """Table name (lower case) -> its column names (lower case)."""
    return {t.name.lower(): {c.name.lower() for c in t.columns} for t in tables}


def guard_select(
    sql: str,
    *,
    dialect: str = "duckdb",
    columns: dict[str, set[str]] | None = None,
    max_rows: int = MAX_ROWS,
) -> str:
    """`sql` as one safe, schema-qualified, row-limited SELECT in `dialect`, or
    `UnsafeSQL`."""
    columns = columns if columns is not None else known_columns()
    read = "tsql" if dialect == "mssql" else dialect
    text = (sql or "").strip().rstrip(";").strip()
    if not text:
        raise UnsafeSQL("the statement is empty")
    try:
        statements = [s for s in sqlglot.parse(text, read=read) if s is not None]
    except (ParseError, TokenError) as exc:
        raise UnsafeSQL(f"not valid SQL: {str(exc).splitlines()[0][:200]}") from None
    if len(statements) != 1:
        raise UnsafeSQL("exactly one statement is allowed")
    tree = statements[0]
    if not isinstance(tree, (exp.Select, exp.Union, exp.Intersect, exp.Except)):
        raise UnsafeSQL(f"only SELECT is allowed, not {tree.key.upper()}")
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN):
            raise UnsafeSQL(f"{node.key.upper()} is not allowed inside a SELECT")
    _check_tables(tree, columns)
    _check_functions(tree)
    _check_columns(tree, columns)
    return _limited(tree, max_rows).sql(dialect=read)


def _cte_names(tree: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


def _check_tables(tree: exp.Expression, columns: dict[str, set[str]]) -> None:
    ctes = _cte_names(tree)
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            # FROM read_csv('/etc/passwd'), FROM (VALUES ...) as a function, ...
            raise UnsafeSQL("only the ga_data tables can be read, not table functions")
        name = table.name.lower()
        schema = table.db.lower()
        if table.catalog or (schema and schema != SCHEMA.lower()):
            raise UnsafeSQL(f"only the {SCHEMA} tables can be read, not {table.sql()}")
        if not schema and name in ctes:
            continue
        if name not in columns:
            known = ", ".join(sorted(t.name for t in TABLES))
            raise UnsafeSQL(f"unknown table {table.name}; the tables are {known}")
        table.set("db", exp.to_identifier(SCHEMA))


def _check_functions(tree: exp.Expression) -> None:
    # AND, OR, NOT, LIKE, EXISTS, ... are operators sqlglot models as functions.
    operators = (exp.Binary, exp.Unary, exp.Connector, exp.Predicate, exp.Case, exp.Cast,
                 exp.Extract, exp.Window)  # fmt: skip
    for func in tree.find_all(exp.Func):
        if isinstance(func, operators):
            continue
        name = str(func.this) if isinstance(func, exp.Anonymous) else func.sql_name()
        if name.lower() not in ALLOWED_FUNCTIONS:
            raise UnsafeSQL(f"the function {name.lower()} is not allowed")


def _check_columns(tree: exp.Expression, columns: dict[str, set[str]]) -> None:
    known = set().union(*columns.values())
    # Names the statement defines itself: select aliases, CTE and derived-table columns.
    defined = {alias.alias.lower() for alias in tree.find_all(exp.Alias) if alias.alias}
    for table_alias in tree.find_all(exp.TableAlias):
        defined.update(c.name.lower() for c in table_alias.columns)
    for column in tree.find_all(exp.Column):
        if isinstance(column.this, exp.Star):
            continue
        name = column.name.lower()
        if name not in known and name not in defined:
            raise UnsafeSQL(f"unknown column {column.name}")


def _limited(tree: exp.Expression, max_rows: int) -> exp.Expression:
    limit = tree.args.get("limit")
    if limit is not None:
        value = limit.expression if isinstance(limit, exp.Limit) else None
        if isinstance(value, exp.Literal) and value.is_int and int(value.name) <= max_rows:
            return tree
    return (
        tree.limit(max_rows, copy=False)
        if isinstance(tree, exp.Select)
        else (exp.select("*").from_(tree.subquery("q")).limit(max_rows))
    )
