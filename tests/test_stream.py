"""The live replay: minutes that look like the sample, incidents that show, safe restarts."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from kpi.sample.generate import expected_sessions, generate
from kpi.sample.stream import (
    BOTTLENECK_SHARE,
    CONVERSION_DROP_KEEP,
    PAYMENT_ERROR_ACTION,
    PAYMENT_ERROR_CATEGORY,
    TRAFFIC_DROP_KEEP,
    Incident,
    expected_minute_sessions,
    minute_batch,
    parse_incident,
    replay,
)
from tests.conftest import SEOUL, new_warehouse

TABLES = ["Sessions", "Totals", "Traffic", "DeviceGeo", "Hits", "HitsProduct"]
LIVE = "s.\"fullVisitorId\" LIKE '9___________________'"
SAMPLE_END = dt.date(2026, 11, 10)  # a Tuesday; the replays run on the Wednesday after
REPLAY_DAY = SAMPLE_END + dt.timedelta(days=1)
FUNNEL_PAGES = "('/basket.html', '/yourinfo.html', '/payment.html')"


def at(hour: int, minute: int = 0, day: dt.date = REPLAY_DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SEOUL)


def one(warehouse, sql: str):
    return next(iter(warehouse.query(sql)[0].values()))


def seconds(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def between(start: dt.datetime, end: dt.datetime) -> str:
    """SQL: the session `s` starts in [start, end)."""
    return f's."visitStartTime" >= {seconds(start)} AND s."visitStartTime" < {seconds(end)}'


def fingerprint(warehouse, where: str = "TRUE") -> dict[str, tuple]:
    """Row count and an order-independent hash of the rows of the sessions matching
    `where` (on Sessions `s`), per table."""
    session_rows = f'SELECT s.session_key FROM ga_data."Sessions" s WHERE {where}'
    hit_rows = f'SELECT hit_key FROM ga_data."Hits" WHERE session_key IN ({session_rows})'
    key_filter = {t: f"session_key IN ({session_rows})" for t in TABLES[:5]}
    key_filter["HitsProduct"] = f"hit_key IN ({hit_rows})"
    return {
        t: tuple(
            warehouse.query(
                f'SELECT COUNT(*) AS n, SUM(hash(x)) AS h FROM ga_data."{t}" x WHERE {key_filter[t]}'
            )[0].values()
        )
        for t in TABLES
    }


class FakeTime:
    """A monotonic clock that only moves when something sleeps or works."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# -- incidents as text ---------------------------------------------------------------------


def test_an_incident_is_kind_at_time_plus_minutes() -> None:
    incident = parse_incident("checkout_bottleneck@14:30+20", day=REPLAY_DAY, zone=SEOUL)
    assert incident == Incident("checkout_bottleneck", at(14, 30), 20)
    assert incident.end == at(14, 50)
    assert incident.active_at(at(14, 30)) and incident.active_at(at(14, 49))
    assert not incident.active_at(at(14, 50)) and not incident.active_at(at(14, 29))
    assert parse_incident("traffic_drop@9:05", day=REPLAY_DAY, zone=SEOUL).minutes == 30


def test_an_incident_already_over_at_the_start_means_the_next_day() -> None:
    incident = parse_incident(
        "traffic_drop@00:30+10", day=REPLAY_DAY, zone=SEOUL, not_before=at(23)
    )
    assert incident.start == at(0, 30, REPLAY_DAY + dt.timedelta(days=1))
    running = parse_incident("traffic_drop@22:50+30", day=REPLAY_DAY, zone=SEOUL, not_before=at(23))
    assert running.start == at(22, 50)


@pytest.mark.parametrize(
    "text",
    ["checkout@14:30", "traffic_drop", "traffic_drop@25:00", "traffic_drop@14:61",
     "traffic_drop@14:30+0", "traffic_drop@14:30+x", ""],
)  # fmt: skip
def test_a_bad_incident_says_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_incident(text, day=REPLAY_DAY, zone=SEOUL)
    message = str(error.value)
    assert "\n" not in message
    assert "KIND@HH:MM" in message
    for kind in ["checkout_bottleneck", "traffic_drop", "conversion_drop", "payment_errors"]:
        assert kind in message


# -- one minute ------------------------------------------------------------------------------


