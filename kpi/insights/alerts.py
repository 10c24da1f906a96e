"""Risk alerts: the rules the scheduler runs every 5 minutes, against the warehouse.

Every rule asks one question of counts: given what the same weekday and time of day in
the past 4..8 weeks make usual for this stretch, at today's level of traffic, how likely
is a stretch at least this far off by chance alone? That chance is a tail probability of
the count (Poisson for sessions, orders and error sessions, binomial for bounces among
sessions, kpi/insights/tails.py), and the rule's score is its *surprise*, -log10 of the
chance corrected for the stretches tried: 3 is one in a thousand. A rule fires when the
surprise passes its `warning_score` *and* the change is large (`min_relative_change`),
so tiny absolute moves at quiet hours stay quiet. Counts work from the first minutes of
an incident, where a z-score over past weeks' medians needs half an hour of data.

The rules (names are stable: the alert ledger, cards and settings use them):

- ``traffic_drop`` / ``traffic_spike`` (scope ``store``): sessions started. A scan over
  the last 1..30 minutes (each minute a stretch ending at the check; the surprise pays
  for the 30 looks): an outage shows in the first minutes after it starts, and the
  stretch that scores best is where it began. "About 18 sessions expected in 8 minutes,
  2 seen, since about 14:35." Expected = the past weeks' sessions in the 30 minutes
  before the same wall time, trimmed mean, at today's level, per minute of the stretch.
  Physics: a drop to 10 % scores 3 only when the stretch was expected to hold about 17
  sessions (`tails.detection_limit`): 8 minutes of the sample store's US daytime, 11 of
  its US night.
- ``error_spike`` (scope ``error:CATEGORY / ACTION`` or ``error:page TITLE``): sessions
  with an error hit of one type: an EVENT whose category or action reads like an error
  (`error_patterns`: "Checkout Error / Payment Declined") or a page whose title does
  ("Page Unavailable"), in the look-back. Expected = that type's error sessions per
  session over the baseline weeks' whole same weekdays (half an error when there were
  none: a type never seen is not impossible) x the sessions started in the look-back.
  An error type the baseline never had raises a warning at its first session; one the
  store has every day needs many more.
- ``checkout_bottleneck`` (scope ``step:/payment.html`` etc.): sessions that viewed a
  funnel step again right after viewing it, after waiting longer than that step's usual
  p99 (over every hit on it on the baseline days): the reload of a page that does not
  move on (kpi/sample/stream.py's checkout_bottleneck does exactly that). Expected =
  such sessions per session on the baseline days x the sessions started in the look-
  back. Needs two sessions: one visitor reloading is a person, two is a pattern.
- ``conversion_drop``: transactions of the sessions whose last activity fell in the
  look-back, against those sessions x the past weeks' pooled conversion rate.
- ``revenue_drop``: ``revenue`` of those sessions; order values are heavy-tailed, so
  this one rule keeps a normal approximation of the compound Poisson sum (12 hours and
  at least 12 usual orders make it fair).
- ``bounce_spike``: bounces among the sessions that ended in the look-back (binomial).

Overdispersion. Conversion and bounces vary from week to week more than chance alone
says; their counts are divided by the past weeks' own dispersion (quasi-Poisson,
Pearson's statistic over the weeks, at least 1) before the tail is read.

Episodes. An incident that goes on is one episode: while a rule and scope keep firing
(alerts less than its `cooldown_minutes` apart), each check returns an alert whose
`episode_id` is the first one's, the bot updates that one card in place, the onset is
the earliest seen, and the severity never goes down; it becomes critical when the
evidence is overwhelming (`critical_score` and `critical_relative_change`) or when the
episode has lasted `persist_minutes`.

Time. A window is ``[at - window, at)``. Traffic counts a session when it starts; the
conversion, revenue and bounce rules count it at its last activity (``visitStartTime +
timeOnSite``), when its outcome is known; hits count at their own time, and each check
sees the hits before `at` only (live batches hold whole sessions from their first
minute).

Baseline level. Past weeks' counts and sums are scaled by the store's level (its
sessions in the 7 days before each week's window, against the 7 days before now), so a
seasonal ramp such as October to Black Friday is not read as a spike, nor December as a
drop; rates need no scaling, and the per-session rates of errors and reloads are
multiplied by today's own sessions.

Cost. Two queries a check. Every query filters ``Sessions.visitStartTime`` on constant
ranges, so DuckDB's zone maps skip the rest of the year and Azure SQL seeks its index.
Commercy's ``Totals`` and ``Hits`` carry the session's start (``sessionStartTime``) as
an extra column, and the queries filter on it too, so the cost does not grow with
history (``bench/bench_alerts.py``). A ``ga_data`` without it (the bare GA schema) gets
the same answers through the join.

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

from kpi.insights.tails import binomial_sf, normal_cdf, poisson_cdf, poisson_sf, surprise
from kpi.metrics.catalog import METRICS
from kpi.metrics.units import format_about as about
from kpi.metrics.units import format_value
from kpi.storage.warehouse import Warehouse

Severity = Literal["warning", "critical"]
Direction = Literal["drop", "spike"]

MICROS = 1_000_000  # money columns hold USD micros
WEEK = dt.timedelta(days=7)
# A count never seen in the baseline is not impossible: half of one (Jeffreys' prior).
UNSEEN = 0.5

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
# What an error hit's event category or action, or an error page's title, contains
# (lower case, SQL LIKE): GA stores log declines, exceptions and 404 pages this way
# ("Page Unavailable" in the Google Merchandise Store's export).
ERROR_PATTERNS = ("%error%", "%fail%", "%declin%", "%exception%", "%unavailable%",
                  "%not found%", "%오류%", "%에러%", "%실패%")  # fmt: skip

RULES = (
    "checkout_bottleneck",
    "error_spike",
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
    unit: for the drop rules the *expected* volume (sessions for traffic_drop, orders
    for conversion_drop and revenue_drop), for the others the count seen (sessions,
    bounced sessions, error sessions, reloading sessions).

    Scores are surprises, -log10 of the chance of a stretch at least this far from the
    expected by chance alone, corrected for the stretches tried: `warning_score` 3 is
    one in a thousand, and each +1 makes a rule ten times harder to fire. A rule raises
    a warning when the surprise passes `warning_score` in its direction *and* the
    relative change passes `min_relative_change`; critical needs both critical figures
    (or an episode that lasts, `Thresholds.persist_minutes`).
    """

    lookback_minutes: int
    min_volume: float
    warning_score: float
    critical_score: float
    min_relative_change: float  # a fraction of the expected: 0.4 = 40 %
    critical_relative_change: float
    cooldown_minutes: int  # alerts of one rule and scope this close are one episode

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
    (bench/bench_alerts.py counts them; bench/bench_detect.py times the detection)."""

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
    error_patterns: tuple[str, ...] = ERROR_PATTERNS
    # Trend: counts and sums of a past week are scaled by how busy the store was in the
    # `level_days` days before now against the same days before that week's window, so
    # a season's ramp (October to Black Friday) does not read as a spike. 0 turns it off.
    level_days: int = 7
    # "Far longer than usual" = above this quantile of the step's dwell. At p90 (92 s at
    # the sample's cart) ~0.1 slow reloads are usual in half an hour of US daytime, so a
    # hanging cart needed a third stuck visitor; at p99 (255 s) ~0.02, and two suffice.
    dwell_percentile: float = 0.99
    min_dwell_samples: int = 100  # fewer hits on a step in the baseline: no usual dwell
    # An episode still firing this long after its first alert is critical.
    persist_minutes: int = 10

    # Two sessions reloading a checkout step after a long wait, where the baseline had
    # about none at this traffic.
    checkout_bottleneck: RuleThresholds = RuleThresholds(
        lookback_minutes=30, min_volume=2, warning_score=3.0, critical_score=6.0,
        min_relative_change=1.0, critical_relative_change=2.0, cooldown_minutes=60,
    )  # fmt: skip
    # An error type the baseline never had warns at its first session (about 2.8-3.3
    # at the sample's volume); a daily one needs many more.
    error_spike: RuleThresholds = RuleThresholds(
        lookback_minutes=15, min_volume=1, warning_score=2.5, critical_score=6.0,
        min_relative_change=1.0, critical_relative_change=3.0, cooldown_minutes=60,
    )  # fmt: skip
    # An outage: 70 % of the sessions gone and one chance in a thousand (after the 30
    # looks); critical at 80 % gone and one in a million. At half gone the sample store
    # (~2.2 sessions a minute) raised one false alert a clean week by chance alone.
    traffic_drop: RuleThresholds = RuleThresholds(
        lookback_minutes=30, min_volume=5, warning_score=3.0, critical_score=6.0,
        min_relative_change=0.7, critical_relative_change=0.8, cooldown_minutes=60,
    )  # fmt: skip
    # Twice the usual traffic at least: campaigns and bots, not a busy afternoon.
    traffic_spike: RuleThresholds = RuleThresholds(
        lookback_minutes=30, min_volume=30, warning_score=4.0, critical_score=8.0,
        min_relative_change=1.0, critical_relative_change=3.0, cooldown_minutes=60,
    )  # fmt: skip
    # Orders are rare (~2 an hour at best): 6 hours and at least 8 expected orders
    # before a drop can be told from chance; quiet hours stay silent.
    conversion_drop: RuleThresholds = RuleThresholds(
        lookback_minutes=360, min_volume=8, warning_score=3.0, critical_score=5.0,
        min_relative_change=0.5, critical_relative_change=0.8, cooldown_minutes=360,
    )  # fmt: skip
    # Order values are heavy-tailed: revenue needs a whole half day and a deep fall.
    revenue_drop: RuleThresholds = RuleThresholds(
        lookback_minutes=720, min_volume=12, warning_score=3.0, critical_score=5.0,
        min_relative_change=0.6, critical_relative_change=0.9, cooldown_minutes=720,
    )  # fmt: skip
    # Half of all sessions bounce; +30 % (50 % -> 65 %) over an hour's sessions.
    bounce_spike: RuleThresholds = RuleThresholds(
        lookback_minutes=60, min_volume=40, warning_score=5.0, critical_score=9.0,
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
        if self.persist_minutes < 0:
            raise ValueError("persist_minutes must not be negative")
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
                is_list = name in ("funnel_steps", "error_patterns")
                top[name] = tuple(value) if is_list else value
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
    the CLI's verbose view and the false-positive bench). `window_start` is the start of
    the stretch judged (for traffic, the best-scoring one); `value` was seen there and
    `expected` is usual; `score` is the surprise."""

    rule: str
    scope: str
    window_start: dt.datetime
    window_end: dt.datetime
    value: float | None
    expected: float | None
    score: float | None
    relative_change: float | None
    volume: float | None
    severity: Severity | None
    reason: str  # "alert", "normal", "low volume", "short history"
    onset: dt.datetime | None = None
    baseline: tuple[float, ...] = ()  # the past weeks' values, most recent first
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
    alerts already raised by earlier checks: a firing rule and scope with an alert there
    less than its cooldown ago continue that episode (see the module doc). Alerts of
    this same check or later ones in `previous` are ignored, so re-evaluating the same
    `at` returns the same alerts, which the ledger recognises by `alert_id`.
    """
    alerts = []
    for check in run_checks(warehouse, at, zone=zone, thresholds=thresholds):
        if check.severity is None:
            continue
        limits = thresholds.rule(check.rule)
        episode = _episode(check, previous, limits.cooldown_minutes)
        alerts.append(_alert(check, zone, episode, thresholds.persist_minutes))
    alerts.sort(key=lambda a: (a.severity != "critical", RULES.index(a.rule), a.scope))
    return alerts


def run_checks(
    warehouse: Warehouse,
    at: dt.datetime,
    *,
    zone: ZoneInfo,
    thresholds: Thresholds = Thresholds(),
) -> list[Check]:
    """Every rule's verdict at `at`, before episodes: two queries in all."""
    plan = _plan(warehouse, at, zone, thresholds)
    if len(plan.weeks) - 1 < thresholds.min_baseline_weeks:
        return [_short_history(plan, name, thresholds) for name in RULES]
    time_columns = _time_columns(warehouse)
    session_rows = warehouse.query(*_session_sql(plan, thresholds, "Totals" in time_columns))
    hit_rows = warehouse.query(*_hits_sql(plan, thresholds, "Hits" in time_columns))
    by_week = {int(row["k"]): row for row in session_rows}
    levels = _level_factors(plan, by_week)
    exposure = _exposure(hit_rows)
    checks = _bottleneck_checks(plan, thresholds, hit_rows, exposure)
    checks += _error_checks(plan, thresholds, hit_rows, exposure)
    checks += _store_checks(plan, thresholds, by_week, levels)
    return checks


