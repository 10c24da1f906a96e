"""Live events: the sample model replayed into the warehouse one minute at a time.

`commercy stream replay` calls `replay`, which writes one batch per simulated minute
(the 1-minute buffering of the original pipeline) at real or accelerated speed, so the
risk alerts, the dashboard and the chat have "today" to look at. A batch holds the
sessions that START in its minute, whole: their hits may run on for minutes after it.

How a minute comes to look like the sample
------------------------------------------
The number of sessions is Poisson with the generator's own mean for that minute: the
store's expected sessions that day (`kpi.sample.generate.expected_sessions`, times `scale`)
times the minute's share of the day in the reporting time zone, which is where each
country's local-hour profile (`store_model.LOCAL_HOUR_PROFILE`) lands in that zone.
The sessions themselves come from the generator (`kpi.sample.generate.draw_sessions`): it draws a
pool of the day's sessions, and a pooled session may take the minute's place when the
minute falls in the same local hour of its own country as its drawn start did. Within
a local hour the generator spreads starts uniformly, so the chosen sessions are exactly
what the generator would have started in that minute, with the country mix (and with
it the conversion and revenue) of that time of day: at 03:00 in Seoul the visitors are
mostly American and buy; at 15:00 they are mostly Asian and European and browse.

Live rows never collide with generated or imported ones: a live `fullVisitorId` is a
20-digit string starting with "9" (above 2^64, which no GA id and no generated id can
be), `visitId` = `visitStartTime` as in the export, hence the keys. Each live session
is a new visitor: `users` equals `sessions` in the stream, while `visitNumber` keeps the
model's returning-visitor share so `new_users` stays right.

Incidents (exact effects; an incident changes only the sessions that start while it is
active, [start, start + minutes), and everything else in those minutes is unchanged:
the same seed with and without an incident gives identical rows outside its window)
--------------------------------------------------------------------------------------
checkout_bottleneck
    The cart hangs: every session that reaches /basket.html gets stuck there. Its hits
    end at the first view of /basket.html plus one repeat page view of it 5 to 15
    minutes later (same pagePath, actionType and products; the session's last hit, an
    exit, `isExit` true), so that last hit's dwell (its time minus the time of the hit
    before it) is 5 to 15 minutes. No purchase: `transactions` and revenue NULL. The
    drop-off rule sees them as sessions whose last hit is the cart more than 5 minutes
    after the hit before it. One page, so one alert: the checkout steps after the cart
    see no one at all. (At the sample store's volume ~3 sessions reach the cart in 20
    minutes of US daytime, and none at night: the rule needs 4 in its 30-minute look-back,
    so a bottleneck is detectable from about half an hour of US daytime on.)
traffic_drop
    Each session is kept with probability 0.1 (sessions x 0.1: an outage or a broken
    tracking tag, the drops that matter); the kept ones are unchanged. (A smaller drop
    over 20-30 minutes is within the store's own noise at its volume.)
conversion_drop
    70 % of buying sessions become abandoned checkouts (purchases x 0.3): their
    /ordercompleted.html hit and everything after it is removed, so the session ends
    with an exit on /revieworder.html, with no transaction and no revenue.
payment_errors
    80 % of the sessions that view /payment.html get 1 to 3 EVENT hits right after that
    view, 10 to 40 s apart: `eventCategory` "Checkout Error", `eventAction` "Payment
    Declined", `eventLabel` a decline reason, `pagePath` /payment.html, `actionType`
    '0'. 70 % of those sessions then leave (exit on /payment.html, no purchase); the rest
    go on as before, later. Purchases fall to about 0.44 of normal.
When incidents overlap they apply in that order: traffic_drop, conversion_drop,
payment_errors, checkout_bottleneck.

Resuming
--------
Before writing minute M, `replay` asks the warehouse whether any session with a live
visitor id starts in [M, M + 60 s); if so the minute was written before (a batch is one
transaction: all of it or none) and is skipped. A restart over the same span therefore
continues where it stopped, and since each minute's rows depend only on the seed, the
minute and the incidents, the result equals an uninterrupted run.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import BigInteger, Boolean, Date, Float, Integer, SmallInteger, Table, select

from kpi.sample import generate as gen
from kpi.sample import store_model as model
from kpi.sample.provenance import LIVE_VISITOR_PATTERN, LIVE_VISITOR_PREFIX
from kpi.storage.schema import TABLES, device_geo, hits, hits_product, sessions, totals, traffic
from kpi.storage.warehouse import Warehouse

IncidentKind = Literal["checkout_bottleneck", "traffic_drop", "conversion_drop", "payment_errors"]
# Also the order in which overlapping incidents apply.
INCIDENT_KINDS: tuple[str, ...] = ("traffic_drop", "conversion_drop", "payment_errors",
                                   "checkout_bottleneck")  # fmt: skip
assert set(INCIDENT_KINDS) == set(get_args(IncidentKind))
DEFAULT_INCIDENT_MINUTES = 30

# The incidents' strength (see the module docstring).
BOTTLENECK_SHARE = 1.0
BOTTLENECK_DWELL_SECONDS = (5 * 60, 15 * 60)
TRAFFIC_DROP_KEEP = 0.1
CONVERSION_DROP_KEEP = 0.3
PAYMENT_ERROR_SHARE = 0.8
PAYMENT_ERROR_ABANDON = 0.7
PAYMENT_ERROR_GAP_SECONDS = (10, 40)
PAYMENT_ERROR_CATEGORY = "Checkout Error"
PAYMENT_ERROR_ACTION = "Payment Declined"
PAYMENT_DECLINE_REASONS = ("Card declined", "Insufficient funds", "Issuer unavailable",
                           "Do not honor")  # fmt: skip

BASKET_PATH = model.BASKET_PAGE[0]
YOURINFO_PATH, PAYMENT_PATH = (page[0] for page in model.CHECKOUT_PAGES[:2])
# Where a checkout bottleneck holds visitors, shallowest first.
STUCK_PATHS = (BASKET_PATH, YOURINFO_PATH, PAYMENT_PATH)
PURCHASE_ACTION = "6"


# The generator cannot lay out a pool without a single basket line (an empty-array index
# in kpi.sample.generate._product_rows); 600 sessions hold ~32 baskets, so that never happens.
MIN_POOL = 600
# Keeps each minute's random stream apart from the generator's ([seed, chunk]).
STREAM_DOMAIN = 0x5EED_57A


# -- incidents -------------------------------------------------------------------------


@dataclass(frozen=True)
class Incident:
    """An incident to inject: active for the sessions starting in [start, end)."""

    kind: IncidentKind
    start: dt.datetime  # aware, in the reporting time zone
    minutes: int = DEFAULT_INCIDENT_MINUTES

    def __post_init__(self) -> None:
        if self.kind not in INCIDENT_KINDS:
            raise ValueError(f"unknown incident {self.kind!r}; one of {', '.join(INCIDENT_KINDS)}")
        if self.start.tzinfo is None:
            raise ValueError("an incident's start needs a time zone")
        if self.minutes < 1:
            raise ValueError("an incident lasts at least one minute")

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(minutes=self.minutes)

    def active_at(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end

    def label(self) -> str:
        return f"{self.kind}@{self.start:%H:%M}+{self.minutes}"


_INCIDENT_TEXT = re.compile(
    r"(?P<kind>[a-z_]+)@(?P<hour>\d{1,2}):(?P<minute>\d{2})(?:\+(?P<minutes>\d+))?"
)


def parse_incident(
    text: str, *, day: dt.date, zone: ZoneInfo, not_before: dt.datetime | None = None
) -> Incident:
    """`KIND@HH:MM[+MIN]` on `day` in `zone`, e.g. "checkout_bottleneck@14:30+20".

    MIN defaults to 30. With `not_before` (a replay's start), an incident that would be
    over by then moves to the next day, so "@00:30" in a replay starting at 23:00 means
    the coming night.
    """
    usage = (
        f"incident {text!r}: write KIND@HH:MM[+MINUTES], e.g. checkout_bottleneck@14:30+20, "
        f"with KIND one of {', '.join(INCIDENT_KINDS)}"
    )
    match = _INCIDENT_TEXT.fullmatch(text.strip().lower())
    if not match or match["kind"] not in INCIDENT_KINDS:
        raise ValueError(usage)
    hour, minute = int(match["hour"]), int(match["minute"])
    minutes = int(match["minutes"] or DEFAULT_INCIDENT_MINUTES)
    if hour > 23 or minute > 59 or minutes < 1:
        raise ValueError(usage)
    start = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)
    incident = Incident(match["kind"], start, minutes)  # type: ignore[arg-type]
    if not_before is not None and incident.end <= not_before:
        incident = replace(incident, start=_same_wall_time_next_day(start, zone))
    return incident


def _same_wall_time_next_day(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(moment.date() + dt.timedelta(days=1), moment.time(), tzinfo=zone)


# -- how many sessions a minute ----------------------------------------------------------


def expected_minute_sessions(
    minute_start: dt.datetime, *, zone: ZoneInfo, scale: float = 1.0
) -> float:
    """The generator's mean number of sessions starting in this minute."""
    day, second_of_day, zone_offset = _day_clock(minute_start, zone)
    share = _local_hour_weight(second_of_day, zone_offset).sum() / 60
    return gen.expected_sessions(day) * scale * share


def _day_clock(minute_start: dt.datetime, zone: ZoneInfo) -> tuple[dt.date, int, int]:
    """(reporting date, second of that day, zone offset) as the generator counts them:
    seconds since the zone's midnight, and the zone's UTC offset at noon."""
    local = minute_start.astimezone(zone)
    day = local.date()
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    noon_offset = dt.datetime.combine(day, dt.time(12), tzinfo=zone).utcoffset()
    assert noon_offset is not None
    second = int(minute_start.timestamp() - midnight.timestamp())
    return day, second, int(noon_offset.total_seconds())


@functools.cache
def _country_offsets() -> np.ndarray:
    return np.array([round(c[3] * 3600) for c in model.COUNTRIES], dtype=np.int64)


@functools.cache
def _country_index() -> pa.Array:
    return pa.array([c[0] for c in model.COUNTRIES], pa.string())


def _local_hour(
    second_of_day: int | np.ndarray, zone_offset: int, country_offset: np.ndarray
) -> np.ndarray:
    """Each visitor's local hour at this second of the reporting day (as the generator
    maps local time to the reporting zone, modulo one day)."""
    return ((second_of_day - zone_offset + country_offset) % 86400) // 3600


def _local_hour_weight(second_of_day: int, zone_offset: int) -> np.ndarray:
    """Per country: its share of sessions x the chance that one of them falls in the
    local hour that this reporting second is for it (the minute's share x 60, summed)."""
    profile = np.asarray(model.LOCAL_HOUR_PROFILE)
    hour = _local_hour(second_of_day, zone_offset, _country_offsets())
    return gen.COUNTRY_WEIGHTS * profile[hour] / profile.sum()


# -- one minute --------------------------------------------------------------------------


@dataclass
class _Hit:
    row: dict[str, Any]
    products: list[dict[str, Any]]

    @property
    def path(self) -> str:
        return self.row["pagePath"]

    @property
    def is_page(self) -> bool:
        return self.row["hitType"] == "PAGE"


@dataclass
class _Session:
    rows: dict[Table, dict[str, Any]]  # Sessions, Totals, Traffic, DeviceGeo
    hits: list[_Hit]
    changed: bool = False  # totals must be recounted from the hits

    @property
    def start(self) -> int:
        return self.rows[sessions]["visitStartTime"]

    def first_page(self, path: str) -> int | None:
        return next((i for i, h in enumerate(self.hits) if h.is_page and h.path == path), None)

    def purchase_index(self) -> int | None:
        return next(
            (i for i, h in enumerate(self.hits) if h.row["actionType"] == PURCHASE_ACTION), None
        )


def minute_batch(
    minute_start: dt.datetime,
    *,
    zone: ZoneInfo,
    rng: np.random.Generator,
    scale: float = 1.0,
    incidents: Iterable[Incident] = (),
) -> dict[Table, pa.Table]:
    """The rows of the sessions that start in the minute from `minute_start` (aware, on a
    minute boundary), for each of the six tables, with the active incidents applied."""
    if minute_start.tzinfo is None or minute_start.second or minute_start.microsecond:
        raise ValueError("minute_start must be an aware datetime on a minute boundary")
    if scale <= 0:
        raise ValueError("scale must be positive")
    count = int(rng.poisson(expected_minute_sessions(minute_start, zone=zone, scale=scale)))
    live = _draw_sessions(minute_start, count, zone, rng)
    _move_into_minute(live, minute_start, zone, rng)
    # Drawn whatever is active, so an incident changes nothing but its own minutes.
    incident_seeds = rng.integers(0, 2**63, size=len(INCIDENT_KINDS))
    active = {i.kind for i in incidents if i.active_at(minute_start)}
    for kind, incident_seed in zip(INCIDENT_KINDS, incident_seeds, strict=True):
        if kind in active:
            live = _INCIDENT_EFFECTS[kind](live, np.random.default_rng(incident_seed))
    return _tables(live, minute_start.astimezone(zone))


def minute_rng(seed: int, minute_start: dt.datetime) -> np.random.Generator:
    """The random stream of one minute: the same whatever minute a replay started at."""
    return np.random.default_rng([seed, STREAM_DOMAIN, int(minute_start.timestamp()) // 60])


def _draw_sessions(
    minute_start: dt.datetime, count: int, zone: ZoneInfo, rng: np.random.Generator
) -> list[_Session]:
    """`count` generated sessions that may start in this minute (see the module doc)."""
    if count == 0:
        return []
    day, second_of_day, zone_offset = _day_clock(minute_start, zone)
    fit_share = _local_hour_weight(second_of_day, zone_offset).sum()
    size = max(MIN_POOL, math.ceil((count + 4 * math.sqrt(count) + 4) / fit_share))
    while True:
        pool = gen.draw_sessions([day], np.array([size]), rng, zone, _catalog())
        fitting = _fitting(pool, second_of_day, zone_offset, zone, day)
        if len(fitting) >= count:
            break
        size *= 2  # rare: a pool short of fitting sessions; draw a bigger one
    chosen = np.sort(rng.choice(fitting, size=count, replace=False))
    return _sessions_from_pool(pool, chosen)


@functools.cache
def _catalog() -> gen.CatalogArrays:
    return gen.CatalogArrays.build()


def _fitting(
    pool: dict[Table, pa.Table], second_of_day: int, zone_offset: int, zone: ZoneInfo, day: dt.date
) -> np.ndarray:
    """Pool sessions whose drawn start lies in the same local hour (of their own country)
    as the target second."""
    midnight = int(dt.datetime.combine(day, dt.time(), tzinfo=zone).timestamp())
    drawn = pool[sessions]["visitStartTime"].to_numpy() - midnight
    names = pool[device_geo]["country"].combine_chunks().cast(pa.string())
    country = pc.index_in(names, value_set=_country_index()).to_numpy(zero_copy_only=False)
    offset = _country_offsets()[country.astype(np.int64)]
    same_hour = _local_hour(drawn, zone_offset, offset) == _local_hour(
        second_of_day, zone_offset, offset
    )
    return np.flatnonzero(same_hour)


def _sessions_from_pool(pool: dict[Table, pa.Table], chosen: np.ndarray) -> list[_Session]:
    index = pa.array(chosen)
    per_table = {
        t: pool[t].take(index).to_pylist() for t in (sessions, totals, traffic, device_geo)
    }
    keys = pa.array([row["session_key"] for row in per_table[sessions]], pa.string())
    hit_rows = pool[hits].filter(pc.is_in(pool[hits]["session_key"], value_set=keys))
    product_rows = pool[hits_product].filter(
        pc.is_in(pool[hits_product]["hit_key"], value_set=hit_rows["hit_key"].combine_chunks())
    )
    products: dict[str, list[dict[str, Any]]] = {}
    for row in product_rows.to_pylist():  # in hit, then position order
        products.setdefault(row["hit_key"], []).append(row)
    session_hits: dict[str, list[_Hit]] = {}
    for row in hit_rows.to_pylist():  # in session, then hitNumber order
        hit = _Hit(row, products.get(row["hit_key"], []))
        session_hits.setdefault(row["session_key"], []).append(hit)
    return [
        _Session(
            rows={t: per_table[t][i] for t in per_table},
            hits=session_hits[per_table[sessions][i]["session_key"]],
        )
        for i in range(len(chosen))
    ]


def _move_into_minute(
    live: list[_Session], minute_start: dt.datetime, zone: ZoneInfo, rng: np.random.Generator
) -> None:
    """Give each session a live visitor id and a start second inside the minute."""
    if not live:
        return
    base = int(minute_start.timestamp())
    visitors = _live_visitor_ids(rng, len(live))
    seconds = rng.integers(0, 60, size=len(live))
    day = minute_start.astimezone(zone).date()
    for session, visitor, second in zip(live, visitors, seconds, strict=True):
        start = base + int(second)
        session.rows[sessions].update(
            fullVisitorId=visitor, visitId=start, visitStartTime=start, date=day
        )
        for hit in session.hits:
            if hit.row["transactionId"] is not None:
                hit.row["transactionId"] = f"ORD{day:%Y%m%d}{int(visitor[-4:]):04d}"


def _live_visitor_ids(rng: np.random.Generator, n: int) -> list[str]:
    while True:
        numbers = rng.integers(0, 2**63, size=n)
        if len(np.unique(numbers)) == n:  # distinct, so keys are unique within the minute
            return [f"{LIVE_VISITOR_PREFIX}{number:019d}" for number in numbers]


# -- the incidents' effects ----------------------------------------------------------------


def _drop_traffic(live: list[_Session], rng: np.random.Generator) -> list[_Session]:
    keep = rng.random(len(live)) < TRAFFIC_DROP_KEEP
    return [session for session, kept in zip(live, keep, strict=True) if kept]


def _drop_conversions(live: list[_Session], rng: np.random.Generator) -> list[_Session]:
    for session in live:
        purchase = session.purchase_index()
        if purchase is not None and rng.random() >= CONVERSION_DROP_KEEP:
            session.hits = session.hits[:purchase]  # ends on the last checkout step
            session.changed = True
    return live


def _fail_payments(live: list[_Session], rng: np.random.Generator) -> list[_Session]:
    for session in live:
        payment = session.first_page(PAYMENT_PATH)
        if payment is None or rng.random() >= PAYMENT_ERROR_SHARE:
            continue
        errors = _payment_errors(session.hits[payment], rng)
        rest = session.hits[payment + 1 :]
        if rng.random() < PAYMENT_ERROR_ABANDON:
            rest = []
        delay = errors[-1].row["time"] - session.hits[payment].row["time"]
        for hit in rest:  # the retry that worked: everything after happens later
            hit.row["time"] += delay
        session.hits = [*session.hits[: payment + 1], *errors, *rest]
        session.changed = True
    return live


def _payment_errors(payment: _Hit, rng: np.random.Generator) -> list[_Hit]:
    count = 1 + int(rng.binomial(2, 0.4))
    gaps = rng.integers(*PAYMENT_ERROR_GAP_SECONDS, size=count, endpoint=True) * 1000
    reasons = rng.choice(len(PAYMENT_DECLINE_REASONS), size=count)
    errors = []
    for offset, reason in zip(np.cumsum(gaps), reasons, strict=True):
        row = {
            **payment.row,
            "time": payment.row["time"] + int(offset),
            "hitType": "EVENT",
            "actionType": "0",
            "eventCategory": PAYMENT_ERROR_CATEGORY,
            "eventAction": PAYMENT_ERROR_ACTION,
            "eventLabel": PAYMENT_DECLINE_REASONS[reason],
            "isEntrance": None,
            "isExit": None,
            "transactionId": None,
            "transactionRevenue": None,
            "product_productQuantity": None,
        }
        errors.append(_Hit(row, []))
    return errors


def _hold_in_checkout(live: list[_Session], rng: np.random.Generator) -> list[_Session]:
    for session in live:
        stuck_at = session.first_page(BASKET_PATH)
        if stuck_at is None or rng.random() >= BOTTLENECK_SHARE:
            continue
        stuck = session.hits[stuck_at]
        dwell_ms = int(rng.integers(*BOTTLENECK_DWELL_SECONDS, endpoint=True)) * 1000
        # The visitor reloads the page that does not move on, then gives up.
        reload = _Hit(
            {**stuck.row, "time": stuck.row["time"] + dwell_ms, "isEntrance": None},
            [dict(product) for product in stuck.products],
        )
        session.hits = [*session.hits[: stuck_at + 1], reload]
        session.changed = True
    return live


_INCIDENT_EFFECTS: dict[str, Callable[[list[_Session], np.random.Generator], list[_Session]]] = {
    "traffic_drop": _drop_traffic,
    "conversion_drop": _drop_conversions,
    "payment_errors": _fail_payments,
    "checkout_bottleneck": _hold_in_checkout,
}


# -- rows ------------------------------------------------------------------------------------


def _tables(live: list[_Session], minute_start: dt.datetime) -> dict[Table, pa.Table]:
    """Rows for the six tables, keys rebuilt from the live ids and hit numbers."""
    offset = int(minute_start.utcoffset().total_seconds())  # type: ignore[union-attr]
    rows: dict[Table, list[dict[str, Any]]] = {table: [] for table in TABLES}
    for session in live:
        key = f"{session.rows[sessions]['fullVisitorId']}-{session.start}"
        for table, row in session.rows.items():
            row["session_key"] = key
            rows[table].append(row)
        _number_hits(session, key, offset)
        _copy_start_time(session)
        if session.changed:
            _recount_totals(session)
        for hit in session.hits:
            rows[hits].append(hit.row)
            rows[hits_product].extend(hit.products)
    return {
        table: pa.Table.from_pylist(rows[table], schema=arrow_schema(table)) for table in TABLES
    }


def _number_hits(session: _Session, key: str, zone_offset: int) -> None:
    last_page = max(i for i, hit in enumerate(session.hits) if hit.is_page)
    for number, hit in enumerate(session.hits, start=1):
        clock = session.start + hit.row["time"] // 1000 + zone_offset
        hit.row.update(
            session_key=key,
            hit_key=f"{key}-{number}",
            hitNumber=number,
            hour=(clock // 3600) % 24,
            minute=(clock // 60) % 60,
            isEntrance=True if number == 1 else None,
            isExit=True if number - 1 == last_page else None,
        )
        for position, product in enumerate(hit.products, start=1):
            product.update(hit_key=hit.row["hit_key"], product_hit_key=f"{key}-{number}-{position}")


def _copy_start_time(session: _Session) -> None:
    """Totals and Hits carry the session's start (`sessionStartTime`, so time filters
    need no join); the pooled rows hold the drawn start: give them the live one."""
    rows = [*session.rows.values(), *(hit.row for hit in session.hits)]
    rows += [product for hit in session.hits for product in hit.products]
    for row in rows:
        if "sessionStartTime" in row:
            row["sessionStartTime"] = session.start


def _recount_totals(session: _Session) -> None:
    """Totals of a session an incident changed, by the generator's rules."""
    row = session.rows[totals]
    pages = sum(hit.is_page for hit in session.hits)
    bought = session.purchase_index() is not None
    bounced = len(session.hits) == 1
    row.update(
        hits=len(session.hits),
        pageviews=pages,
        timeOnSite=None if bounced else session.hits[-1].row["time"] // 1000,
        bounces=1 if bounced else None,
        sessionQualityDim=1 if bounced else min(100, 2 + max(pages, 1) * 3 + bought * 40),
    )
    if not bought:
        row.update(transactions=None, totalTransactionRevenue=None, grossTransactionRevenue=None)


_ARROW_TYPES = [(BigInteger, pa.int64()), (SmallInteger, pa.int16()), (Integer, pa.int32()),
                (Boolean, pa.bool_()), (Date, pa.date32()), (Float, pa.float64())]  # fmt: skip


@functools.cache
def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of a batch's rows for `table` (text as plain strings)."""

    def arrow_type(column_type: Any) -> pa.DataType:
        # BigInteger and SmallInteger subclass Integer: the first match is the narrowest.
        return next((a for sql, a in _ARROW_TYPES if isinstance(column_type, sql)), pa.string())

    return pa.schema([(c.name, arrow_type(c.type)) for c in table.columns])


# -- the replay ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MinuteResult:
    """What one simulated minute wrote (nothing when `skipped`: it was there already)."""

    minute: dt.datetime
    sessions: int = 0
    hits: int = 0
    transactions: int = 0
    revenue_usd: float = 0.0
    skipped: bool = False
    incidents: tuple[str, ...] = ()


@dataclass
class ReplayReport:
    start: dt.datetime
    minutes_written: int = 0
    minutes_skipped: int = 0
    sessions: int = 0
    hits: int = 0
    transactions: int = 0
    revenue_usd: float = 0.0
    real_seconds: float = 0.0
    interrupted: bool = False
    incidents: tuple[Incident, ...] = field(default=())

    @property
    def end(self) -> dt.datetime:
        """The end of the last minute replayed (written or skipped)."""
        return self.start + dt.timedelta(minutes=self.minutes_written + self.minutes_skipped)

    @property
    def speed(self) -> float:
        """Simulated seconds written per real second (inf when no time passed)."""
        simulated = self.minutes_written * 60
        return simulated / self.real_seconds if self.real_seconds > 0 else math.inf

    def add(self, result: MinuteResult) -> None:
        if result.skipped:
            self.minutes_skipped += 1
            return
        self.minutes_written += 1
        self.sessions += result.sessions
        self.hits += result.hits
        self.transactions += result.transactions
        self.revenue_usd += result.revenue_usd

    def summary(self) -> str:
        stopped = " (interrupted)" if self.interrupted else ""
        skipped = f", {self.minutes_skipped} already there" if self.minutes_skipped else ""
        return (
            f"replayed {self.start:%Y-%m-%d %H:%M} .. {self.end:%H:%M}{stopped}: "
            f"{self.minutes_written} minutes written{skipped}, {self.sessions:,} sessions, "
            f"{self.hits:,} hits, {self.transactions:,} transactions, "
            f"revenue ${self.revenue_usd:,.2f}, {self.real_seconds:.1f} s "
            f"({self.speed:,.0f}x real time)"
        )


def replay(
    warehouse: Warehouse,
    *,
    start: dt.datetime,
    minutes: int | None,
    speed: float,
    zone: ZoneInfo,
    seed: int,
    incidents: Sequence[Incident] = (),
    scale: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_batch: Callable[[MinuteResult], None] | None = None,
) -> ReplayReport:
    """Write one batch per simulated minute from `start` (truncated to the minute) for
    `minutes` minutes, or until KeyboardInterrupt when `minutes` is None.

    Simulated time runs `speed` times faster than real time (0 or inf: as fast as
    possible); a minute's batch is written when its minute is over in simulated time.
    Minutes already replayed are skipped without waiting (see "Resuming" above).
    KeyboardInterrupt stops cleanly: the minute being written is rolled back, the report
    says `interrupted`.
    """
    if speed < 0 or math.isnan(speed):
        raise ValueError("speed must be positive, or 0 for as fast as possible")
    if minutes is not None and minutes < 0:
        raise ValueError("minutes must not be negative")
    if seed < 0:
        raise ValueError("seed must not be negative")
    if start.tzinfo is None:
        raise ValueError("start needs a time zone")
    start = start.astimezone(zone).replace(second=0, microsecond=0)
    report = ReplayReport(start=start, incidents=tuple(incidents))
    pacer = _Pacer(speed, clock, sleep)
    began = clock()
    try:
        index = 0
        while minutes is None or index < minutes:
            minute = start + dt.timedelta(minutes=index)
            result = _replay_minute(warehouse, minute, pacer, zone, seed, scale, incidents)
            report.add(result)
            if on_batch:
                on_batch(result)
            index += 1
    except KeyboardInterrupt:
        report.interrupted = True
    report.real_seconds = clock() - began
    return report


def _replay_minute(
    warehouse: Warehouse,
    minute: dt.datetime,
    pacer: _Pacer,
    zone: ZoneInfo,
    seed: int,
    scale: float,
    incidents: Sequence[Incident],
) -> MinuteResult:
    if already_replayed(warehouse, minute):
        pacer.restart()  # a resumed run catches up at once, then keeps pace
        return MinuteResult(minute, skipped=True)
    # Drawn after the wait, so an incident added meanwhile (`commercy stream inject`
    # appends to `incidents` while the replay runs) applies to this minute already.
    pacer.wait_for_next()
    batch = minute_batch(
        minute, zone=zone, rng=minute_rng(seed, minute), scale=scale, incidents=incidents
    )
    warehouse.append_many([(table, batch[table]) for table in TABLES])
    revenue = pc.sum(batch[totals]["totalTransactionRevenue"]).as_py() or 0
    return MinuteResult(
        minute=minute,
        sessions=batch[sessions].num_rows,
        hits=batch[hits].num_rows,
        transactions=pc.sum(batch[totals]["transactions"]).as_py() or 0,
        revenue_usd=revenue / gen.MICROS,
        incidents=tuple(i.kind for i in incidents if i.active_at(minute)),
    )


def already_replayed(warehouse: Warehouse, minute: dt.datetime) -> bool:
    """Whether a live session starts in this minute: the replay wrote it before."""
    first = int(minute.timestamp())
    query = (
        select(sessions.c.session_key)
        .where(sessions.c.visitStartTime >= first)
        .where(sessions.c.visitStartTime < first + 60)
        .where(sessions.c.fullVisitorId.like(LIVE_VISITOR_PATTERN))
        .limit(1)
    )
    with warehouse.engine.connect() as conn:
        return conn.execute(query).first() is not None


def forget_live_minutes(warehouse: Warehouse, start: dt.datetime, end: dt.datetime) -> int:
    """Delete the live sessions that start in [start, end), with everything that hangs
    off them, in one transaction; how many sessions went. Generated and imported rows
    are never touched (only live visitor ids match). Replaying those minutes again then
    writes them anew: with an incident injected after the fact, as they would have been
    with it."""
    first, last = int(start.timestamp()), int(end.timestamp())
    keys = (
        select(sessions.c.session_key)
        .where(sessions.c.visitStartTime >= first)
        .where(sessions.c.visitStartTime < last)
        .where(sessions.c.fullVisitorId.like(LIVE_VISITOR_PATTERN))
    )
    with warehouse.engine.begin() as conn:
        hit_keys = select(hits.c.hit_key).where(hits.c.session_key.in_(keys))
        conn.execute(hits_product.delete().where(hits_product.c.hit_key.in_(hit_keys)))
        for table in (hits, totals, traffic, device_geo):
            conn.execute(table.delete().where(table.c.session_key.in_(keys)))
        return conn.execute(sessions.delete().where(sessions.c.session_key.in_(keys))).rowcount


class _Pacer:
    """Keeps simulated minutes `speed` times faster than real ones, without drift: each
    minute is due at a fixed time after the anchor, so a slow minute is caught up."""

    def __init__(
        self, speed: float, clock: Callable[[], float], sleep: Callable[[float], None]
    ) -> None:
        self.seconds_per_minute = 0.0 if speed in (0, math.inf) else 60 / speed
        self.clock, self.sleep = clock, sleep
        self.restart()

    def restart(self) -> None:
        self.anchor, self.paced = self.clock(), 0

    def wait_for_next(self) -> None:
        self.paced += 1
        if not self.seconds_per_minute:
            return
        remaining = self.anchor + self.paced * self.seconds_per_minute - self.clock()
        if remaining > 0:
            self.sleep(remaining)