def test_the_minutes_of_a_day_add_up_to_the_generators_day() -> None:
    minutes = [at(0) + dt.timedelta(minutes=i) for i in range(24 * 60)]
    total = sum(expected_minute_sessions(m, zone=SEOUL, scale=2.0) for m in minutes)
    assert total == pytest.approx(2.0 * expected_sessions(REPLAY_DAY), rel=1e-9)


def test_a_minute_batch_is_deterministic_for_a_seed() -> None:
    def batch(seed: int):
        return minute_batch(at(3, 7), zone=SEOUL, rng=np.random.default_rng(seed), scale=5)

    first, again, other = batch(1), batch(1), batch(2)
    assert all(first[t].equals(again[t]) for t in first)
    assert not all(first[t].equals(other[t]) for t in first)


def test_a_minute_batch_holds_the_sessions_starting_in_that_minute() -> None:
    batch = minute_batch(at(3, 7), zone=SEOUL, rng=np.random.default_rng(3), scale=20)
    sessions = batch[next(t for t in batch if t.name == "Sessions")].to_pylist()
    assert len(sessions) > 10
    assert all(seconds(at(3, 7)) <= s["visitStartTime"] < seconds(at(3, 8)) for s in sessions)
    assert all(s["date"] == REPLAY_DAY for s in sessions)


def test_a_minute_batch_needs_an_aware_minute() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        minute_batch(dt.datetime(2026, 11, 11, 3, 0), zone=SEOUL, rng=rng)
    with pytest.raises(ValueError):
        minute_batch(at(3).replace(second=30), zone=SEOUL, rng=rng)


# -- three hours after a generated sample ---------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):
    """Three generated days, then three replayed hours (02:00-05:00) at scale 1."""
    w = new_warehouse(tmp_path_factory.mktemp("live"))
    generate(w, days=3, end=SAMPLE_END, zone=SEOUL, seed=4)
    report = replay(w, start=at(2), minutes=180, speed=0, zone=SEOUL, seed=9)
    yield w, report
    w.close()


def test_the_volume_per_minute_is_the_expected_one(live) -> None:
    warehouse, report = live
    expected = sum(
        expected_minute_sessions(at(2) + dt.timedelta(minutes=i), zone=SEOUL) for i in range(180)
    )
    written = one(warehouse, f'SELECT COUNT(*) FROM ga_data."Sessions" s WHERE {LIVE}')
    assert written == report.sessions
    assert abs(written - expected) < 4 * math.sqrt(expected)
    assert report.minutes_written == 180 and report.minutes_skipped == 0
    inside = one(
        warehouse,
        f'SELECT COUNT(*) FROM ga_data."Sessions" s WHERE {LIVE} AND {between(at(2), at(5))}',
    )
    assert inside == written


def test_bounces_conversions_and_depth_are_plausible(live) -> None:
    warehouse, _ = live
    row = warehouse.query(f"""
        SELECT AVG(COALESCE(t.bounces, 0)) AS bounce_rate,
               SUM(t.transactions) / COUNT(*) AS conversion_rate,
               AVG(t.hits) AS hits, AVG(COALESCE(t."newVisits", 0)) AS new_share,
               AVG(CASE WHEN g."deviceCategory" = 'desktop' THEN 1 ELSE 0 END) AS desktop
        FROM ga_data."Sessions" s JOIN ga_data."Totals" t USING (session_key)
        JOIN ga_data."DeviceGeo" g USING (session_key) WHERE {LIVE}""")[0]
    assert 0.40 < row["bounce_rate"] < 0.60  # the store: 49.9 %
    assert 0.002 < row["conversion_rate"] < 0.05  # the store: 1.27 %, more at US daytime
    assert 3.0 < row["hits"] < 6.0
    assert 0.68 < row["new_share"] < 0.88  # the store: 77.8 %
    assert 0.62 < row["desktop"] < 0.85  # the store: 73.5 %


def test_dates_and_hit_clocks_are_in_the_reporting_zone(live) -> None:
    warehouse, _ = live
    wrong_date = one(
        warehouse,
        f"""SELECT COUNT(*) FROM ga_data."Sessions" s WHERE {LIVE}
            AND date <> CAST(timezone('Asia/Seoul', to_timestamp("visitStartTime")) AS DATE)""",
    )
    assert wrong_date == 0
    wrong_clock = one(
        warehouse,
        f"""SELECT COUNT(*) FROM ga_data."Hits" h JOIN ga_data."Sessions" s USING (session_key)
            WHERE {LIVE} AND (
                h.hour <> hour(timezone('Asia/Seoul', to_timestamp(s."visitStartTime" + h.time // 1000)))
                OR h.minute <> minute(to_timestamp(s."visitStartTime" + h.time // 1000)))""",
    )
    assert wrong_clock == 0