# Checks in a row that an episode's rule and scope stay quiet before its card says the
# store is back to normal: one quiet check can be chance (a slow minute, no visitor at
# the payment page); two are ten minutes of nothing.
QUIET_CHECKS = 2


def quieted(
    previous: Sequence[Alert], at: dt.datetime, *, every: dt.timedelta = dt.timedelta(minutes=5)
) -> list[Alert]:
    """The last alert of each episode that has not fired for exactly `QUIET_CHECKS`
    checks (`every` apart) at `at`: once per quiet spell, so its card is updated once.
    If it fires again within its cooldown the episode goes on and its card with it."""
    latest: dict[str, Alert] = {}
    for alert in previous:
        known = latest.get(alert.episode)
        if alert.window_end <= at and (known is None or alert.window_end > known.window_end):
            latest[alert.episode] = alert
    return [a for a in latest.values() if at - a.window_end == QUIET_CHECKS * every]


def _episode(check: Check, previous: Sequence[Alert], cooldown_minutes: int) -> list[Alert]:
    """The alerts of the episode `check` continues, oldest first: alerts of the same rule
    and scope from earlier checks, each less than the cooldown after the one before,
    the last less than the cooldown before this check. Empty: a new episode."""
    gap = dt.timedelta(minutes=cooldown_minutes)
    same = sorted(
        (
            a
            for a in previous
            if a.rule == check.rule and a.scope == check.scope and a.window_end < check.window_end
        ),
        key=lambda a: a.window_end,
    )
    episode: list[Alert] = []
    reach = check.window_end
    for alert in reversed(same):
        if reach - alert.window_end >= gap:
            break
        episode.insert(0, alert)
        reach = alert.window_end
    return episode


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


