"""Risk alerts: the rules the scheduler runs every 5 minutes, against the warehouse.

Every rule compares what happened just before `at` with the same weekday and time of
day in the past 4..8 weeks, robustly (median and MAD), requires a minimum volume, and
fires only when the change is both *surprising* (a robust score) and *large* (a minimum
relative change), so tiny absolute moves at quiet hours stay quiet.

The rules (names are stable: the alert ledger, cards and settings use them):

- ``checkout_bottleneck`` (scope ``step:/payment.html`` etc.): the original Commercy
  drop-off rule done right. Sessions whose last hit (as of the window's end) fell in the
  look-back on a funnel step, after a dwell longer than that step's usual p90. The dwell
  of a last hit is its time minus the time of the hit before it (hitNumber - 1): GA
  records nothing after the last hit, so the time spent on an exit page is unknowable;
  what *is* recorded is how long the visitor took to get there, and a slow or failing
  step (a payment page that hangs, a form that fights back, kpi/sample/stream.py's repeat view
  5-15 minutes later) shows up exactly there. "Usual" is the step's p90 over every hit
  on it on the same weekday of the baseline weeks.
- ``traffic_drop`` / ``traffic_spike`` (scope ``store``): sessions started.
- ``conversion_drop``: ``conversion_rate`` = transactions / sessions (the catalog's
  definition) of the sessions whose last activity fell in the look-back.
- ``revenue_drop``: ``revenue`` of those sessions.
- ``bounce_spike``: ``bounce_rate`` of those sessions.

Time. A window is ``[at - window, at)``; rules on thin data look further back
(``lookback_minutes``; the sample store has ~10 sessions and ~0.1 orders per 5 minutes,
so a 5-minute conversion rate is noise). Traffic counts a session when it starts; the
other rules count it at its last activity (``visitStartTime + timeOnSite``), when its
outcome is known: counting by start would compare the current window's half-finished
sessions with finished ones in past weeks and see a conversion drop every evening.
The bottleneck rule likewise sees each session as of `at` (hits after it do not exist
yet), since live batches hold whole sessions from their first minute.

Baseline. The past weeks' counts and sums are first scaled by the store's level (its
sessions in the 7 days before each week's window, against the 7 days before now), so a
seasonal ramp such as October to Black Friday is not read as a spike, nor December as a
drop; rates need no scaling.

Cost. Every query filters ``Sessions.visitStartTime`` on constant ranges (the look-back
of each week), so DuckDB's zone maps skip the rest of the year and Azure SQL seeks its
index. Commercy's ``Totals`` and ``Hits`` carry the session's start (``sessionStartTime``) as an
extra column, and the queries filter on it too, so the cost does not grow with history
(``bench/bench_alerts.py``). A ``ga_data`` without it (the bare GA schema) gets the same
answers through the join, which on DuckDB (no indexes here) reads each table's
``session_key`` column once per check.

Pure library: thresholds come in as arguments, nothing here reads settings or knows
Bot Framework. Deterministic: the same warehouse, `at`, thresholds and `previous` give
the same alerts in the same order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal
from zoneinfo import ZoneInfo

from kpi.metrics.catalog import METRICS
from kpi.metrics.units import format_value
from kpi.storage.warehouse import Warehouse

Severity = Literal["warning", "critical"]
Direction = Literal["drop", "spike"]

MAD_SCALE = 1.4826  # MAD x this estimates the standard deviation of a normal sample
MICROS = 1_000_000  # money columns hold USD micros
WEEK = dt.timedelta(days=7)

# The Google Merchandise Store's funnel steps, where a visitor who stops has dropped
# out of a purchase (the sample model uses the same paths). /ordercompleted.html is a
# funnel page too, but leaving after it is success, not a drop-off.
FUNNEL_STEPS = ("/basket.html", "/yourinfo.html", "/payment.html", "/revieworder.html")
STEP_LABELS = {
    "/basket.html": ("장바구니", "basket"),
    "/yourinfo.html": ("주문자 정보", "customer details"),
    "/payment.html": ("결제", "payment"),
    "/revieworder.html": ("주문 확인", "order review"),
}

RULES = (
    "checkout_bottleneck",
    "traffic_drop",
    "traffic_spike",
    "conversion_drop",
    "revenue_drop",
    "bounce_spike",
)


# -- thresholds ------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleThresholds:
    """When one rule fires.

    `min_volume` is the evidence a rule needs before it may speak, in the rule's own
    unit: for the drop rules the baseline's median volume (sessions for traffic_drop,
    *expected* transactions for conversion_drop, transactions for revenue_drop), for
    the spike rules the current count (sessions, bounced sessions, lingering sessions).

    The score is robust: (value - baseline median) / scale, where scale is the larger
    of 1.4826 x MAD of the past weeks and the sampling noise the current value has even
    when nothing changed (Poisson for counts, binomial for rates, compound Poisson for
    revenue); with 4-8 weeks the MAD alone is often 0. A rule raises a warning when the
    score passes `warning_score` in its direction *and* the relative change passes
    `min_relative_change`; critical needs both critical figures.
    """

    lookback_minutes: int
    min_volume: float
    warning_score: float
    critical_score: float
    min_relative_change: float  # a fraction of the baseline median: 0.4 = 40 %
    critical_relative_change: float
    cooldown_minutes: int  # the same rule and scope stay quiet this long after an alert

    def __post_init__(self) -> None:
        if self.lookback_minutes < 1 or self.cooldown_minutes < 0 or self.min_volume < 0:
            raise ValueError("look-back must be positive; cooldown and volume not negative")
        if not 0 < self.warning_score <= self.critical_score:
            raise ValueError("need 0 < warning_score <= critical_score")
        if not 0 <= self.min_relative_change <= self.critical_relative_change:
            raise ValueError("need 0 <= min_relative_change <= critical_relative_change")


@dataclass(frozen=True)
class Thresholds:
    """Every knob of the risk check, with defaults measured on the sample store (scale 1,
    ~2,500 sessions and ~30 orders a day): about one false alert a clean week at most
    (bench/bench_alerts.py counts them). A bigger store can shorten the look-backs."""

    # The check's cadence: the scheduler evaluates [at - 5 min, at) on 5-minute marks.
    window_minutes: int = 5
    # Past same-weekday windows in the baseline: at most this many weeks back, and no
    # verdict with fewer than `min_baseline_weeks` weeks of history.
    min_baseline_weeks: int = 4
    max_baseline_weeks: int = 8
    # A session counted at its last activity must have started this long before it at
    # most; bounds the range of start times read (the sample's longest is ~2 h).
    session_span_minutes: int = 240
    funnel_steps: tuple[str, ...] = FUNNEL_STEPS
    # Trend: counts and sums of a past week are scaled by how busy the store was in the
    # `level_days` days before now against the same days before that week's window, so
    # a season's ramp (October to Black Friday) does not read as a spike. 0 turns it off.
    level_days: int = 7
    dwell_percentile: float = 0.9  # "longer than usual" = above this quantile
    min_dwell_samples: int = 20  # fewer hits on a step in the baseline: no usual dwell

    # 4+ sessions lingering at one step in 30 minutes where past weeks had about none
    # (the original rule fired at a fixed 17 a 5-minute window, on far more traffic).
    checkout_bottleneck: RuleThresholds = RuleThresholds(
        lookback_minutes=30, min_volume=4, warning_score=4.0, critical_score=8.0,
        min_relative_change=1.0, critical_relative_change=2.0, cooldown_minutes=60,
    )  # fmt: skip
    # ~60 sessions in 30 minutes: a 40 % drop is ~4 standard deviations.
    traffic_drop: RuleThresholds = RuleThresholds(
        lookback_minutes=30, min_volume=30, warning_score=4.0, critical_score=6.0,
        min_relative_change=0.4, critical_relative_change=0.7, cooldown_minutes=60,
    )  # fmt: skip
    # Twice the usual traffic at least: campaigns and bots, not a busy afternoon.
    traffic_spike: RuleThresholds = RuleThresholds(
        lookback_minutes=30, min_volume=30, warning_score=4.0, critical_score=8.0,
        min_relative_change=1.0, critical_relative_change=3.0, cooldown_minutes=60,
    )  # fmt: skip
    # Orders are rare (~2 an hour at best): 6 hours and at least 8 expected orders
    # before a drop can be told from chance; quiet hours stay silent.
    conversion_drop: RuleThresholds = RuleThresholds(
        lookback_minutes=360, min_volume=8, warning_score=3.0, critical_score=4.5,
        min_relative_change=0.5, critical_relative_change=0.8, cooldown_minutes=360,
    )  # fmt: skip
    # Order values are heavy-tailed: revenue needs a whole half day and a deep fall.
    revenue_drop: RuleThresholds = RuleThresholds(
        lookback_minutes=720, min_volume=12, warning_score=3.0, critical_score=4.5,
        min_relative_change=0.6, critical_relative_change=0.9, cooldown_minutes=720,
    )  # fmt: skip
    # Half of all sessions bounce; +30 % (50 % -> 65 %) over an hour's sessions.
    bounce_spike: RuleThresholds = RuleThresholds(
        lookback_minutes=60, min_volume=40, warning_score=4.5, critical_score=6.5,
        min_relative_change=0.3, critical_relative_change=0.5, cooldown_minutes=60,
    )  # fmt: skip

    def __post_init__(self) -> None:
        if not 1 <= self.min_baseline_weeks <= self.max_baseline_weeks:
            raise ValueError("need 1 <= min_baseline_weeks <= max_baseline_weeks")
        if self.window_minutes < 1 or self.session_span_minutes < 0 or self.level_days < 0:
            raise ValueError("window_minutes must be positive; span and level days not negative")
        if self.level_days > 7:
            raise ValueError("level_days is at most 7: the weeks' levels must not overlap")
        if not 0 < self.dwell_percentile < 1:
            raise ValueError("dwell_percentile must lie between 0 and 1")
        for name in RULES:
            if self.rule(name).lookback_minutes < self.window_minutes:
                raise ValueError(
                    f"{name}: look-back shorter than the {self.window_minutes}-min window"
                )

    def rule(self, name: str) -> RuleThresholds:
        if name not in RULES:
            raise ValueError(f"unknown rule {name!r}; rules: {', '.join(RULES)}")
        return getattr(self, name)

    def with_overrides(self, values: Mapping[str, Any]) -> Thresholds:
        """A copy with some values changed, keyed as settings name them:
        ``window_minutes`` or ``traffic_drop.warning_score``. Unknown keys raise, so a
        misspelt setting is reported at start instead of being ignored."""
        top: dict[str, Any] = {}
        per_rule: dict[str, dict[str, Any]] = {}
        rule_fields = {f.name for f in fields(RuleThresholds)}
        own_fields = {f.name for f in fields(self)} - set(RULES)
        for key, value in values.items():
            rule, _, name = key.rpartition(".")
            if rule and rule in RULES and name in rule_fields:
                per_rule.setdefault(rule, {})[name] = value
            elif not rule and name in own_fields:
                top[name] = tuple(value) if name == "funnel_steps" else value
            else:
                raise ValueError(f"unknown alert threshold {key!r}")
        for rule, changes in per_rule.items():
            top[rule] = replace(self.rule(rule), **changes)
        return replace(self, **top)


# -- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """One alert. Times are aware datetimes in the reporting zone (the zone given to
    `evaluate`); `window_start`..`window_end` is the stretch the rule judged, ending at
    the check's `at`. `value` is what was seen there and `expected` what the baseline
    weeks make usual for it at today's level; `score` is the surprise, -log10 of the
    chance of a window at least this far from `expected` (3 = one in a thousand).

    An incident that goes on is one *episode*: the first alert starts it, and every
    later check that still fires returns an alert whose `episode_id` is the first one's
    id, which the bot turns into an update of the card already sent."""

    rule: str
    severity: Severity
    window_start: dt.datetime
    window_end: dt.datetime
    scope: str
    value: float
    expected: float
    score: float
    message_ko: str
    message_en: str
    onset: dt.datetime | None = None  # when the incident most likely began
    episode_id: str = ""  # the episode's first alert_id; "" when this alert starts one
    details: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def alert_id(self) -> str:
        """Stable across runs, processes and zones: the ledger de-duplicates on it."""
        end = int(self.window_end.timestamp())
        return hashlib.sha256(f"{self.rule}|{self.scope}|{end}".encode()).hexdigest()[:20]

    @property
    def episode(self) -> str:
        """The id of the card this alert belongs on: its episode's first alert."""
        return self.episode_id or self.alert_id

    @property
    def is_update(self) -> bool:
        """A later check of an episode already alerted: update its card, send no new one."""
        return self.episode != self.alert_id

    @property
    def lasted(self) -> dt.timedelta | None:
        """From the estimated onset to this check."""
        return self.window_end - self.onset if self.onset is not None else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["alert_id"] = self.alert_id
        for key in ("window_start", "window_end", "onset"):
            moment = getattr(self, key)
            data[key] = moment.isoformat() if moment is not None else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        """The alert `to_dict` wrote (a ledger keeps them to pass back as `previous`)."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        if "expected" not in values:  # written before issue 19 named it
            values["expected"] = data.get("baseline_median", 0.0)
        for key in ("window_start", "window_end", "onset"):
            if values.get(key) is not None:
                values[key] = dt.datetime.fromisoformat(values[key])
        return cls(**values)


@dataclass(frozen=True)
class Check:
    """The verdict of one rule on one scope at one `at`, fired or not (for "Why?",
    the CLI's verbose view and the false-positive bench)."""

    rule: str
    scope: str
    window_start: dt.datetime
    window_end: dt.datetime
    value: float | None
    baseline: tuple[float, ...]  # the past weeks' values, most recent first
    median: float | None
    mad: float | None
    scale: float | None
    score: float | None
    relative_change: float | None
    volume: float | None
    severity: Severity | None
    reason: str  # "alert", "normal", "low volume", "short history"
    details: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


# -- evaluation ------------------------------------------------------------------------


def evaluate(
    warehouse: Warehouse,
    at: dt.datetime,
    *,
    zone: ZoneInfo,
    thresholds: Thresholds = Thresholds(),  # frozen: safe to share
    previous: Sequence[Alert] = (),
) -> list[Alert]:
    """The alerts the check at `at` raises: critical first, then by rule and scope.

    `at` is the end of the window; a naive `at` is wall time in `zone`. `previous` are
    alerts already raised: an alert of the same rule and scope raised by an earlier check
    less than the rule's cooldown ago silences this one (re-evaluating the same `at`
    returns the same alerts, which the ledger recognises by `alert_id`).
    """
    alerts = []
    for check in run_checks(warehouse, at, zone=zone, thresholds=thresholds):
        if check.severity is None:
            continue
        if _cooling_down(check, previous, thresholds.rule(check.rule).cooldown_minutes):
            continue
        alerts.append(_alert(check, zone))
    alerts.sort(key=lambda a: (a.severity != "critical", RULES.index(a.rule), a.scope))
    return alerts


def run_checks(
    warehouse: Warehouse,
    at: dt.datetime,
    *,
    zone: ZoneInfo,
    thresholds: Thresholds = Thresholds(),
) -> list[Check]:
    """Every rule's verdict at `at`, before cooldowns: two queries in all."""
    plan = _plan(warehouse, at, zone, thresholds)
    if len(plan.weeks) - 1 < thresholds.min_baseline_weeks:
        return [_short_history(plan, name, thresholds) for name in RULES]
    time_columns = _time_columns(warehouse)
    session_rows = warehouse.query(*_session_sql(plan, thresholds, "Totals" in time_columns))
    hit_rows = warehouse.query(*_bottleneck_sql(plan, thresholds, "Hits" in time_columns))
    by_week = {int(row["k"]): row for row in session_rows}
    levels = _level_factors(plan, by_week)
    checks = _bottleneck_checks(plan, thresholds, hit_rows, levels)
    checks += _store_checks(plan, thresholds, by_week, levels)
    return checks


# -- the weeks compared ----------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """When each compared window ends: `weeks[0]` is now, `weeks[k]` k weeks before at
    the same wall time in the reporting zone (so a DST change keeps the time of day)."""

    at: dt.datetime  # aware, UTC
    zone: ZoneInfo
    weeks: tuple[int, ...]  # UNIX seconds of each week's `at`, now first
    day_ranges: tuple[tuple[int, int], ...]  # each baseline week's whole local day
    level_ranges: tuple[tuple[int, int], ...]  # the days before each week's `at`, now first

    def start(self, minutes: int) -> dt.datetime:
        return (self.at - dt.timedelta(minutes=minutes)).astimezone(self.zone)

    @property
    def end(self) -> dt.datetime:
        return self.at.astimezone(self.zone)


def _plan(warehouse: Warehouse, at: dt.datetime, zone: ZoneInfo, t: Thresholds) -> _Plan:
    local = (at.replace(tzinfo=zone) if at.tzinfo is None else at.astimezone(zone)).replace(
        tzinfo=None
    )
    first = warehouse.query("SELECT MIN(visitStartTime) AS first FROM ga_data.Sessions")[0]
    reach = max(
        dt.timedelta(minutes=t.session_span_minutes + _longest_lookback(t)),
        dt.timedelta(days=t.level_days),
    )
    weeks, days, levels = [], [], []
    for k in range(t.max_baseline_weeks + 1):
        wall = local - k * WEEK
        if k and (first["first"] is None or _seconds(wall - reach, zone) < first["first"]):
            break  # older weeks lie (partly) before the history starts: leave them out
        weeks.append(_seconds(wall, zone))
        levels.append((_seconds(wall - dt.timedelta(days=t.level_days), zone), weeks[-1]))
        if k:
            day = (wall - dt.timedelta(seconds=1)).date()
            days.append((_midnight(day, zone), _midnight(day + dt.timedelta(days=1), zone)))
    at_utc = dt.datetime.fromtimestamp(weeks[0], dt.UTC)
    return _Plan(at_utc, zone, tuple(weeks), tuple(days), tuple(levels))


def _seconds(wall: dt.datetime, zone: ZoneInfo) -> int:
    return int(wall.replace(tzinfo=zone).timestamp())


def _midnight(day: dt.date, zone: ZoneInfo) -> int:
    return int(dt.datetime.combine(day, dt.time(), tzinfo=zone).timestamp())


def _longest_lookback(t: Thresholds) -> int:
    return max(t.rule(name).lookback_minutes for name in RULES)


def _time_columns(warehouse: Warehouse) -> set[str]:
    """Tables besides Sessions that carry the extra `sessionStartTime` column, which lets the
    queries prune them by time as well (neither Totals nor Hits has one in the GA schema)."""
    rows = warehouse.query(
        "SELECT TABLE_NAME AS name, COLUMN_NAME AS col FROM INFORMATION_SCHEMA.COLUMNS "
        "WHERE TABLE_SCHEMA = 'ga_data' AND TABLE_NAME IN ('Totals', 'Hits')"
    )
    return {row["name"] for row in rows if row["col"].lower() == "sessionstarttime"}


# -- SQL ---------------------------------------------------------------------------------
#
# Plain SQL that DuckDB and Azure SQL both run: VALUES lists, CASE, window functions,
# times in integer milliseconds (no division, whose integer/float meaning differs).
# Numbers are formatted into the text (they are ints computed here); strings are bound.


def _ranges(column: str, ranges: Iterable[tuple[int, int]]) -> str:
    """`column` within any of the half-open ranges: constants the scan can prune on."""
    return " OR ".join(f"({column} >= {lo} AND {column} < {hi})" for lo, hi in ranges)


def _week_of(column: str, ranges: Sequence[tuple[int, int]]) -> str:
    whens = " ".join(
        f"WHEN {column} >= {lo} AND {column} < {hi} THEN {k}" for k, (lo, hi) in enumerate(ranges)
    )
    return f"CASE {whens} END"


def _week_values(plan: _Plan) -> str:
    # BIGINT: DuckDB types a bare literal INTEGER, and seconds x 1000 overflow that.
    return ", ".join(f"({k}, CAST({end} AS BIGINT))" for k, end in enumerate(plan.weeks))


def _session_sql(plan: _Plan, t: Thresholds, totals_has_time: bool) -> tuple[str, dict]:
    """One row per week: the volumes of every store-wide rule over its own look-back."""
    at_end = {name: 60 * t.rule(name).lookback_minutes for name in RULES}
    by_end = max(at_end[n] for n in ("conversion_drop", "revenue_drop", "bounce_spike"))
    reach = max(
        at_end["traffic_drop"], at_end["traffic_spike"], by_end + 60 * t.session_span_minutes
    )
    ranges = [(end - reach, end) for end in plan.weeks]
    ended = "(c.visitStartTime + COALESCE(t.timeOnSite, 0))"

    def started_within(rule: str) -> str:
        return f"c.visitStartTime >= w.at_s - {at_end[rule]}"

    def ended_within(rule: str) -> str:
        return f"{ended} >= w.at_s - {at_end[rule]} AND {ended} < w.at_s"

    # Sums stay exact (integers, DECIMAL for the squares of micros) so that the order in
    # which a parallel scan adds them cannot change a verdict in its last digit.
    micros = "COALESCE(t.totalTransactionRevenue, 0)"
    columns = {
        "traffic_drop_sessions": f"CASE WHEN {started_within('traffic_drop')} THEN 1 ELSE 0 END",
        "traffic_spike_sessions": f"CASE WHEN {started_within('traffic_spike')} THEN 1 ELSE 0 END",
    }
    for rule in ("conversion_drop", "revenue_drop", "bounce_spike"):
        columns[f"{rule}_sessions"] = f"CASE WHEN {ended_within(rule)} THEN 1 ELSE 0 END"
        columns[f"{rule}_transactions"] = (
            f"CASE WHEN {ended_within(rule)} THEN COALESCE(t.transactions, 0) ELSE 0 END"
        )
    columns["revenue_drop_micros"] = (
        f"CASE WHEN {ended_within('revenue_drop')} THEN {micros} ELSE 0 END"
    )
    columns["revenue_drop_micros_sq"] = (
        f"CASE WHEN {ended_within('revenue_drop')} "
        f"THEN CAST({micros} AS DECIMAL(38, 0)) * {micros} ELSE 0 END"
    )
    columns["bounce_spike_bounces"] = (
        f"CASE WHEN {ended_within('bounce_spike')} THEN COALESCE(t.bounces, 0) ELSE 0 END"
    )
    selected = ",\n    ".join(f"SUM({expr}) AS {name}" for name, expr in columns.items())
    totals_time = f"AND ({_ranges('t.sessionStartTime', ranges)})" if totals_has_time else ""
    levels = plan.level_ranges
    level_range = "1 = 0"  # no trend correction
    if t.level_days:
        level_range = f"s.visitStartTime >= {levels[-1][0]} AND s.visitStartTime < {levels[0][1]}"
    sql = f"""
WITH measures AS (
  SELECT c.k,
    {selected}
  FROM (
    SELECT s.session_key, s.visitStartTime, {_week_of("s.visitStartTime", ranges)} AS k
    FROM ga_data.Sessions s
    WHERE {_ranges("s.visitStartTime", ranges)}
  ) c
  JOIN (VALUES {_week_values(plan)}) AS w(k, at_s) ON w.k = c.k
  LEFT JOIN ga_data.Totals t ON t.session_key = c.session_key {totals_time}
  GROUP BY c.k
),
levels AS (
  SELECT x.k, COUNT(*) AS level_sessions
  FROM (
    SELECT {_week_of("s.visitStartTime", levels)} AS k
    FROM ga_data.Sessions s
    WHERE {level_range}
  ) x
  GROUP BY x.k
)
SELECT w.k AS k, {", ".join(f"m.{name}" for name in columns)}, l.level_sessions
FROM (VALUES {_week_values(plan)}) AS w(k, at_s)
LEFT JOIN measures m ON m.k = w.k
LEFT JOIN levels l ON l.k = w.k"""
    return sql, {}


def _bottleneck_sql(plan: _Plan, t: Thresholds, hits_has_time: bool) -> tuple[str, dict]:
    """Rows ('usual', step, NULL, p-quantile dwell ms, samples) from the baseline days and
    ('exits', step, week, exits with a dwell, of which lingering) for each week's look-back.

    Each week's sessions are seen as of that week's `at`: only hits before it count, so
    the current window (which may hold sessions still in progress) and past weeks (whose
    sessions have long ended) are judged alike.
    """
    lookback_ms = 60_000 * t.checkout_bottleneck.lookback_minutes
    reach = 60 * (t.checkout_bottleneck.lookback_minutes + t.session_span_minutes)
    windows = [(end - reach, end) for end in plan.weeks]
    steps = {f"step{i}": path for i, path in enumerate(t.funnel_steps)}
    on_step = f"h.pagePath IN ({', '.join(':' + name for name in steps)})"
    per_mille = round(t.dwell_percentile * 1000)
    hits_time = ""
    if hits_has_time:
        hits_time = f"AND ({_ranges('h.sessionStartTime', [*windows, *plan.day_ranges])})"
    sql = f"""
WITH candidates AS (
  SELECT s.session_key, s.visitStartTime,
    {_week_of("s.visitStartTime", windows)} AS k,
    CASE WHEN {_ranges("s.visitStartTime", plan.day_ranges)} THEN 1 ELSE 0 END AS in_days
  FROM ga_data.Sessions s
  WHERE {_ranges("s.visitStartTime", [*windows, *plan.day_ranges])}
),
timed AS (
  SELECT c.session_key, c.k, c.in_days, w.at_s, h.pagePath, h.hitNumber,
    c.visitStartTime * 1000 + h.time AS at_ms
  FROM candidates c
  JOIN ga_data.Hits h ON h.session_key = c.session_key {hits_time}
  LEFT JOIN (VALUES {_week_values(plan)}) AS w(k, at_s) ON w.k = c.k
),
step_hits AS (
  SELECT h.session_key, h.k, h.in_days, h.at_s, h.pagePath, h.hitNumber, h.at_ms,
    h.at_ms - prior.at_ms AS dwell_ms
  FROM timed h
  JOIN timed prior ON prior.session_key = h.session_key
    AND prior.hitNumber = h.hitNumber - 1
  WHERE {on_step}
),
last_seen AS (
  SELECT session_key, MAX(hitNumber) AS hitNumber
  FROM timed WHERE at_ms < at_s * 1000
  GROUP BY session_key
),
ranked AS (
  SELECT pagePath, dwell_ms,
    ROW_NUMBER() OVER (PARTITION BY pagePath ORDER BY dwell_ms) AS position,
    COUNT(*) OVER (PARTITION BY pagePath) AS samples
  FROM step_hits WHERE in_days = 1
),
usual AS (
  SELECT pagePath, MIN(dwell_ms) AS dwell_ms, MAX(samples) AS samples
  FROM ranked WHERE position * 1000 >= samples * {per_mille}
  GROUP BY pagePath
)
SELECT 'usual' AS kind, pagePath AS step, CAST(NULL AS INTEGER) AS k,
  dwell_ms AS a, samples AS b
FROM usual
UNION ALL
SELECT 'exits', e.pagePath, e.k, COUNT(*),
  SUM(CASE WHEN e.dwell_ms > u.dwell_ms THEN 1 ELSE 0 END)
FROM step_hits e
JOIN last_seen l ON l.session_key = e.session_key AND l.hitNumber = e.hitNumber
JOIN usual u ON u.pagePath = e.pagePath
WHERE e.at_ms >= e.at_s * 1000 - {lookback_ms} AND e.at_ms < e.at_s * 1000
GROUP BY e.pagePath, e.k"""
    return sql, steps


# -- the rules -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Series:
    """One measure for now (index 0) and each baseline week."""

    values: tuple[float, ...]

    @property
    def now(self) -> float:
        return self.values[0]

    @property
    def past(self) -> tuple[float, ...]:
        return self.values[1:]

    def at_todays_level(self, levels: Sequence[float]) -> _Series:
        """Past weeks' values scaled to the store's current level of traffic."""
        return _Series(tuple(v * f for v, f in zip(self.values, levels, strict=True)))


def _level_factors(plan: _Plan, by_week: Mapping[int, Mapping[str, Any]]) -> tuple[float, ...]:
    """For each week: sessions in the days before now / sessions in the days before that
    week's window (1 where unknown). Now's factor is 1."""
    level = [float(by_week.get(k, {}).get("level_sessions") or 0) for k in range(len(plan.weeks))]
    return tuple(level[0] / past if past and level[0] else 1.0 for past in level)


def robust_baseline(values: Sequence[float]) -> tuple[float, float]:
    """(median, MAD) of the past weeks' values."""
    median = statistics.median(values)
    return median, statistics.median(abs(v - median) for v in values)


def _store_checks(
    plan: _Plan, t: Thresholds, by_week: Mapping[int, Mapping[str, Any]], levels: Sequence[float]
) -> list[Check]:
    def series(column: str, unit: float = 1) -> _Series:
        weeks = range(len(plan.weeks))
        return _Series(tuple(float(by_week.get(k, {}).get(column) or 0) / unit for k in weeks))

    return [
        _traffic_check(plan, t, "traffic_drop", series("traffic_drop_sessions"), levels),
        _traffic_check(plan, t, "traffic_spike", series("traffic_spike_sessions"), levels),
        _conversion_check(
            plan, t, series("conversion_drop_sessions"), series("conversion_drop_transactions")
        ),
        _revenue_check(
            plan,
            t,
            series("revenue_drop_micros", MICROS),
            series("revenue_drop_transactions"),
            series("revenue_drop_micros_sq", MICROS**2),
            levels,
        ),
        _bounce_check(plan, t, series("bounce_spike_sessions"), series("bounce_spike_bounces")),
    ]


@dataclass(frozen=True)
class _Evidence:
    """What a rule measured: now, the past weeks, and how much the value would wander
    by chance alone when nothing is wrong (the floor under the MAD-based spread)."""

    value: float
    past: tuple[float, ...]
    noise: float
    volume: float  # compared with the rule's min_volume
    details: dict[str, Any]


def _poisson_noise(median: float) -> float:
    """A count's chance spread is its square root; at least 1, as a median of 0 in past
    weeks does not mean the thing never happens."""
    return math.sqrt(max(median, 1.0))


def _binomial_noise(rate: float, trials: float) -> float:
    return math.sqrt(max(rate * (1 - rate), 1e-12) / trials)


def _traffic_check(
    plan: _Plan, t: Thresholds, rule: str, counted: _Series, levels: Sequence[float]
) -> Check:
    sessions = counted.at_todays_level(levels)
    median, _ = robust_baseline(sessions.past)
    direction: Direction = "drop" if rule == "traffic_drop" else "spike"
    evidence = _Evidence(
        value=sessions.now,
        past=sessions.past,
        noise=_poisson_noise(median),
        volume=median if direction == "drop" else sessions.now,
        details={"unit": "count", "levels": list(levels)},
    )
    return _judge(plan, t, rule, "store", direction, evidence)


def _rates(numerator: _Series, denominator: _Series) -> tuple[float | None, tuple[float, ...]]:
    """The current rate and the past weeks' rates (weeks with no sessions left out)."""
    now = numerator.now / denominator.now if denominator.now else None
    past = tuple(n / d for n, d in zip(numerator.past, denominator.past, strict=True) if d)
    return now, past


def _conversion_check(plan: _Plan, t: Thresholds, sessions: _Series, orders: _Series) -> Check:
    rule = "conversion_drop"
    rate, past = _rates(orders, sessions)
    details = {"unit": "ratio", "sessions": sessions.now, "transactions": orders.now}
    if rate is None or len(past) < t.min_baseline_weeks:
        return _quiet(plan, t, rule, "store", "low volume", details, rate, past)
    median, _ = robust_baseline(past)
    expected = sessions.now * median  # the orders this many sessions usually bring
    evidence = _Evidence(
        value=rate,
        past=past,
        noise=_binomial_noise(median, sessions.now),
        volume=expected,
        details={**details, "expected_transactions": expected},
    )
    return _judge(plan, t, rule, "store", "drop", evidence)


def _revenue_check(
    plan: _Plan,
    t: Thresholds,
    earned: _Series,
    ordered: _Series,
    squares: _Series,
    levels: Sequence[float],
) -> Check:
    revenue, orders = earned.at_todays_level(levels), ordered.at_todays_level(levels)
    typical_orders = statistics.median(orders.past)
    # Compound Poisson: a sum of N ~ Poisson(n) orders of size X varies by n * E[X^2].
    mean_square = sum(squares.past) / sum(ordered.past) if sum(ordered.past) else 0.0
    evidence = _Evidence(
        value=revenue.now,
        past=revenue.past,
        noise=math.sqrt(typical_orders * mean_square) or 1.0,
        volume=typical_orders,
        details={
            "unit": "usd",
            "transactions": orders.now,
            "baseline_transactions": typical_orders,
            "levels": list(levels),
        },
    )
    return _judge(plan, t, "revenue_drop", "store", "drop", evidence)


def _bounce_check(plan: _Plan, t: Thresholds, sessions: _Series, bounces: _Series) -> Check:
    rule = "bounce_spike"
    rate, past = _rates(bounces, sessions)
    details = {"unit": "ratio", "sessions": sessions.now, "bounces": bounces.now}
    if rate is None or len(past) < t.min_baseline_weeks:
        return _quiet(plan, t, rule, "store", "low volume", details, rate, past)
    median, _ = robust_baseline(past)
    evidence = _Evidence(rate, past, _binomial_noise(median, sessions.now), bounces.now, details)
    return _judge(plan, t, rule, "store", "spike", evidence)


def _bottleneck_checks(
    plan: _Plan, t: Thresholds, rows: list[dict[str, Any]], levels: Sequence[float]
) -> list[Check]:
    usual = {r["step"]: (int(r["a"]), int(r["b"])) for r in rows if r["kind"] == "usual"}
    exits = {
        (r["step"], int(r["k"])): (int(r["a"]), int(r["b"])) for r in rows if r["kind"] == "exits"
    }
    weeks = range(len(plan.weeks))
    checks = []
    for step in t.funnel_steps:
        scope = f"step:{step}"
        dwell_ms, samples = usual.get(step, (None, 0))
        if dwell_ms is None or samples < t.min_dwell_samples:
            details = {"unit": "count", "dwell_samples": samples}
            checks.append(_quiet(plan, t, "checkout_bottleneck", scope, "short history", details))
            continue
        counted = _Series(tuple(float(exits.get((step, k), (0, 0))[1]) for k in weeks))
        lingering = counted.at_todays_level(levels)
        median, _ = robust_baseline(lingering.past)
        details = {
            "unit": "count",
            "step": step,
            "usual_dwell_seconds": dwell_ms / 1000,
            "dwell_percentile": t.dwell_percentile,
            "dwell_samples": samples,
            "exits": exits.get((step, 0), (0, 0))[0],
            "levels": list(levels),
        }
        evidence = _Evidence(
            lingering.now, lingering.past, _poisson_noise(median), lingering.now, details
        )
        checks.append(_judge(plan, t, "checkout_bottleneck", scope, "spike", evidence))
    return checks


def _judge(
    plan: _Plan, t: Thresholds, rule: str, scope: str, direction: Direction, evidence: _Evidence
) -> Check:
    """The verdict: robust score, relative change, and a severity or the reason for none."""
    limits = t.rule(rule)
    value = evidence.value
    median, mad = robust_baseline(evidence.past)
    scale = max(MAD_SCALE * mad, evidence.noise)
    score = (value - median) / scale
    change = (value - median) / median if median else None
    toward = score if direction == "spike" else -score
    if change is None:
        # A spike from a median of 0 has no relative size: as large as it gets.
        size = math.inf if direction == "spike" and value > 0 else 0.0
    else:
        size = change if direction == "spike" else -change  # negative: the wrong way
    severity: Severity | None = None
    if evidence.volume < limits.min_volume:
        reason = "low volume"
    elif toward >= limits.critical_score and size >= limits.critical_relative_change:
        severity, reason = "critical", "alert"
    elif toward >= limits.warning_score and size >= limits.min_relative_change:
        severity, reason = "warning", "alert"
    else:
        reason = "normal"
    details = {
        **evidence.details,
        "lookback_minutes": limits.lookback_minutes,
        "baseline_weeks": len(evidence.past),
    }
    return Check(
        rule=rule,
        scope=scope,
        window_start=plan.start(limits.lookback_minutes),
        window_end=plan.end,
        value=value,
        baseline=evidence.past,
        median=median,
        mad=mad,
        scale=scale,
        score=score,
        relative_change=change,
        volume=evidence.volume,
        severity=severity,
        reason=reason,
        details=details,
    )


def _quiet(
    plan: _Plan,
    t: Thresholds,
    rule: str,
    scope: str,
    reason: str,
    details: dict[str, Any],
    value: float | None = None,
    past: tuple[float, ...] = (),
) -> Check:
    """A verdict without a score: too little volume or history to judge."""
    minutes = t.rule(rule).lookback_minutes
    return Check(
        rule=rule,
        scope=scope,
        window_start=plan.start(minutes),
        window_end=plan.end,
        value=value,
        baseline=past,
        median=None,
        mad=None,
        scale=None,
        score=None,
        relative_change=None,
        volume=None,
        severity=None,
        reason=reason,
        details=details,
    )


def _short_history(plan: _Plan, rule: str, t: Thresholds) -> Check:
    details = {"baseline_weeks": len(plan.weeks) - 1, "needed": t.min_baseline_weeks}
    scope = "step:*" if rule == "checkout_bottleneck" else "store"
    return _quiet(plan, t, rule, scope, "short history", details)


def _cooling_down(check: Check, previous: Sequence[Alert], cooldown_minutes: int) -> bool:
    """An alert of the same rule and scope from an earlier check, less than the cooldown
    before this one. Alerts of this same check or later ones do not count: re-running a
    check must give its alerts again, not silence them."""
    cooldown = dt.timedelta(minutes=cooldown_minutes)
    return any(
        alert.rule == check.rule
        and alert.scope == check.scope
        and dt.timedelta(0) < check.window_end - alert.window_end < cooldown
        for alert in previous
    )


# -- wording ---------------------------------------------------------------------------


def _alert(check: Check, zone: ZoneInfo) -> Alert:
    assert check.severity is not None and check.value is not None
    assert check.median is not None and check.mad is not None and check.score is not None
    ko, en = _messages(check, zone)
    details = {
        **check.details,
        "baseline": list(check.baseline),
        "scale": check.scale,
        "relative_change": check.relative_change,
    }
    return Alert(
        rule=check.rule,
        severity=check.severity,
        window_start=check.window_start.astimezone(zone),
        window_end=check.window_end.astimezone(zone),
        scope=check.scope,
        value=check.value,
        expected=check.median,
        score=check.score,
        message_ko=ko,
        message_en=en,
        details=details,
    )


def _span(check: Check, zone: ZoneInfo) -> str:
    start, end = check.window_start.astimezone(zone), check.window_end.astimezone(zone)
    if start.date() != end.date():  # a look-back across midnight needs its dates
        return f"{start:%m/%d %H:%M}–{end:%m/%d %H:%M}"
    return f"{start:%H:%M}–{end:%H:%M}"


def _messages(check: Check, zone: ZoneInfo) -> tuple[str, str]:
    """One sentence each in Korean and English: what, when, against what."""
    assert check.value is not None and check.median is not None
    unit = check.details.get("unit", "count")
    weeks = len(check.baseline)
    span = _span(check, zone)
    now_ko, now_en = format_value(check.value, unit, "ko"), format_value(check.value, unit, "en")
    usual_ko = format_value(check.median, unit, "ko")
    usual_en = format_value(check.median, unit, "en")
    change = check.relative_change
    pct = f"{abs(change) * 100:.0f}%" if change is not None else ""
    past_ko = f"지난 {weeks}주 같은 요일·시간 중앙값 {usual_ko}"
    past_en = f"the same weekday and time in the past {weeks} weeks had a median of {usual_en}"
    if check.rule == "checkout_bottleneck":
        step = check.details["step"]
        name_ko, name_en = STEP_LABELS.get(step, (step, step))
        usual = check.details["usual_dwell_seconds"]
        quantile = f"p{round(check.details['dwell_percentile'] * 100)}"
        usual_ko = f"{quantile} {format_value(usual, 'seconds', 'ko')}"
        usual_en = f"{quantile} {format_value(usual, 'seconds', 'en')}"
        ko = (
            f"{name_ko} 단계({step})에서 평소({usual_ko})보다 오래 머문 뒤 이탈한 세션이 "
            f"{span}에 {now_ko}건입니다 ({past_ko}건)."
        )
        en = (
            f"{now_en} sessions left at the {name_en} step ({step}) after lingering longer "
            f"than usual ({usual_en}) in {span}; {past_en}."
        )
        return ko, en
    metric = METRICS[_RULE_METRIC[check.rule]]
    up = check.rule.endswith("spike")
    if metric.unit == "ratio":
        moved_ko = "높습니다" if up else "낮습니다"
    else:
        moved_ko = "많습니다" if up else "적습니다"
    verb = "are" if metric.name == "sessions" else "is"
    ko = (
        f"{metric.label_ko}{_subject(metric.label_ko)} 평소보다 {pct} {moved_ko} "
        f"({span} {now_ko}, {past_ko})."
    )
    en = (
        f"{metric.label_en} {verb} {pct} {'above' if up else 'below'} usual: "
        f"{now_en} in {span}; {past_en}."
    )
    return ko, en


def _subject(word: str) -> str:
    """The Korean subject particle for `word`: 이 after a final consonant, else 가."""
    last = word[-1]
    has_final = "가" <= last <= "힣" and (ord(last) - ord("가")) % 28 != 0
    return "이" if has_final else "가"


_RULE_METRIC = {
    "traffic_drop": "sessions",
    "traffic_spike": "sessions",
    "conversion_drop": "conversion_rate",
    "revenue_drop": "revenue",
    "bounce_spike": "bounce_rate",
}