def test_live_rows_are_whole_sessions_with_unique_keys(live) -> None:
    warehouse, _ = live
    for table, key in [("Sessions", "session_key"), ("Totals", "session_key"), ("Traffic", "session_key"),
                       ("DeviceGeo", "session_key"), ("Hits", "hit_key"), ("HitsProduct", "product_hit_key")]:  # fmt: skip
        duplicates = one(
            warehouse, f'SELECT COUNT(*) - COUNT(DISTINCT {key}) FROM ga_data."{table}"'
        )
        assert duplicates == 0, table
    sessions = one(warehouse, 'SELECT COUNT(*) FROM ga_data."Sessions"')
    for table in ["Totals", "Traffic", "DeviceGeo"]:
        joined = one(
            warehouse,
            f'SELECT COUNT(*) FROM ga_data."Sessions" JOIN ga_data."{table}" USING (session_key)',
        )
        assert joined == sessions, table
    orphans = one(
        warehouse,
        'SELECT COUNT(*) FROM ga_data."Hits" h ANTI JOIN ga_data."Sessions" s USING (session_key)',
    )
    orphan_products = one(
        warehouse,
        'SELECT COUNT(*) FROM ga_data."HitsProduct" p ANTI JOIN ga_data."Hits" h USING (hit_key)',
    )
    assert orphans == orphan_products == 0


def test_live_sessions_follow_the_countries_awake_at_that_hour(tmp_path) -> None:
    """At 03:00 in Seoul most visitors are American; at 15:00 most are not, as in the sample."""
    warehouse = new_warehouse(tmp_path)
    generate(warehouse, days=5, end=SAMPLE_END, zone=SEOUL, seed=2)
    for hour in (3, 15):
        replay(warehouse, start=at(hour), minutes=60, speed=0, zone=SEOUL, seed=1, scale=10)
    rows = warehouse.query(f"""
        SELECT live, hour, AVG(CASE WHEN continent = 'Americas' THEN 1 ELSE 0 END) AS americas,
               SUM(transactions) / COUNT(*) AS conversion_rate
        FROM (SELECT {LIVE} AS live, g.continent, t.transactions,
                     hour(timezone('Asia/Seoul', to_timestamp(s."visitStartTime"))) AS hour
              FROM ga_data."Sessions" s JOIN ga_data."DeviceGeo" g USING (session_key)
              JOIN ga_data."Totals" t USING (session_key))
        WHERE hour IN (3, 15) GROUP BY ALL""")
    share = {(r["live"], r["hour"]): r["americas"] for r in rows}
    for hour in (3, 15):
        assert share[True, hour] == pytest.approx(share[False, hour], abs=0.08), hour
    assert share[True, 3] - share[True, 15] > 0.2
    conversion = {(r["live"], r["hour"]): r["conversion_rate"] for r in rows}
    assert conversion[True, 3] > conversion[True, 15]


def test_replaying_over_generated_minutes_adds_rows_without_collisions(tmp_path) -> None:
    warehouse = new_warehouse(tmp_path)
    generate(warehouse, days=1, end=SAMPLE_END, zone=SEOUL, seed=1, scale=3)
    report = replay(warehouse, start=at(14, 0, SAMPLE_END), minutes=15, speed=0, zone=SEOUL,
                    seed=1, scale=3)  # fmt: skip
    assert report.minutes_skipped == 0 and report.sessions > 0
    for table, key in [("Sessions", "session_key"), ("Hits", "hit_key"),
                       ("HitsProduct", "product_hit_key")]:  # fmt: skip
        duplicates = one(
            warehouse, f'SELECT COUNT(*) - COUNT(DISTINCT {key}) FROM ga_data."{table}"'
        )
        assert duplicates == 0, table


# -- restarts ------------------------------------------------------------------------------