def _scan_minutes(t: Thresholds) -> int:
    """How many one-minute stretches the traffic rules scan: their look-back."""
    return max(t.traffic_drop.lookback_minutes, t.traffic_spike.lookback_minutes)


def _session_sql(plan: _Plan, t: Thresholds, totals_has_time: bool) -> tuple[str, dict]:
    """One row per week: sessions started in each of the last minutes (`m0` the minute
    before `at`), and the volumes of the store-wide rules over their own look-backs."""
    at_end = {name: 60 * t.rule(name).lookback_minutes for name in RULES}
    scan = _scan_minutes(t)
    by_end = max(at_end[n] for n in ("conversion_drop", "revenue_drop", "bounce_spike"))
    reach = by_end + 60 * t.session_span_minutes
    ranges = [(end - reach, end) for end in plan.weeks]
    ended = "(c.visitStartTime + COALESCE(t.timeOnSite, 0))"

    def ended_within(rule: str) -> str:
        return f"{ended} >= w.at_s - {at_end[rule]} AND {ended} < w.at_s"

    # Sums stay exact (integers, DECIMAL for the squares of micros) so that the order in
    # which a parallel scan adds them cannot change a verdict in its last digit.
    micros = "COALESCE(t.totalTransactionRevenue, 0)"
    # Each of the last minutes, counted over the scanned minutes only (a few dozen
    # sessions a week), not over the hours the other rules read.
    scan_ranges = [(end - 60 * scan, end) for end in plan.weeks]
    minute_columns = ",\n    ".join(
        f"SUM(CASE WHEN r.visitStartTime >= w.at_s - {60 * (j + 1)} "
        f"AND r.visitStartTime < w.at_s - {60 * j} THEN 1 ELSE 0 END) AS m{j}"
        for j in range(scan)
    )
    columns: dict[str, str] = {}
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
recent AS (
  SELECT r.k,
    {minute_columns}
  FROM (
    SELECT s.visitStartTime, {_week_of("s.visitStartTime", scan_ranges)} AS k
    FROM ga_data.Sessions s
    WHERE {_ranges("s.visitStartTime", scan_ranges)}
  ) r
  JOIN (VALUES {_week_values(plan)}) AS w(k, at_s) ON w.k = r.k
  GROUP BY r.k
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
SELECT w.k AS k, {", ".join(f"m.{name}" for name in columns)},
  {", ".join(f"r.m{j}" for j in range(scan))}, l.level_sessions
FROM (VALUES {_week_values(plan)}) AS w(k, at_s)
LEFT JOIN measures m ON m.k = w.k
LEFT JOIN recent r ON r.k = w.k
LEFT JOIN levels l ON l.k = w.k"""
    return sql, {}


def _hits_sql(plan: _Plan, t: Thresholds, hits_has_time: bool) -> tuple[str, dict]:
    """The hit-level evidence, as rows (kind, step, k, a, b, c):

    - ('usual', step, NULL, p-quantile dwell ms, samples, NULL) from the baseline days;
    - ('reloads', step, 0 now | 1 baseline days, sessions, earliest wait start ms, NULL):
      sessions that viewed the step right after viewing it, after longer than usual;
    - ('errors', first page, 0 now | 1 baseline days, sessions, earliest error ms, error
      hits) per type, `label` the event category or page title, `action` the event's
      action ('' when it has none; NULL for an error page); the baseline days only for
      the types seen now, which is all the rule compares (and keeps 8 days of hits
      from being matched against the error patterns every 5 minutes);
    - ('exposure', NULL, 0 | 1, sessions started in the bottleneck's look-back, in the
      error rule's look-back; both: sessions on the baseline days).

    Now is seen as of `at`: only hits before it, in each rule's look-back.
    """
    bottleneck_ms = 60_000 * t.checkout_bottleneck.lookback_minutes
    errors_ms = 60_000 * t.error_spike.lookback_minutes
    lookback = max(t.checkout_bottleneck.lookback_minutes, t.error_spike.lookback_minutes)
    at_s = plan.weeks[0]
    now = (at_s - 60 * (lookback + t.session_span_minutes), at_s)
    steps = {f"step{i}": path for i, path in enumerate(t.funnel_steps)}
    patterns = {f"error{i}": pattern for i, pattern in enumerate(t.error_patterns)}
    on_step = f"h.pagePath IN ({', '.join(':' + name for name in steps)})"

    def like_any(column: str) -> str:
        return " OR ".join(f"LOWER({column}) LIKE :{name}" for name in patterns) or "1 = 0"

    per_mille = round(t.dwell_percentile * 1000)
    hits_time = ""
    if hits_has_time:
        hits_time = f"AND ({_ranges('h.sessionStartTime', [now, *plan.day_ranges])})"
    now_time = days_time = ""
    if hits_has_time:
        now_time = f"AND ({_ranges('h.sessionStartTime', [now])})"
        days_time = f"AND ({_ranges('h.sessionStartTime', plan.day_ranges)})"
    # The sessions that could have reloaded or erred now: those started in each look-back.
    reload_from = at_s - 60 * t.checkout_bottleneck.lookback_minutes
    error_from = at_s - 60 * t.error_spike.lookback_minutes
    sql = f"""
WITH candidates AS (
  SELECT s.session_key, s.visitStartTime,
    CASE WHEN {_ranges("s.visitStartTime", [now])} THEN 0 ELSE 1 END AS k
  FROM ga_data.Sessions s
  WHERE {_ranges("s.visitStartTime", [now, *plan.day_ranges])}
),
timed AS (
  SELECT c.session_key, c.k, h.pagePath, h.hitNumber, h.hitType,
    c.visitStartTime * 1000 + h.time AS at_ms
  FROM candidates c
  JOIN ga_data.Hits h ON h.session_key = c.session_key {hits_time}
),
seen AS (
  SELECT * FROM timed WHERE k = 1 OR at_ms < {at_s} * CAST(1000 AS BIGINT)
),
step_hits AS (
  SELECT h.session_key, h.k, h.pagePath, h.at_ms, h.hitType,
    h.at_ms - prior.at_ms AS dwell_ms, prior.at_ms AS prior_ms,
    CASE WHEN prior.pagePath = h.pagePath AND prior.hitType = 'PAGE' AND h.hitType = 'PAGE'
      THEN 1 ELSE 0 END AS again
  FROM seen h
  JOIN seen prior ON prior.session_key = h.session_key AND prior.hitNumber = h.hitNumber - 1
  WHERE {on_step}
),
ranked AS (
  SELECT pagePath, dwell_ms,
    ROW_NUMBER() OVER (PARTITION BY pagePath ORDER BY dwell_ms) AS position,
    COUNT(*) OVER (PARTITION BY pagePath) AS samples
  FROM step_hits WHERE k = 1
),
usual AS (
  SELECT pagePath, MIN(dwell_ms) AS dwell_ms, MAX(samples) AS samples
  FROM ranked WHERE position * 1000 >= samples * {per_mille}
  GROUP BY pagePath
),
reloads AS (
  SELECT e.pagePath, e.k, e.session_key, MIN(e.prior_ms) AS since_ms
  FROM step_hits e
  JOIN usual u ON u.pagePath = e.pagePath
  WHERE e.again = 1 AND e.dwell_ms > u.dwell_ms
    AND (e.k = 1 OR e.at_ms >= {at_s} * CAST(1000 AS BIGINT) - {bottleneck_ms})
  GROUP BY e.pagePath, e.k, e.session_key
),
errors_now AS (
  SELECT c.session_key, c.visitStartTime * 1000 + h.time AS at_ms, h.pagePath, h.hitType,
    CASE WHEN h.hitType = 'PAGE' THEN h.pageTitle ELSE h.eventCategory END AS label,
    CASE WHEN h.hitType = 'PAGE' THEN NULL ELSE COALESCE(h.eventAction, '') END AS action
  FROM candidates c
  JOIN ga_data.Hits h ON h.session_key = c.session_key {now_time}
  WHERE c.k = 0
    AND c.visitStartTime * 1000 + h.time >= {at_s} * CAST(1000 AS BIGINT) - {errors_ms}
    AND c.visitStartTime * 1000 + h.time < {at_s} * CAST(1000 AS BIGINT)
    AND ((h.hitType = 'EVENT' AND ({like_any("h.eventCategory")}
                                   OR {like_any("h.eventAction")}))
      OR (h.hitType = 'PAGE' AND ({like_any("h.pageTitle")})))
),
now_types AS (
  SELECT DISTINCT hitType, label, action FROM errors_now
),
errors_before AS (
  SELECT c.session_key, n.label, n.action
  FROM candidates c
  JOIN ga_data.Hits h ON h.session_key = c.session_key {days_time}
  JOIN now_types n ON h.hitType = n.hitType
    AND ((n.action IS NULL AND h.pageTitle = n.label)
      OR (n.action IS NOT NULL AND h.eventCategory = n.label
          AND COALESCE(h.eventAction, '') = n.action))
  WHERE c.k = 1
)
SELECT 'usual' AS kind, pagePath AS step, CAST(NULL AS INTEGER) AS k,
  dwell_ms AS a, samples AS b, CAST(NULL AS BIGINT) AS c,
  CAST(NULL AS VARCHAR(256)) AS label, CAST(NULL AS VARCHAR(256)) AS action
FROM usual
UNION ALL
SELECT 'reloads', pagePath, k, COUNT(*), MIN(since_ms), NULL, NULL, NULL
FROM reloads GROUP BY pagePath, k
UNION ALL
SELECT 'errors', MIN(pagePath), 0, COUNT(DISTINCT session_key), MIN(at_ms), COUNT(*),
  label, action
FROM errors_now GROUP BY label, action
UNION ALL
SELECT 'errors', NULL, 1, COUNT(DISTINCT session_key), NULL, COUNT(*), label, action
FROM errors_before GROUP BY label, action
UNION ALL
SELECT 'exposure', NULL, k,
  SUM(CASE WHEN k = 1 OR visitStartTime >= {reload_from} THEN 1 ELSE 0 END),
  SUM(CASE WHEN k = 1 OR visitStartTime >= {error_from} THEN 1 ELSE 0 END), NULL, NULL, NULL
FROM candidates
GROUP BY k"""
    return sql, {**steps, **patterns}


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


def trimmed_mean(values: Sequence[float]) -> float:
    """The mean without the highest and the lowest week once there are five or more: a
    past week with its own outage or campaign does not move what is usual."""
    ordered = sorted(values)
    if len(ordered) >= 5:
        ordered = ordered[1:-1]
    return sum(ordered) / len(ordered) if ordered else 0.0


def dispersion(
    observed: Sequence[float], expected: Sequence[float], share: float | None = None
) -> float:
    """How much more the past weeks vary than chance alone (Pearson's statistic over the
    weeks / degrees of freedom), at least 1: the quasi-Poisson scale of a count, or the
    quasi-binomial one when each expected count is a `share` of trials (variance
    n p (1 - p))."""
    keep = 1 - share if share is not None else 1.0
    pairs = [(o, e) for o, e in zip(observed, expected, strict=True) if e > 0 and keep > 0]
    if len(pairs) < 2:
        return 1.0
    return max(1.0, sum((o - e) ** 2 / (e * keep) for o, e in pairs) / (len(pairs) - 1))


def _store_checks(
    plan: _Plan, t: Thresholds, by_week: Mapping[int, Mapping[str, Any]], levels: Sequence[float]
) -> list[Check]:
    def series(column: str, unit: float = 1) -> _Series:
        weeks = range(len(plan.weeks))
        return _Series(tuple(float(by_week.get(k, {}).get(column) or 0) / unit for k in weeks))

    minutes = [series(f"m{j}") for j in range(_scan_minutes(t))]
    return [
        _traffic_check(plan, t, "traffic_drop", minutes, levels),
        _traffic_check(plan, t, "traffic_spike", minutes, levels),
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


_RANK = {None: 0, "warning": 1, "critical": 2}


def _traffic_check(
    plan: _Plan, t: Thresholds, rule: str, minutes: Sequence[_Series], levels: Sequence[float]
) -> Check:
    """The scan: every stretch of the last 1..look-back minutes, judged on its own; the
    verdict is the most severe, then most surprising, stretch (its start: the onset)."""
    direction: Direction = "drop" if rule == "traffic_drop" else "spike"
    scan = t.rule(rule).lookback_minutes
    weekly = [
        sum(minutes[j].values[k] for j in range(scan)) * levels[k]
        for k in range(1, len(plan.weeks))
    ]
    per_minute = trimmed_mean(weekly) / scan
    best: Check | None = None
    seen = 0.0
    for m in range(1, scan + 1):
        seen += minutes[m - 1].now
        expected = per_minute * m
        p = poisson_cdf(seen, expected) if direction == "drop" else poisson_sf(seen, expected)
        check = _verdict(
            plan, t, rule, "store", direction, value=seen, expected=expected, p=p, tries=scan,
            volume=expected if direction == "drop" else seen, minutes=m,
            onset=plan.start(m), baseline=tuple(weekly),
            details={"unit": "count", "per_minute": per_minute, "levels": list(levels)},
        )  # fmt: skip
        if best is None or (_RANK[check.severity], check.score or 0) > (
            _RANK[best.severity],
            best.score or 0,
        ):
            best = check
    assert best is not None
    if best.severity is None:  # nothing fires: the verdict on the whole look-back
        return replace(check, onset=None)
    return best


def _conversion_check(plan: _Plan, t: Thresholds, sessions: _Series, orders: _Series) -> Check:
    rule = "conversion_drop"
    details: dict[str, Any] = {
        "unit": "ratio", "sessions": sessions.now, "transactions": orders.now
    }  # fmt: skip
    past = tuple(o / s for o, s in zip(orders.past, sessions.past, strict=True) if s)
    if not sessions.now or len(past) < t.min_baseline_weeks or not sum(sessions.past):
        return _quiet(plan, t, rule, "store", "low volume", details, past=past)
    rate = sum(orders.past) / sum(sessions.past)
    expected = sessions.now * rate  # the orders this many sessions usually bring
    phi = dispersion(orders.past, [s * rate for s in sessions.past])
    p = poisson_cdf(math.ceil(orders.now / phi), expected / phi)
    details.update(expected_transactions=expected, dispersion=phi)
    return _verdict(
        plan, t, rule, "store", "drop", value=orders.now / sessions.now, expected=rate, p=p,
        volume=expected, baseline=past, details=details,
    )  # fmt: skip


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
    expected = statistics.median(revenue.past)
    # Compound Poisson: a sum of N ~ Poisson(n) orders of size X varies by n * E[X^2].
    mean_square = sum(squares.past) / sum(ordered.past) if sum(ordered.past) else 0.0
    spread = math.sqrt(typical_orders * mean_square) or 1.0
    return _verdict(
        plan, t, "revenue_drop", "store", "drop", value=revenue.now, expected=expected,
        p=normal_cdf((revenue.now - expected) / spread), volume=typical_orders,
        baseline=revenue.past,
        details={"unit": "usd", "transactions": orders.now,
                 "baseline_transactions": typical_orders, "levels": list(levels)},
    )  # fmt: skip


def _bounce_check(plan: _Plan, t: Thresholds, sessions: _Series, bounces: _Series) -> Check:
    rule = "bounce_spike"
    details: dict[str, Any] = {"unit": "ratio", "sessions": sessions.now, "bounces": bounces.now}
    past = tuple(b / s for b, s in zip(bounces.past, sessions.past, strict=True) if s)
    if not sessions.now or len(past) < t.min_baseline_weeks or not sum(sessions.past):
        return _quiet(plan, t, rule, "store", "low volume", details, past=past)
    rate = sum(bounces.past) / sum(sessions.past)
    phi = dispersion(bounces.past, [s * rate for s in sessions.past], share=rate)
    p = binomial_sf(math.floor(bounces.now / phi), sessions.now / phi, rate)
    details["dispersion"] = phi
    return _verdict(
        plan, t, rule, "store", "spike", value=bounces.now / sessions.now, expected=rate, p=p,
        volume=bounces.now, baseline=past, details=details,
    )  # fmt: skip


def _exposure(rows: Sequence[Mapping[str, Any]]) -> dict[int, tuple[float, float]]:
    """k -> (sessions that could have reloaded, that could have erred): now (0) in each
    rule's look-back, on the baseline days (1)."""
    return {
        int(r["k"]): (float(r["a"] or 0), float(r["b"] or 0))
        for r in rows
        if r["kind"] == "exposure"
    }


def _bottleneck_checks(
    plan: _Plan, t: Thresholds, rows: Sequence[Mapping[str, Any]], exposure: Mapping[int, Any]
) -> list[Check]:
    rule = "checkout_bottleneck"
    usual = {r["step"]: (int(r["a"]), int(r["b"])) for r in rows if r["kind"] == "usual"}
    reloads = {
        (r["step"], int(r["k"])): (int(r["a"]), r["b"]) for r in rows if r["kind"] == "reloads"
    }
    now_sessions, day_sessions = exposure.get(0, (0, 0))[0], exposure.get(1, (0, 0))[0]
    checks = []
    for step in t.funnel_steps:
        scope = f"step:{step}"
        dwell_ms, samples = usual.get(step, (None, 0))
        if dwell_ms is None or samples < t.min_dwell_samples or not day_sessions:
            details = {"unit": "count", "dwell_samples": samples}
            checks.append(_quiet(plan, t, rule, scope, "short history", details))
            continue
        seen, since_ms = reloads.get((step, 0), (0, None))
        before = reloads.get((step, 1), (0, None))[0]
        expected = (before + UNSEEN) / day_sessions * now_sessions
        details = {
            "unit": "count",
            "step": step,
            "usual_dwell_seconds": dwell_ms / 1000,
            "dwell_percentile": t.dwell_percentile,
            "dwell_samples": samples,
            "sessions": now_sessions,
            "baseline_reloads": before,
            "baseline_sessions": day_sessions,
        }
        verdict = _verdict(
            plan, t, rule, scope, "spike", value=seen, expected=expected,
            p=poisson_sf(seen, expected), volume=seen, onset=_moment(since_ms, plan),
            details=details,
        )  # fmt: skip
        checks.append(verdict)
    return checks


def _error_checks(
    plan: _Plan, t: Thresholds, rows: Sequence[Mapping[str, Any]], exposure: Mapping[int, Any]
) -> list[Check]:
    """One verdict per error type seen now (none seen: one quiet verdict, scope error:*)."""
    rule = "error_spike"
    now_sessions, day_sessions = exposure.get(0, (0, 0))[1], exposure.get(1, (0, 0))[1]
    before = {
        (r["label"], r["action"]): int(r["a"])
        for r in rows
        if r["kind"] == "errors" and int(r["k"]) == 1
    }
    now = sorted(
        (r for r in rows if r["kind"] == "errors" and int(r["k"]) == 0),
        key=lambda r: (str(r["label"]), str(r["action"])),
    )
    if not now or not day_sessions:
        reason = "normal" if day_sessions else "short history"
        return [_quiet(plan, t, rule, "error:*", reason, {"unit": "count"}, value=0.0)]
    checks = []
    for row in now:
        label, action = str(row["label"] or "?"), row["action"]
        usual = before.get((row["label"], action), 0)
        expected = (usual + UNSEEN) / day_sessions * now_sessions
        seen = int(row["a"])
        scope = f"error:{label} / {action}" if action is not None else f"error:page {label}"
        details = {
            "unit": "count",
            "kind": "page" if action is None else "event",
            "label": label,
            "action": action,
            "path": row["step"],
            "hits": int(row["c"] or 0),
            "sessions": now_sessions,
            "baseline_error_sessions": usual,
            "baseline_sessions": day_sessions,
        }
        verdict = _verdict(
            plan, t, rule, scope[:200], "spike", value=seen, expected=expected,
            p=poisson_sf(seen, expected), volume=seen, onset=_moment(row["b"], plan),
            details=details,
        )  # fmt: skip
        checks.append(verdict)
    return checks


def _moment(ms: Any, plan: _Plan) -> dt.datetime | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(int(ms) / 1000, dt.UTC).astimezone(plan.zone)


def _verdict(
    plan: _Plan,
    t: Thresholds,
    rule: str,
    scope: str,
    direction: Direction,
    *,
    value: float,
    expected: float,
    p: float,
    volume: float,
    tries: int = 1,
    minutes: int | None = None,
    onset: dt.datetime | None = None,
    baseline: tuple[float, ...] = (),
    details: dict[str, Any],
) -> Check:
    """Surprise, relative change, and a severity or the reason for none."""
    limits = t.rule(rule)
    score = surprise(p, tries)
    change = value / expected - 1 if expected else None
    if change is None:
        # A spike from an expected 0 has no relative size: as large as it gets.
        size = math.inf if direction == "spike" and value > 0 else 0.0
    else:
        size = change if direction == "spike" else -change  # negative: the wrong way
    severity: Severity | None = None
    if volume < limits.min_volume:
        reason = "low volume"
    elif score >= limits.critical_score and size >= limits.critical_relative_change:
        severity, reason = "critical", "alert"
    elif score >= limits.warning_score and size >= limits.min_relative_change:
        severity, reason = "warning", "alert"
    else:
        reason = "normal"
    minutes = minutes or limits.lookback_minutes
    return Check(
        rule=rule,
        scope=scope,
        window_start=plan.start(minutes),
        window_end=plan.end,
        value=value,
        expected=expected,
        score=score,
        relative_change=change,
        volume=volume,
        severity=severity,
        reason=reason,
        onset=onset,
        baseline=baseline,
        details={
            **details,
            "lookback_minutes": minutes,
            "baseline_weeks": len(plan.weeks) - 1,
            "p": p,
        },
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
        expected=None,
        score=None,
        relative_change=None,
        volume=None,
        severity=None,
        reason=reason,
        baseline=past,
        details=details,
    )


def _short_history(plan: _Plan, rule: str, t: Thresholds) -> Check:
    details = {"baseline_weeks": len(plan.weeks) - 1, "needed": t.min_baseline_weeks}
    scope = {"checkout_bottleneck": "step:*", "error_spike": "error:*"}.get(rule, "store")
    return _quiet(plan, t, rule, scope, "short history", details)


# -- wording ---------------------------------------------------------------------------


def _alert(check: Check, zone: ZoneInfo, episode: Sequence[Alert], persist_minutes: int) -> Alert:
    """The alert of a firing check; within an episode, its onset is the earliest seen and
    its severity never falls, and becomes critical once the episode has lasted."""
    assert check.severity is not None and check.value is not None
    assert check.expected is not None and check.score is not None
    severity: Severity = check.severity
    onset = check.onset.astimezone(zone) if check.onset is not None else None
    episode_id = ""
    if episode:
        first = episode[0]
        episode_id = first.episode
        onsets = [a.onset for a in episode if a.onset is not None]
        if onset is not None:
            onsets.append(onset)
        onset = min(onsets).astimezone(zone) if onsets else None
        lasted = check.window_end - first.window_end
        if any(a.severity == "critical" for a in episode) or lasted >= dt.timedelta(
            minutes=persist_minutes
        ):
            severity = "critical"
    ko, en = _messages(check, zone)
    details = {
        **check.details,
        "baseline": list(check.baseline),
        "relative_change": check.relative_change,
        "checked_severity": check.severity,
    }
    return Alert(
        rule=check.rule,
        severity=severity,
        window_start=check.window_start.astimezone(zone),
        window_end=check.window_end.astimezone(zone),
        scope=check.scope,
        value=check.value,
        expected=check.expected,
        score=check.score,
        message_ko=ko,
        message_en=en,
        onset=onset,
        episode_id=episode_id,
        details=details,
    )


def _span(check: Check, zone: ZoneInfo) -> str:
    start, end = check.window_start.astimezone(zone), check.window_end.astimezone(zone)
    if start.date() != end.date():  # a look-back across midnight needs its dates
        return f"{start:%m/%d %H:%M}–{end:%m/%d %H:%M}"
    return f"{start:%H:%M}–{end:%H:%M}"


def _messages(check: Check, zone: ZoneInfo) -> tuple[str, str]:
    """One sentence each in Korean and English: what, when, seen against expected."""
    assert check.value is not None and check.expected is not None
    unit = check.details.get("unit", "count")
    weeks = check.details.get("baseline_weeks", len(check.baseline))
    span = _span(check, zone)
    seen = f"{check.value:,.0f}"
    if check.rule == "checkout_bottleneck":
        step = check.details["step"]
        name_ko, name_en = STEP_LABELS.get(step, (step, step))
        usual = check.details["usual_dwell_seconds"]
        quantile = f"p{round(check.details['dwell_percentile'] * 100)}"
        ko = (
            f"{name_ko} 단계({step})에서 평소({quantile} {format_value(usual, 'seconds', 'ko')})"
            f"보다 오래 기다린 뒤 같은 페이지를 다시 연 세션이 {span}에 {seen}개입니다 "
            f"(지난 {weeks}주 같은 요일 기준, 이만큼의 트래픽이면 약 "
            f"{about(check.expected, 'ko')}개 예상)."
        )
        en = (
            f"{seen} sessions reopened the {name_en} step ({step}) after waiting longer than "
            f"usual ({quantile} {format_value(usual, 'seconds', 'en')}) in {span}; the same "
            f"weekday in the past {weeks} weeks makes about {about(check.expected, 'en')} "
            f"usual at this traffic."
        )
        return ko, en
    if check.rule == "error_spike":
        hits = check.details["hits"]
        if check.details["kind"] == "page":
            what_ko = f"오류 페이지 '{check.details['label']}'"
            what_en = f"Error page '{check.details['label']}'"
        else:
            name = f"{check.details['label']} / {check.details['action']}"
            what_ko, what_en = f"오류 이벤트 '{name}'", f"Error event '{name}'"
        path = check.details.get("path") or ""
        ko = (
            f"{what_ko}가 {span}에 세션 {seen}개에서 {hits}번 발생했습니다 ({path}; "
            f"지난 {weeks}주 같은 요일 기준, 이만큼의 트래픽이면 약 "
            f"{about(check.expected, 'ko')}개 예상)."
        )
        en = (
            f"{what_en} hit {seen} session{'s' if check.value != 1 else ''} ({hits} times) in "
            f"{span} on {path}; the same weekday in the past {weeks} weeks makes about "
            f"{about(check.expected, 'en')} usual at this traffic."
        )
        return ko, en
    metric = METRICS[_RULE_METRIC[check.rule]]
    up = check.rule.endswith("spike")
    change = check.relative_change
    pct = f"{abs(change) * 100:.0f}%" if change is not None else ""
    if unit == "count":
        now_ko = now_en = seen
        usual_ko, usual_en = about(check.expected, "ko"), about(check.expected, "en")
    else:
        now_ko, now_en = (format_value(check.value, unit, lang) for lang in ("ko", "en"))
        usual_ko, usual_en = (format_value(check.expected, unit, lang) for lang in ("ko", "en"))
    if metric.unit == "ratio":
        moved_ko = "높습니다" if up else "낮습니다"
    else:
        moved_ko = "많습니다" if up else "적습니다"
    verb = "are" if metric.name == "sessions" else "is"
    ko = (
        f"{metric.label_ko}{_subject(metric.label_ko)} 평소보다 {pct} {moved_ko}: {span} 동안 "
        f"{now_ko} (지난 {weeks}주 같은 요일·시간 기준 예상 약 {usual_ko})."
    )
    en = (
        f"{metric.label_en} {verb} {pct} {'above' if up else 'below'} usual: {now_en} in "
        f"{span}, about {usual_en} expected (the same weekday and time in the past "
        f"{weeks} weeks)."
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
