"""Risk alerts on a real DuckDB warehouse: six generated weeks, incidents planted with SQL.

Each incident test works on its own copy of the generated file, plants one incident on
the last day, replays the checks every 5 minutes across it (passing the alerts raised
so far, as the scheduler does) and asserts that exactly the right alert fires, in the
right window, with the right rule and scope, and nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlglot
from sqlalchemy import text

from kpi.insights import alerts
from kpi.insights.alerts import Alert, Thresholds, evaluate, run_checks
from kpi.sample.generate import generate
from kpi.storage.warehouse import Warehouse, open_warehouse
from tests.conftest import SEOUL, new_warehouse

END = dt.date(2026, 6, 17)  # a Wednesday, in a month with no holidays
# The last day, five weeks of baseline before it and the week before those, which
# tells how busy the store was then (Thresholds.level_days).
DAYS = 49
SEED = 5
# False alerts allowed in the 288 checks of a clean day. bench/bench_alerts.py counts
# well under one a clean week on the full year, so one a day is already generous; this
# sample's END raises none, which keeps "exactly one alert" in the incident tests the
# incident's own.
CLEAN_DAY_ALERTS = 1


def local(hour: int, minute: int = 0, day: dt.date = END) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SEOUL)


def every_5_minutes(first: dt.datetime, last: dt.datetime) -> Iterator[dt.datetime]:
    moment = first
    while moment <= last:
        yield moment
        moment += dt.timedelta(minutes=5)


def replay_checks(
    warehouse: Warehouse, first: dt.datetime, last: dt.datetime, thresholds: Thresholds
) -> list[Alert]:
    """The scheduler's loop: a check every 5 minutes, each told what was already raised."""
    raised: list[Alert] = []
    for at in every_5_minutes(first, last):
        raised += evaluate(warehouse, at, zone=SEOUL, thresholds=thresholds, previous=raised)
    return raised


def seconds(moment: dt.datetime) -> int:
    return int(moment.timestamp())


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def six_weeks_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("alerts")
    warehouse = new_warehouse(folder)
    generate(warehouse, days=DAYS, end=END, zone=SEOUL, scale=1.0, seed=SEED)
    warehouse.close()
    return folder / "warehouse.duckdb"


def _copy(source: Path, folder: Path) -> Warehouse:
    target = folder / "copy.duckdb"
    shutil.copyfile(source, target)
    return open_warehouse(f"duckdb:///{target}")