def test_a_restart_continues_where_the_replay_stopped(tmp_path) -> None:
    straight, restarted = new_warehouse(tmp_path, "a.duckdb"), new_warehouse(tmp_path, "b.duckdb")
    # Scale 10: no minute is empty, so every minute written shows as written.
    options = dict(speed=0, zone=SEOUL, seed=3, scale=10)
    replay(straight, start=at(10), minutes=20, **options)

    first = replay(restarted, start=at(10), minutes=10, **options)
    again = replay(restarted, start=at(10), minutes=10, **options)
    assert again.minutes_skipped == 10 and again.sessions == 0
    rest = replay(restarted, start=at(10), minutes=20, **options)
    assert rest.minutes_skipped == 10 and rest.minutes_written == 10
    assert first.sessions + rest.sessions == one(
        straight, 'SELECT COUNT(*) FROM ga_data."Sessions"'
    )
    assert fingerprint(restarted) == fingerprint(straight)


def test_an_interrupted_replay_stops_cleanly_and_resumes(tmp_path) -> None:
    warehouse, whole = new_warehouse(tmp_path, "a.duckdb"), new_warehouse(tmp_path, "b.duckdb")
    options = dict(start=at(20), speed=0, zone=SEOUL, seed=5, scale=10)
    replay(whole, minutes=12, **options)

    def stop_after_five(result) -> None:
        if result.minute == at(20, 4):
            raise KeyboardInterrupt

    stopped = replay(warehouse, minutes=None, on_batch=stop_after_five, **options)
    assert stopped.interrupted and stopped.minutes_written == 5
    assert stopped.end == at(20, 5)
    resumed = replay(warehouse, minutes=12, **options)
    assert not resumed.interrupted and resumed.minutes_skipped == 5
    assert fingerprint(warehouse) == fingerprint(whole)


# -- pacing ----------------------------------------------------------------------------------


def test_simulated_time_runs_speed_times_faster(warehouse) -> None:
    fake = FakeTime()
    report = replay(warehouse, start=at(9), minutes=6, speed=60, zone=SEOUL, seed=1,
                    clock=fake.clock, sleep=fake.sleep)  # fmt: skip
    assert sum(fake.sleeps) == pytest.approx(6.0)
    assert len(fake.sleeps) == 6
    assert report.real_seconds == pytest.approx(6.0)
    assert report.speed == pytest.approx(60.0)


def test_a_slow_minute_is_caught_up_without_drift(warehouse) -> None:
    fake = FakeTime()
    slow = {at(9, 1): 2.5}  # writing 09:01 takes 2.5 s of the 1 s a minute has at 60x

    def work(result) -> None:
        fake.now += slow.get(result.minute, 0.2)

    replay(warehouse, start=at(9), minutes=6, speed=60, zone=SEOUL, seed=1,
           clock=fake.clock, sleep=fake.sleep, on_batch=work)  # fmt: skip
    # Due at 1 s, 2 s, ... 6 s after the start: the minutes after the slow one make up for it.
    assert fake.now - 1000.0 == pytest.approx(6.0 + 0.2)
    assert sum(fake.sleeps) == pytest.approx(6.2 - 2.5 - 5 * 0.2)


def test_max_speed_never_sleeps_and_skipped_minutes_are_not_paced(warehouse) -> None:
    fake = FakeTime()
    options = dict(start=at(9), zone=SEOUL, seed=1, scale=10, clock=fake.clock, sleep=fake.sleep)
    replay(warehouse, minutes=3, speed=0, **options)
    assert fake.sleeps == []
    replay(warehouse, minutes=5, speed=120, **options)
    assert sum(fake.sleeps) == pytest.approx(2 * 0.5)  # only the two new minutes


def test_a_replay_without_an_end_stops_on_keyboard_interrupt(warehouse) -> None:
    fake = FakeTime()

    def sleep(seconds: float) -> None:
        if len(fake.sleeps) == 4:
            raise KeyboardInterrupt  # Ctrl+C while waiting for the fifth minute
        fake.sleep(seconds)

    report = replay(warehouse, start=at(9), minutes=None, speed=60, zone=SEOUL, seed=1,
                    clock=fake.clock, sleep=sleep)  # fmt: skip
    assert report.interrupted and report.minutes_written == 4
    written = one(warehouse, f'SELECT COUNT(*) FROM ga_data."Sessions" s WHERE {LIVE}')
    assert written == report.sessions
    assert "(interrupted)" in report.summary()


