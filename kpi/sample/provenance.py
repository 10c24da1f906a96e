"""Which rows are sample data: the generator's runs (`SampleRuns`) and the live replay's
visitor ids. `commercy data generate` replaces a sample but never imported data, so it
asks here first."""

from __future__ import annotations

from sqlalchemy import func, select

from kpi.storage.schema import sample_runs, sessions
from kpi.storage.warehouse import Warehouse

# Live visitor ids: "9" + 19 digits, above any unsigned 64-bit GA id (20 digits at most,
# starting with 1) and any generated id (19 digits).
LIVE_VISITOR_PREFIX = "9"
LIVE_VISITOR_PATTERN = LIVE_VISITOR_PREFIX + "_" * 19  # SQL LIKE: exactly 20 characters


def holds_only_samples(warehouse: Warehouse) -> bool:
    """True when every session was written by `commercy data generate` or by the live
    replay (whose visitor ids have their own pattern)."""
    with warehouse.engine.connect() as conn:
        loaded = conn.execute(
            select(func.count())
            .select_from(sessions)
            .where(sessions.c.fullVisitorId.not_like(LIVE_VISITOR_PATTERN))
        ).scalar_one()
        generated = conn.execute(select(func.sum(sample_runs.c.sessions))).scalar_one()
    return loaded == (generated or 0)