@pytest.fixture(scope="session")
def six_weeks(six_weeks_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """The clean sample, shared: tests must not change it."""
    warehouse = _copy(six_weeks_file, tmp_path_factory.mktemp("clean"))
    yield warehouse
    warehouse.close()


@pytest.fixture
def fresh(six_weeks_file: Path, tmp_path: Path) -> Warehouse:
    """A private copy of the sample to plant an incident in."""
    warehouse = _copy(six_weeks_file, tmp_path)
    yield warehouse
    warehouse.close()


@pytest.fixture(scope="session")
def defaults() -> Thresholds:
    return Thresholds()


# -- planting incidents ----------------------------------------------------------------

SESSION_COLUMNS = (
    "visitNumber, fullVisitorId, channelGrouping, socialEngagementType"  # copied as they are
)
TOTALS_COLUMNS = "visits, pageviews, newVisits, sessionQualityDim"


def execute(warehouse: Warehouse, sql: str, **params: object) -> None:
    with warehouse.engine.begin() as conn:
        conn.execute(text(sql), params)


def plant_stuck_sessions(
    warehouse: Warehouse, step: str, last_hits: list[dt.datetime], dwell_minutes: int = 15
) -> None:
    """Sessions that reach `step`, view it again `dwell_minutes` later and leave: what a
    hanging page does (and what kpi/sample/stream.py's checkout_bottleneck writes). Copies of
    sessions from three weeks before that reached the step, cut after its first view."""
    sources = warehouse.query(
        'SELECT h.session_key, MIN(h.hitNumber) AS n FROM ga_data."Hits" h '
        'JOIN ga_data."Sessions" s ON s.session_key = h.session_key '
        "WHERE h.pagePath = :step AND h.hitNumber > 1 AND s.date = :day "
        "GROUP BY h.session_key ORDER BY h.session_key LIMIT :count",
        {"step": step, "day": END - dt.timedelta(days=21), "count": len(last_hits)},
    )
    assert len(sources) == len(last_hits)
    for i, (source, last_hit) in enumerate(zip(sources, last_hits, strict=True)):
        key, n = source["session_key"], source["n"]
        step_ms = warehouse.query(
            'SELECT time FROM ga_data."Hits" WHERE session_key = :key AND hitNumber = :n',
            {"key": key, "n": n},
        )[0]["time"]
        last_ms = step_ms + dwell_minutes * 60_000
        start = seconds(last_hit) - last_ms // 1000
        new = f"stuck-{i}-{start}"
        params = {"key": key, "new": new, "start": start, "day": last_hit.date(), "n": n}
        execute(
            warehouse,
            f'INSERT INTO ga_data."Sessions" (session_key, visitId, visitStartTime, date, '
            f"{SESSION_COLUMNS}) SELECT :new, :start, :start, :day, {SESSION_COLUMNS} "
            f'FROM ga_data."Sessions" WHERE session_key = :key',
            **params,
        )
        execute(
            warehouse,
            f'INSERT INTO ga_data."Totals" (session_key, sessionStartTime, hits, timeOnSite, '
            f"{TOTALS_COLUMNS}) SELECT :new, :start, :n + 1, :seconds, {TOTALS_COLUMNS} "
            f'FROM ga_data."Totals" WHERE session_key = :key',
            seconds=last_ms // 1000,
            **params,
        )
        execute(
            warehouse,
            'INSERT INTO ga_data."Hits" (hit_key, session_key, sessionStartTime, hitNumber, '
            "time, pagePath, hitType, actionType) SELECT :new || '-' || CAST(hitNumber AS VARCHAR), "
            ':new, :start, hitNumber, time, pagePath, hitType, actionType FROM ga_data."Hits" '
            "WHERE session_key = :key AND hitNumber <= :n",
            **params,
        )
        execute(
            warehouse,
            'INSERT INTO ga_data."Hits" (hit_key, session_key, sessionStartTime, hitNumber, '
            "time, pagePath, hitType, actionType, isExit) VALUES (:new || '-last', :new, :start, "
            ":n + 1, :last_ms, :step, 'PAGE', '0', TRUE)",
            last_ms=last_ms,
            step=step,
            **params,
        )


def sessions_ending_within(start: dt.datetime, end: dt.datetime) -> str:
    """Sessions whose last activity falls in [start, end): the store rules' membership."""
    return (
        'SELECT s.session_key FROM ga_data."Sessions" s JOIN ga_data."Totals" t '
        "ON t.session_key = s.session_key WHERE s.visitStartTime + COALESCE(t.timeOnSite, 0) "
        f">= {seconds(start)} AND s.visitStartTime + COALESCE(t.timeOnSite, 0) < {seconds(end)}"
    )


def only(raised: list[Alert]) -> Alert:
    """The one episode `raised` holds (its first alert), the updates that follow it being
    part of it."""
    first = [a for a in raised if not a.is_update]
    assert len(first) == 1, [(a.rule, a.scope, a.window_end.isoformat()) for a in first]
    assert all(a.episode == first[0].alert_id for a in raised), "an update of another episode"
    return first[0]


# -- a clean day -----------------------------------------------------------------------


@pytest.mark.slow
def test_a_clean_day_is_quiet(six_weeks: Warehouse, defaults: Thresholds) -> None:
    """All 288 checks of a clean day, each told what the checks before it raised."""
    raised = replay_checks(six_weeks, local(0, 5), local(0, 0, END + dt.timedelta(days=1)),
                           defaults)  # fmt: skip
    print(f"clean day {END}: {len(raised)} alert(s)", [a.message_en for a in raised])
    assert len(raised) <= CLEAN_DAY_ALERTS


def test_every_rule_and_step_gives_a_verdict(six_weeks: Warehouse, defaults: Thresholds) -> None:
    checks = run_checks(six_weeks, local(14), zone=SEOUL, thresholds=defaults)
    scopes = {(c.rule, c.scope) for c in checks}
    assert scopes == {
        *(("checkout_bottleneck", f"step:{step}") for step in defaults.funnel_steps),
        ("error_spike", "error:*"),  # the sample has no error hits
        *((rule, "store") for rule in alerts.RULES if rule not in ("checkout_bottleneck",
                                                                    "error_spike")),
    }  # fmt: skip
    for check in checks:
        assert check.reason in ("normal", "low volume"), check
        assert check.window_end == local(14)
        assert check.window_start == local(14) - dt.timedelta(
            minutes=defaults.rule(check.rule).lookback_minutes
        )
        if check.reason == "normal" and check.scope == "store":
            assert len(check.baseline) == 5  # END-7 .. END-35: the weeks the sample holds


def test_the_usual_dwell_is_a_p99_from_past_same_weekdays(
    six_weeks: Warehouse, defaults: Thresholds
) -> None:
    """The dwell before a hit on /payment.html, over the five past Wednesdays."""
    checks = run_checks(six_weeks, local(14), zone=SEOUL, thresholds=defaults)
    payment = next(c for c in checks if c.scope == "step:/payment.html")
    days = [END - dt.timedelta(days=7 * k) for k in range(1, 6)]
    rows = six_weeks.query(
        'SELECT h.time - p.time AS dwell FROM ga_data."Hits" h '
        'JOIN ga_data."Hits" p ON p.session_key = h.session_key AND p.hitNumber = h.hitNumber - 1 '
        'JOIN ga_data."Sessions" s ON s.session_key = h.session_key '
        "WHERE h.pagePath = '/payment.html' AND s.date IN (:d1, :d2, :d3, :d4, :d5) "
        "ORDER BY 1",
        {f"d{i}": day for i, day in enumerate(days, start=1)},
    )
    dwells = [row["dwell"] for row in rows]
    nearest_rank = dwells[-(-len(dwells) * 99 // 100) - 1]
    assert payment.details["dwell_samples"] == len(dwells)
    assert payment.details["usual_dwell_seconds"] == nearest_rank / 1000


# -- incidents -------------------------------------------------------------------------


def test_a_checkout_bottleneck_raises_one_alert_at_its_step(
    fresh: Warehouse, defaults: Thresholds
) -> None:
    stuck_at = [local(14, minute) for minute in (2, 6, 9, 13, 17, 22)]
    plant_stuck_sessions(fresh, "/payment.html", stuck_at)
    raised = replay_checks(fresh, local(13), local(16), defaults)
    alert = only(raised)
    assert (alert.rule, alert.scope) == ("checkout_bottleneck", "step:/payment.html")
    # Not at 14:05 (one visitor reloading is a person); at 14:10, three have reloaded
    # (14:02, 14:06, 14:09) where about none are usual: critical at once.
    assert alert.window_start <= stuck_at[0] and alert.window_end == local(14, 10)
    assert alert.value == 3 > defaults.checkout_bottleneck.min_volume
    assert alert.expected < 0.05 and alert.severity == "critical"
    began = stuck_at[0] - dt.timedelta(minutes=15)  # when the first began waiting
    assert alert.onset is not None and abs(alert.onset - began) < dt.timedelta(seconds=1)
    assert "결제" in alert.message_ko and "/payment.html" in alert.message_en


def test_six_stuck_sessions_at_once_are_critical(fresh: Warehouse, defaults: Thresholds) -> None:
    stuck_at = [local(14, minute) for minute in (1, 3, 5, 8, 12, 15, 18, 21)]
    plant_stuck_sessions(fresh, "/basket.html", stuck_at)
    alert = only(evaluate(fresh, local(14, 30), zone=SEOUL, thresholds=defaults))
    assert (alert.rule, alert.scope, alert.severity) == (
        "checkout_bottleneck",
        "step:/basket.html",
        "critical",
    )
    assert alert.value == len(stuck_at)


def test_sessions_that_linger_no_longer_than_usual_raise_nothing(
    fresh: Warehouse, defaults: Thresholds
) -> None:
    """Exits at the step after a short dwell are ordinary drop-offs, not a bottleneck."""
    plant_stuck_sessions(fresh, "/payment.html", [local(14, m) for m in range(2, 28, 4)],
                         dwell_minutes=0)  # fmt: skip
    assert replay_checks(fresh, local(13), local(16), defaults) == []


def test_a_traffic_drop_raises_one_alert(fresh: Warehouse, defaults: Thresholds) -> None:
    """90 % of an hour's sessions gone (an outage): one episode, critical as it lasts."""
    start, end = local(10), local(11)
    execute(
        fresh,
        'DELETE FROM ga_data."Sessions" WHERE visitStartTime >= :a AND visitStartTime < :b '
        "AND visitStartTime % 10 < 9",  # about 90 % of them
        a=seconds(start),
        b=seconds(end),
    )
    raised = replay_checks(fresh, local(9), local(12), defaults)
    alert = only(raised)
    assert (alert.rule, alert.scope) == ("traffic_drop", "store")
    assert start < alert.window_end <= end
    assert alert.score >= defaults.traffic_drop.warning_score
    assert alert.value < 0.3 * alert.expected
    assert raised[-1].severity == "critical" and raised[-1].episode == alert.alert_id


def test_a_traffic_spike_raises_one_alert(fresh: Warehouse, defaults: Thresholds) -> None:
    start, end = local(15), local(15, 30)
    for tag in ("copy1", "copy2"):  # three times the sessions, each a whole session
        copy_sessions(fresh, start, end, tag)
    alert = only(replay_checks(fresh, local(14), local(17), defaults))
    assert (alert.rule, alert.scope) == ("traffic_spike", "store")
    assert start < alert.window_end <= end + dt.timedelta(minutes=5)
    assert alert.score >= defaults.traffic_spike.warning_score


def test_a_busier_season_is_not_a_spike(fresh: Warehouse, defaults: Thresholds) -> None:
    """Three times the traffic all week long (a season's ramp, a big campaign) is the new
    normal: past weeks are scaled to the store's level before they are compared."""
    for tag in ("season1", "season2"):
        copy_sessions(fresh, local(14, 0, END - dt.timedelta(days=7)), local(15), tag)
    assert evaluate(fresh, local(14, 30), zone=SEOUL, thresholds=defaults) == []
    unscaled = defaults.with_overrides({"level_days": 0})
    spike = only(evaluate(fresh, local(14, 30), zone=SEOUL, thresholds=unscaled))
    assert spike.rule == "traffic_spike"


def copy_sessions(warehouse: Warehouse, start: dt.datetime, end: dt.datetime, tag: str) -> None:
    """One more of each session starting in [start, end), with its Totals row."""
    totals = ", ".join(f"t.{c.strip()}" for c in TOTALS_COLUMNS.split(","))
    bounds = {"a": seconds(start), "b": seconds(end)}
    execute(
        warehouse,
        f'INSERT INTO ga_data."Totals" (session_key, sessionStartTime, hits, timeOnSite, bounces, '
        f"transactions, totalTransactionRevenue, {TOTALS_COLUMNS}) SELECT t.session_key || "
        f"'-{tag}', t.sessionStartTime, t.hits, t.timeOnSite, t.bounces, t.transactions, "
        f"t.totalTransactionRevenue, {totals} "
        'FROM ga_data."Totals" t JOIN ga_data."Sessions" s ON s.session_key = t.session_key '
        "WHERE s.visitStartTime >= :a AND s.visitStartTime < :b",
        **bounds,
    )
    execute(
        warehouse,
        f'INSERT INTO ga_data."Sessions" (session_key, visitId, visitStartTime, date, '
        f"{SESSION_COLUMNS}) SELECT session_key || '-{tag}', visitId, visitStartTime, date, "
        f'{SESSION_COLUMNS} FROM ga_data."Sessions" '
        "WHERE visitStartTime >= :a AND visitStartTime < :b",
        **bounds,
    )


def test_lost_orders_raise_a_conversion_drop(fresh: Warehouse, defaults: Thresholds) -> None:
    """Checkout breaks at 04:00: no order after it. Orders are rare (~2 an hour), so the
    rule needs hours of evidence; it must speak before the day is out, and only once."""
    broken = local(4)
    execute(
        fresh,
        'UPDATE ga_data."Totals" SET transactions = NULL, totalTransactionRevenue = NULL '
        f"WHERE session_key IN ({sessions_ending_within(broken, local(23))})",
    )
    raised = replay_checks(fresh, local(4, 5), local(12), defaults)
    conversion = only([a for a in raised if a.rule == "conversion_drop"])
    assert conversion.details["transactions"] < conversion.details["expected_transactions"]
    assert conversion.scope == "store" and conversion.value < 0.5 * conversion.expected
    assert conversion.window_start >= broken - dt.timedelta(hours=2)
    assert {a.rule for a in raised} <= {"conversion_drop", "revenue_drop"}


def test_orders_worth_a_tenth_raise_a_revenue_drop(fresh: Warehouse, defaults: Thresholds) -> None:
    """A pricing bug: orders keep coming but each is worth a tenth of itself."""
    execute(
        fresh,
        'UPDATE ga_data."Totals" SET totalTransactionRevenue = totalTransactionRevenue / 10 '
        f"WHERE session_key IN ({sessions_ending_within(local(0), local(23))})",
    )
    raised = replay_checks(fresh, local(6), local(14), defaults)
    alert = only(raised)
    assert (alert.rule, alert.scope) == ("revenue_drop", "store")
    assert alert.value < 0.4 * alert.expected
    assert alert.details["transactions"] > 0  # the orders are still there


def test_a_broken_landing_page_raises_a_bounce_spike(
    fresh: Warehouse, defaults: Thresholds
) -> None:
    start, end = local(9), local(10)
    execute(
        fresh,
        'UPDATE ga_data."Totals" SET bounces = 1 WHERE session_key IN '
        f"({sessions_ending_within(start, end)} AND s.visitStartTime % 10 < 7)",
    )
    alert = only(replay_checks(fresh, local(8), local(11), defaults))
    assert (alert.rule, alert.scope) == ("bounce_spike", "store")
    assert start < alert.window_end <= end + dt.timedelta(minutes=5)


def plant_errors(
    warehouse: Warehouse, moments: list[dt.datetime], category: str, action: str
) -> None:
    """An error event on /payment.html at each moment, in a session that started in the
    half hour before it (what kpi/sample/stream.py's payment_errors writes)."""
    for i, moment in enumerate(moments):
        (host,) = warehouse.query(
            "SELECT s.session_key, s.visitStartTime AS start, MAX(h.hitNumber) AS n "
            'FROM ga_data."Sessions" s JOIN ga_data."Hits" h ON h.session_key = s.session_key '
            "WHERE s.visitStartTime >= :a AND s.visitStartTime < :b "
            "GROUP BY s.session_key, s.visitStartTime ORDER BY s.session_key LIMIT 1",
            {"a": seconds(moment) - 1800, "b": seconds(moment) - 60},
        )
        execute(
            warehouse,
            'INSERT INTO ga_data."Hits" (hit_key, session_key, sessionStartTime, hitNumber, '
            "time, pagePath, hitType, actionType, eventCategory, eventAction) VALUES "
            "(:key, :session, :start, :n, :ms, '/payment.html', 'EVENT', '0', :category, "
            ":action)",
            key=f"error-{i}-{host['session_key']}", session=host["session_key"],
            start=host["start"], n=host["n"] + 1, ms=(seconds(moment) - host["start"]) * 1000,
            category=category, action=action,
        )  # fmt: skip


def test_a_payment_error_the_store_never_had_warns_at_its_first_session(
    fresh: Warehouse, defaults: Thresholds
) -> None:
    plant_errors(fresh, [local(14, 7)], "Checkout Error", "Payment Declined")
    alert = only(replay_checks(fresh, local(13), local(15), defaults))
    assert (alert.rule, alert.scope) == ("error_spike", "error:Checkout Error / Payment Declined")
    assert alert.window_end == local(14, 10) and alert.onset == local(14, 7)
    assert alert.value == 1 and alert.expected < 0.01 and alert.severity == "warning"
    assert alert.details["path"] == "/payment.html"
    assert "오류 이벤트" in alert.message_ko and "/payment.html" in alert.message_en


def test_an_error_the_store_has_every_hour_is_no_alert_at_its_usual_rate(
    fresh: Warehouse, defaults: Thresholds
) -> None:
    """Declines happen in real stores all the time: the baseline days had one an hour,
    so one more now is expected, not an incident."""
    usual = [local(hour, 20, END - dt.timedelta(days=7 * week))
             for week in range(1, 6) for hour in range(1, 24)]  # fmt: skip
    plant_errors(fresh, [*usual, local(14, 7)], "Checkout Error", "Payment Declined")
    raised = replay_checks(fresh, local(13), local(15), defaults)
    assert [a for a in raised if a.rule == "error_spike"] == []


# -- cooldown, determinism, history ----------------------------------------------------


@pytest.fixture
def stuck(fresh: Warehouse) -> Warehouse:
    plant_stuck_sessions(fresh, "/payment.html", [local(14, m) for m in (2, 6, 9, 13, 17, 22)])
    return fresh


def test_a_check_that_still_fires_continues_the_episode(
    stuck: Warehouse, defaults: Thresholds
) -> None:
    first = only(evaluate(stuck, local(14, 10), zone=SEOUL, thresholds=defaults))
    assert not first.is_update
    # Five minutes later the same sessions are still in the look-back: told of the
    # alert before, the check updates its episode instead of starting another.
    (again,) = evaluate(stuck, local(14, 15), zone=SEOUL, thresholds=defaults, previous=[first])
    assert again.is_update and again.episode == first.alert_id
    assert again.onset == first.onset and again.lasted > first.lasted
    # Another scope or rule starts its own episode.
    other = Alert(**{**first.__dict__, "scope": "step:/basket.html"})
    (own,) = evaluate(stuck, local(14, 15), zone=SEOUL, thresholds=defaults, previous=[other])
    assert not own.is_update
    # Once the cooldown has passed without an alert, the next one starts a new episode.
    short = defaults.with_overrides({"checkout_bottleneck.cooldown_minutes": 5})
    (new,) = evaluate(stuck, local(14, 15), zone=SEOUL, thresholds=short, previous=[first])
    assert not new.is_update


def test_an_episode_that_persists_turns_critical(stuck: Warehouse, defaults: Thresholds) -> None:
    """Evidence that would stay a warning on its own is critical once the episode has
    lasted `persist_minutes`, and a critical episode stays critical."""
    calm = defaults.with_overrides({"checkout_bottleneck.critical_score": 300})
    first = only(evaluate(stuck, local(14, 10), zone=SEOUL, thresholds=calm))
    (again,) = evaluate(stuck, local(14, 15), zone=SEOUL, thresholds=calm, previous=[first])
    assert again.severity == "warning"
    (later,) = evaluate(stuck, local(14, 20), zone=SEOUL, thresholds=calm,
                        previous=[first, again])  # fmt: skip
    assert later.severity == "critical" and later.details["checked_severity"] == "warning"
    assert later.episode == first.alert_id


def test_re_running_a_check_gives_the_same_alerts(stuck: Warehouse, defaults: Thresholds) -> None:
    first = evaluate(stuck, local(14, 25), zone=SEOUL, thresholds=defaults)
    again = evaluate(stuck, local(14, 25), zone=SEOUL, thresholds=defaults, previous=first)
    assert [a.to_dict() for a in again] == [a.to_dict() for a in first]
    assert len({a.alert_id for a in first}) == len(first)


def test_an_alert_survives_a_round_trip_through_json(stuck: Warehouse) -> None:
    """The ledger may keep alerts as JSON and pass them back as `previous`."""
    alert = only(evaluate(stuck, local(14, 25), zone=SEOUL))
    restored = Alert.from_dict(json.loads(json.dumps(alert.to_dict())))
    assert restored.to_dict() == alert.to_dict()
    (update,) = evaluate(stuck, local(14, 30), zone=SEOUL, previous=[restored])
    assert update.episode == alert.alert_id


def test_a_naive_at_is_wall_time_in_the_zone(stuck: Warehouse, defaults: Thresholds) -> None:
    naive = evaluate(stuck, dt.datetime(2026, 6, 17, 14, 25), zone=SEOUL, thresholds=defaults)
    in_utc = evaluate(stuck, local(14, 25).astimezone(dt.UTC), zone=SEOUL, thresholds=defaults)
    assert [a.to_dict() for a in naive] == [a.to_dict() for a in in_utc]
    assert naive[0].window_end.tzinfo == SEOUL and naive[0].window_end == local(14, 25)


def test_the_alert_id_is_rule_scope_and_check(stuck: Warehouse) -> None:
    alert = only(evaluate(stuck, local(14, 25), zone=SEOUL))
    assert alert.alert_id == Alert(**{**alert.__dict__, "message_en": "x"}).alert_id
    assert alert.alert_id != Alert(**{**alert.__dict__, "scope": "store"}).alert_id
    moved = alert.window_end + dt.timedelta(minutes=5)
    assert alert.alert_id != Alert(**{**alert.__dict__, "window_end": moved}).alert_id
    assert len(alert.alert_id) == 20
    data = alert.to_dict()
    assert data["alert_id"] == alert.alert_id
    assert data["window_end"] == "2026-06-17T14:25:00+09:00"


def test_too_little_history_raises_nothing(six_weeks: Warehouse, defaults: Thresholds) -> None:
    early = local(14, 0, END - dt.timedelta(days=14))  # three weeks of history before it
    assert evaluate(six_weeks, early, zone=SEOUL, thresholds=defaults) == []
    checks = run_checks(six_weeks, early, zone=SEOUL, thresholds=defaults)
    assert {c.reason for c in checks} == {"short history"}
    fewer = defaults.with_overrides({"min_baseline_weeks": 3})
    assert {c.reason for c in run_checks(six_weeks, early, zone=SEOUL, thresholds=fewer)} != {
        "short history"
    }


def test_an_empty_warehouse_raises_nothing(warehouse: Warehouse) -> None:
    assert evaluate(warehouse, local(14), zone=SEOUL) == []


def test_without_the_extra_time_columns_the_checks_cost_more_but_say_the_same(
    stuck: Warehouse, defaults: Thresholds
) -> None:
    """Commercy's Totals and Hits carry an extra sessionStartTime that lets the queries prune
    them by time (bench/bench_alerts.py); a `ga_data` without it (the team's existing
    Azure SQL tables) gets the join instead, and the same alerts."""
    at = local(14, 25)
    assert alerts._time_columns(stuck) == {"Totals", "Hits"}
    before = run_checks(stuck, at, zone=SEOUL, thresholds=defaults)
    for table in ("Totals", "Hits"):
        execute(stuck, f'ALTER TABLE ga_data."{table}" DROP COLUMN sessionStartTime')
    assert alerts._time_columns(stuck) == set()
    assert run_checks(stuck, at, zone=SEOUL, thresholds=defaults) == before


def test_the_queries_parse_as_t_sql(six_weeks: Warehouse, defaults: Thresholds) -> None:
    """Production runs them on Azure SQL: no DuckDB-only syntax."""
    plan = alerts._plan(six_weeks, local(14), SEOUL, defaults)
    for with_time in (False, True):
        statements = [
            alerts._session_sql(plan, defaults, with_time),
            alerts._hits_sql(plan, defaults, with_time),
        ]
        for sql, params in statements:
            for name, value in params.items():
                sql = sql.replace(f":{name}", f"'{value}'")
            sqlglot.parse_one(sql, read="tsql")


# -- thresholds ------------------------------------------------------------------------


def test_thresholds_take_overrides_by_setting_name(defaults: Thresholds) -> None:
    changed = defaults.with_overrides(
        {"traffic_drop.warning_score": 5, "max_baseline_weeks": 6, "funnel_steps": ["/a"]}
    )
    assert changed.traffic_drop.warning_score == 5
    assert changed.traffic_drop.critical_score == defaults.traffic_drop.critical_score
    assert (changed.max_baseline_weeks, changed.funnel_steps) == (6, ("/a",))
    assert defaults.traffic_drop.warning_score != 5  # the original is untouched
    for bad in ("traffic_drop.warning", "nonsense", "traffic.warning_score"):
        with pytest.raises(ValueError, match="unknown alert threshold"):
            defaults.with_overrides({bad: 1})


@pytest.mark.parametrize(
    "override",
    [
        {"min_baseline_weeks": 9},
        {"traffic_drop.critical_score": 1},
        {"bounce_spike.lookback_minutes": 1},
        {"dwell_percentile": 1.5},
        {"conversion_drop.min_relative_change": 0.95},
    ],
)
def test_inconsistent_thresholds_are_refused(defaults: Thresholds, override: dict) -> None:
    with pytest.raises(ValueError):
        defaults.with_overrides(override)


def test_the_funnel_steps_are_the_sample_stores_pages() -> None:
    from kpi.sample import store_model

    pages = [store_model.BASKET_PAGE[0], *(page[0] for page in store_model.CHECKOUT_PAGES)]
    assert list(alerts.FUNNEL_STEPS) == pages


# -- the live stream -------------------------------------------------------------------


@pytest.fixture(scope="session")
def busier_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven weeks up to the day before END at five times the traffic: at the store's
    own volume a 30-minute bottleneck strands about two sessions, too few to tell from
    chance (see Thresholds.checkout_bottleneck)."""
    folder = tmp_path_factory.mktemp("busier")
    warehouse = new_warehouse(folder)
    generate(warehouse, days=DAYS, end=END - dt.timedelta(days=1), zone=SEOUL, scale=5.0,
             seed=SEED)  # fmt: skip
    warehouse.close()
    return folder / "warehouse.duckdb"


@pytest.mark.slow
def test_a_replayed_checkout_bottleneck_raises_one_alert(
    busier_history: Path, tmp_path: Path, defaults: Thresholds
) -> None:
    """kpi/sample/stream.py's own incident (30 minutes), replayed minute by minute after the
    generated history. Live batches hold whole sessions from their first minute, so this
    also checks that a session counts only once its last hit has happened."""
    stream = pytest.importorskip("kpi.sample.stream")
    warehouse = _copy(busier_history, tmp_path)
    incident = stream.Incident("checkout_bottleneck", local(12), minutes=30)
    stream.replay(warehouse, start=local(10), minutes=300, speed=0, zone=SEOUL, seed=3,
                  incidents=[incident], scale=5.0)  # fmt: skip
    raised = replay_checks(warehouse, local(11), local(15), defaults)
    warehouse.close()
    # Only the bottleneck is asserted: the replay starts at 10:00, so the long look-backs
    # (revenue: 12 hours) see a morning without sessions.
    alert = only([a for a in raised if a.rule == "checkout_bottleneck"])
    assert alert.scope in {f"step:{path}" for path in stream.STUCK_PATHS}
    assert alert.window_start < incident.end + dt.timedelta(minutes=15)  # the longest dwell
    assert alert.window_end > incident.start


# -- incidents replayed live, checked as the scheduler does --------------------------------

NEXT_DAY = END + dt.timedelta(days=1)


def _replayed_night(source: Path, folder: Path, incidents: list) -> Warehouse:
    """The night after the sample (US daytime: the store's busy hours), 00:00-06:00,
    replayed live at the store's own volume with `incidents`."""
    from kpi.sample.stream import replay

    warehouse = _copy(source, folder)
    replay(warehouse, start=local(0, 0, NEXT_DAY), minutes=360, speed=0, zone=SEOUL, seed=3,
           incidents=incidents)  # fmt: skip
    return warehouse


def test_a_traffic_drop_injected_into_the_live_replay_raises_one_alert_in_its_window(
    six_weeks_file: Path, tmp_path: Path, defaults: Thresholds
) -> None:
    """`commercy stream replay --inject traffic_drop@02:10+30` at the store's own volume,
    then every 5-minute check of the night: one traffic-drop alert while it lasts, and
    nothing else. (The bottleneck needs a busier store to be told from chance: see
    test_a_replayed_checkout_bottleneck_raises_one_alert.)"""
    from kpi.sample.stream import Incident

    incident = Incident("traffic_drop", local(2, 10, NEXT_DAY), 30)
    warehouse = _replayed_night(six_weeks_file, tmp_path, [incident])
    try:
        raised = replay_checks(warehouse, local(1, 0, NEXT_DAY), local(6, 0, NEXT_DAY),
                               defaults)  # fmt: skip
    finally:
        warehouse.close()
    alert = only(raised)
    assert alert.rule == "traffic_drop"
    assert incident.start < alert.window_end <= incident.end + dt.timedelta(minutes=10)


def test_the_same_live_night_without_an_incident_is_quiet(
    six_weeks_file: Path, tmp_path: Path, defaults: Thresholds
) -> None:
    warehouse = _replayed_night(six_weeks_file, tmp_path, [])
    try:
        raised = replay_checks(warehouse, local(1, 0, NEXT_DAY), local(6, 0, NEXT_DAY),
                               defaults)  # fmt: skip
    finally:
        warehouse.close()
    assert raised == []


# -- incidents replayed live at the store's own volume ---------------------------------

LIVE_SEED = 11
# 01:17 in Seoul is 16:17 UTC the day before: US daytime, when the store is busiest.
LIVE_ONSET_MINUTES = 77
SEARCH_MINUTES = 90


@pytest.fixture(scope="session")
def live_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven weeks generated at 1x up to the day before END, then END replayed live
    (kpi/sample/stream.py) from midnight to the onset: what `commercy serve` writes."""
    from kpi.sample import stream

    folder = tmp_path_factory.mktemp("live")
    warehouse = new_warehouse(folder)
    generate(warehouse, days=DAYS, end=END - dt.timedelta(days=1), zone=SEOUL, scale=1.0,
             seed=SEED)  # fmt: skip
    stream.replay(warehouse, start=local(0), minutes=LIVE_ONSET_MINUTES, speed=0, zone=SEOUL,
                  seed=LIVE_SEED)  # fmt: skip
    warehouse.close()
    return folder / "warehouse.duckdb"


def replay_incident(path: Path, kind: str) -> tuple[list[Alert], list[Alert], list[int]]:
    """The checks of the hour before the onset, then the incident replayed minute by
    minute with a check at every 5-minute mark, as the scheduler runs them: (alerts before
    the onset, alerts after it, the evidence's times in ms: error hits or cart reloads)."""
    from kpi.sample import stream

    warehouse = open_warehouse(f"duckdb:///{path}")
    try:
        onset = local(0) + dt.timedelta(minutes=LIVE_ONSET_MINUTES)
        before = replay_checks(warehouse, local(0, 15), local(1, 15), Thresholds())
        incident = stream.Incident(kind, onset, SEARCH_MINUTES)  # type: ignore[arg-type]
        raised, written = list(before), onset
        for at in every_5_minutes(local(1, 20), onset + dt.timedelta(minutes=SEARCH_MINUTES)):
            minutes = int((at - written) / dt.timedelta(minutes=1))
            stream.replay(warehouse, start=written, minutes=minutes, speed=0, zone=SEOUL,
                          seed=LIVE_SEED, incidents=[incident])  # fmt: skip
            written = at
            raised += evaluate(warehouse, at, zone=SEOUL, previous=raised)
        evidence = warehouse.query(
            "SELECT s.visitStartTime * 1000 + h.time AS at_ms FROM ga_data.Hits h "
            "JOIN ga_data.Hits p ON p.session_key = h.session_key "
            "AND p.hitNumber = h.hitNumber - 1 "
            "JOIN ga_data.Sessions s ON s.session_key = h.session_key "
            "WHERE s.visitStartTime >= :onset AND ((h.eventCategory = 'Checkout Error') "
            "OR (h.hitType = 'PAGE' AND p.hitType = 'PAGE' AND h.pagePath = p.pagePath "
            "AND h.time - p.time >= 300000)) ORDER BY 1",
            {"onset": seconds(onset)},
        )
    finally:
        warehouse.close()
    return before, raised[len(before) :], [row["at_ms"] for row in evidence]


def next_check(ms: int) -> dt.datetime:
    """The first 5-minute mark after the moment `ms`: the check that can see it."""
    moment = dt.datetime.fromtimestamp(ms / 1000, SEOUL).replace(second=0, microsecond=0)
    return moment + dt.timedelta(minutes=5 - moment.minute % 5)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["traffic_drop", "payment_errors", "checkout_bottleneck"])
def test_a_live_incident_at_us_daytime_is_raised_as_soon_as_its_evidence_exists(
    live_day: Path, tmp_path: Path, kind: str
) -> None:
    """Issue 19's time to detect, at the store's real volume. A traffic drop is evidence
    from its first minute: raised within 10 minutes. Payment errors and a hanging cart
    leave evidence only when a visitor reaches the payment page or the cart (~0.35 and
    ~0.7 per 5 minutes of US daytime at 1x), so the spec is the detector's own part:
    raised by the first check after the first error hit, or after the second reload."""
    copy = tmp_path / "live.duckdb"
    shutil.copyfile(live_day, copy)
    before, after, evidence = replay_incident(copy, kind)
    onset = local(0) + dt.timedelta(minutes=LIVE_ONSET_MINUTES)
    assert before == [], [a.message_en for a in before]  # the hour before stays quiet
    rule = {"traffic_drop": "traffic_drop", "payment_errors": "error_spike",
            "checkout_bottleneck": "checkout_bottleneck"}[kind]  # fmt: skip
    first = next(a for a in after if a.rule == rule)
    if kind == "traffic_drop":
        assert first.window_end - onset <= dt.timedelta(minutes=10)
        assert abs(first.onset - onset) <= dt.timedelta(minutes=2), first.onset
    else:  # an error type the baseline never had: its first; a hanging cart: two
        needed = 1 if kind == "payment_errors" else 2
        assert len(evidence) >= needed, "this seed's traffic left no evidence to detect"
        assert first.window_end == next_check(evidence[needed - 1])
        assert first.onset is not None and first.onset >= onset - dt.timedelta(minutes=1)
    # Seen against expected, the right way round (a drop sees fewer).
    assert (first.value < first.expected) == (kind == "traffic_drop") and not first.is_update
    # One card: every later alert of the rule updates this one.
    assert {a.episode for a in after if a.rule == rule} == {first.alert_id}


@pytest.mark.slow
def test_a_live_incident_raises_the_same_alerts_for_the_same_seed(
    live_day: Path, tmp_path: Path
) -> None:
    runs = []
    for name in ("one", "two"):
        copy = tmp_path / f"{name}.duckdb"
        shutil.copyfile(live_day, copy)
        runs.append([a.to_dict() for a in replay_incident(copy, "traffic_drop")[1]])
    assert runs[0] == runs[1] and runs[0]


def _fired(end: dt.datetime, episode_id: str = "") -> Alert:
    return Alert(rule="traffic_drop", severity="warning", window_start=end - dt.timedelta(minutes=5),
                 window_end=end, scope="store", value=0, expected=40, score=4.0,
                 message_ko="세션 급감", message_en="Sessions dropped",
                 episode_id=episode_id)  # fmt: skip


def test_an_episode_is_quiet_once_two_checks_in_a_row_pass_without_it():
    first = _fired(dt.datetime(2026, 11, 24, 14, 0, tzinfo=SEOUL))
    later = _fired(dt.datetime(2026, 11, 24, 14, 5, tzinfo=SEOUL), episode_id=first.alert_id)

    def quiet_at(minute: int, previous: list[Alert]) -> list[Alert]:
        return alerts.quieted(previous, dt.datetime(2026, 11, 24, 14, minute, tzinfo=SEOUL))

    assert quiet_at(5, [first]) == []  # one quiet check can be chance
    assert quiet_at(10, [first]) == [first]  # two: the card says so, once
    assert quiet_at(15, [first]) == []
    assert quiet_at(10, [first, later]) == []  # it fired again at 14:05: still going
    assert quiet_at(15, [first, later]) == [later]  # the episode's last alert, its numbers