def test_bad_replay_arguments_are_refused(warehouse) -> None:
    with pytest.raises(ValueError):
        replay(warehouse, start=at(9), minutes=1, speed=-1, zone=SEOUL, seed=1)
    with pytest.raises(ValueError):
        replay(warehouse, start=dt.datetime(2026, 11, 11, 9), minutes=1, speed=0, zone=SEOUL,
               seed=1)  # fmt: skip


# -- incidents -----------------------------------------------------------------------------

INCIDENTS = [
    Incident("traffic_drop", at(1, 10), 20),
    Incident("conversion_drop", at(1, 40), 20),
    Incident("payment_errors", at(2, 10), 20),
    Incident("checkout_bottleneck", at(2, 40), 20),
]


@pytest.fixture(scope="module")
def incidents(tmp_path_factory: pytest.TempPathFactory):
    """The same replay (01:00-03:20, US morning, scale 20) without and with the incidents."""
    folder = tmp_path_factory.mktemp("incidents")
    calm, troubled = new_warehouse(folder, "calm.duckdb"), new_warehouse(folder, "troubled.duckdb")
    for warehouse, injected in [(calm, []), (troubled, INCIDENTS)]:
        generate(warehouse, days=1, end=SAMPLE_END, zone=SEOUL, seed=4)
        replay(warehouse, start=at(1), minutes=140, speed=0, zone=SEOUL, seed=8, scale=20,
               incidents=injected)  # fmt: skip
    yield calm, troubled
    calm.close()
    troubled.close()


def window(kind: str) -> str:
    incident = next(i for i in INCIDENTS if i.kind == kind)
    return between(incident.start, incident.end)


def count(warehouse, sql_from_where: str) -> int:
    return one(warehouse, f"SELECT COUNT(*) {sql_from_where}")


def transactions(warehouse, where: str) -> int:
    return one(
        warehouse,
        f"""SELECT COALESCE(SUM(t.transactions), 0) FROM ga_data."Sessions" s
            JOIN ga_data."Totals" t USING (session_key) WHERE {LIVE} AND {where}""",
    )


def test_incidents_change_nothing_outside_their_windows(incidents) -> None:
    calm, troubled = incidents
    outside = " AND ".join(f"NOT ({window(i.kind)})" for i in INCIDENTS)
    assert fingerprint(troubled, outside) == fingerprint(calm, outside)
    assert count(troubled, f'FROM ga_data."Sessions" s WHERE {LIVE} AND {outside}') > 3000


def test_a_traffic_drop_keeps_one_in_ten_sessions(incidents) -> None:
    calm, troubled = incidents
    where = f'FROM ga_data."Sessions" s WHERE {LIVE} AND {window("traffic_drop")}'
    before, after = count(calm, where), count(troubled, where)
    assert before > 500
    assert after / before == pytest.approx(TRAFFIC_DROP_KEEP, abs=0.06)
    # The sessions that remain are the calm replay's, untouched.
    kept = [r["k"] for r in troubled.query(f"SELECT s.session_key AS k {where}")]
    same_sessions = "s.session_key IN ({})".format(", ".join(f"'{k}'" for k in kept))
    assert fingerprint(troubled, f"{LIVE} AND {window('traffic_drop')}") == fingerprint(
        calm, same_sessions
    )


def test_a_conversion_drop_turns_buyers_into_abandoned_checkouts(incidents) -> None:
    calm, troubled = incidents
    where = window("conversion_drop")
    before, after = transactions(calm, where), transactions(troubled, where)
    assert before >= 15
    assert after <= (CONVERSION_DROP_KEEP + 0.2) * before
    sessions = f'FROM ga_data."Sessions" s WHERE {LIVE} AND {where}'
    assert count(troubled, sessions) == count(calm, sessions)
    on_review = f"""FROM ga_data."Hits" h JOIN ga_data."Sessions" s USING (session_key)
                    WHERE {LIVE} AND {where} AND h."pagePath" = '/revieworder.html'"""
    assert count(troubled, on_review) == count(calm, on_review)


def test_payment_errors_are_error_events_on_the_payment_page(incidents) -> None:
    calm, troubled = incidents
    errors = f"""FROM ga_data."Hits" h JOIN ga_data."Sessions" s USING (session_key)
                 WHERE {LIVE} AND h."eventCategory" = '{PAYMENT_ERROR_CATEGORY}'"""
    on_payment = f"""FROM ga_data."Hits" h JOIN ga_data."Sessions" s USING (session_key)
                     WHERE {LIVE} AND {window("payment_errors")} AND h."pagePath" = '/payment.html'
                       AND h."hitType" = 'PAGE'"""
    assert count(calm, errors) == 0
    in_window = count(troubled, f"{errors} AND {window('payment_errors')}")
    assert in_window == count(troubled, errors)  # none outside the window
    assert in_window >= count(calm, on_payment) * 0.5 > 10
    odd = count(
        troubled,
        f"""{errors} AND NOT (h."hitType" = 'EVENT' AND h."eventAction" = '{PAYMENT_ERROR_ACTION}'
                AND h."pagePath" = '/payment.html' AND h."actionType" = '0')""",
    )
    assert odd == 0
    before = transactions(calm, window("payment_errors"))
    assert transactions(troubled, window("payment_errors")) <= 0.7 * before


STUCK = f"""
    FROM (SELECT session_key, "pagePath", "isExit",
                 time - LAG(time) OVER (PARTITION BY session_key ORDER BY "hitNumber") AS dwell_ms,
                 ROW_NUMBER() OVER (PARTITION BY session_key ORDER BY "hitNumber" DESC) AS from_end
          FROM ga_data."Hits") last
    JOIN ga_data."Sessions" s USING (session_key)
    WHERE last.from_end = 1 AND last."pagePath" IN {FUNNEL_PAGES} AND last.dwell_ms > 300000
      AND last."isExit" AND {LIVE}"""


def test_a_checkout_bottleneck_holds_visitors_on_the_funnel_pages(incidents) -> None:
    calm, troubled = incidents
    where = window("checkout_bottleneck")
    stuck_before = count(calm, f"{STUCK} AND {where}")
    stuck_after = count(troubled, f"{STUCK} AND {where}")
    carts = count(
        calm,
        f"""FROM ga_data."Sessions" s WHERE {LIVE} AND {where} AND s.session_key IN (
            SELECT session_key FROM ga_data."Hits" WHERE "pagePath" = '/basket.html')""",
    )
    assert stuck_after >= 5 * max(stuck_before, 1)
    assert stuck_after == pytest.approx(BOTTLENECK_SHARE * carts, rel=0.25)
    outside = " AND ".join(f"NOT ({window(i.kind)})" for i in INCIDENTS)
    assert count(troubled, f"{STUCK} AND {outside}") == count(calm, f"{STUCK} AND {outside}")
    assert transactions(troubled, where) <= 0.5 * max(transactions(calm, where), 1)


def test_changed_sessions_keep_their_totals_and_exits_consistent(incidents) -> None:
    _, troubled = incidents
    disagreeing = one(
        troubled,
        f"""
        SELECT COUNT(*) FROM ga_data."Totals" t JOIN ga_data."Sessions" s USING (session_key)
        JOIN (SELECT session_key, COUNT(*) AS hits,
                     COUNT(*) FILTER (WHERE "hitType" = 'PAGE') AS pages,
                     MAX(time) AS last_ms, MAX("hitNumber") AS last_number,
                     COUNT(*) FILTER (WHERE "actionType" = '6') AS purchases,
                     COUNT(*) FILTER (WHERE "isExit") AS exits,
                     COUNT(*) FILTER (WHERE "isEntrance" AND "hitNumber" = 1) AS entrances
              FROM ga_data."Hits" GROUP BY 1) h USING (session_key)
        WHERE {LIVE} AND (t.hits <> h.hits OR t.pageviews <> h.pages OR h.last_number <> h.hits
           OR COALESCE(t."timeOnSite", 0) <> h.last_ms // 1000
           OR COALESCE(t.transactions, 0) <> h.purchases OR h.exits <> 1 OR h.entrances <> 1
           OR (t.transactions IS NULL) <> (t."totalTransactionRevenue" IS NULL))""",
    )
    assert disagreeing == 0
    exit_not_last_page = one(
        troubled,
        f"""SELECT COUNT(*) FROM ga_data."Hits" h JOIN ga_data."Sessions" s USING (session_key)
            WHERE {LIVE} AND h."isExit" AND (h."hitType" <> 'PAGE' OR h."hitNumber" < (
                SELECT MAX("hitNumber") FROM ga_data."Hits" x
                WHERE x.session_key = h.session_key AND x."hitType" = 'PAGE'))""",
    )
    assert exit_not_last_page == 0
