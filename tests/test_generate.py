"""The sample generator: deterministic, consistent rows, a believable funnel."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from kpi.sample.generate import expected_sessions, generate
from tests.conftest import SEOUL, new_warehouse

TABLES = ["Sessions", "Totals", "Traffic", "DeviceGeo", "Hits", "HitsProduct"]


def one(warehouse, sql: str):
    return next(iter(warehouse.query(sql)[0].values()))


def fingerprint(warehouse) -> dict[str, tuple]:
    """Row count and an order-independent hash of every row, per table."""
    return {
        t: tuple(
            warehouse.query(f'SELECT COUNT(*) AS n, SUM(hash(x)) AS h FROM ga_data."{t}" x')[
                0
            ].values()
        )
        for t in TABLES
    }


def test_the_same_seed_gives_the_same_rows(tmp_path) -> None:
    end = dt.date(2026, 3, 10)
    first, second, other = (new_warehouse(tmp_path, f"{n}.duckdb") for n in "abc")
    generate(first, days=3, end=end, zone=SEOUL, seed=5, scale=0.3)
    generate(second, days=3, end=end, zone=SEOUL, seed=5, scale=0.3)
    generate(other, days=3, end=end, zone=SEOUL, seed=6, scale=0.3)
    assert fingerprint(first) == fingerprint(second)
    assert fingerprint(first) != fingerprint(other)


def test_keys_are_unique(four_weeks) -> None:
    for table, key in [("Sessions", "session_key"), ("Totals", "session_key"),
                       ("Hits", "hit_key"), ("HitsProduct", "product_hit_key")]:  # fmt: skip
        duplicates = one(
            four_weeks, f'SELECT COUNT(*) - COUNT(DISTINCT {key}) FROM ga_data."{table}"'
        )
        assert duplicates == 0, table


def test_every_session_has_its_rows_in_all_session_tables(four_weeks) -> None:
    sessions = one(four_weeks, 'SELECT COUNT(*) FROM ga_data."Sessions"')
    for table in ["Totals", "Traffic", "DeviceGeo"]:
        joined = one(
            four_weeks,
            f'SELECT COUNT(*) FROM ga_data."Sessions" JOIN ga_data."{table}" USING (session_key)',
        )
        assert joined == sessions, table
    orphans = one(
        four_weeks,
        'SELECT COUNT(*) FROM ga_data."Hits" h ANTI JOIN ga_data."Sessions" s USING (session_key)',
    )
    assert orphans == 0
    orphan_products = one(
        four_weeks,
        'SELECT COUNT(*) FROM ga_data."HitsProduct" p ANTI JOIN ga_data."Hits" h USING (hit_key)',
    )
    assert orphan_products == 0


def test_totals_agree_with_the_hits(four_weeks) -> None:
    disagreeing = one(
        four_weeks,
        """
        SELECT COUNT(*) FROM ga_data."Totals" t JOIN (
            SELECT session_key, COUNT(*) AS hits,
                   COUNT(*) FILTER (WHERE "hitType" = 'PAGE') AS pages,
                   MAX(time) AS last_ms
            FROM ga_data."Hits" GROUP BY 1) h USING (session_key)
        WHERE t.hits <> h.hits OR t.pageviews <> h.pages
           OR COALESCE(t."timeOnSite", 0) <> h.last_ms // 1000""",
    )
    assert disagreeing == 0


def test_a_bounce_is_one_page_and_no_time_on_site(four_weeks) -> None:
    odd = one(
        four_weeks,
        """SELECT COUNT(*) FROM ga_data."Totals"
                             WHERE bounces = 1 AND (hits <> 1 OR "timeOnSite" IS NOT NULL)""",
    )
    assert odd == 0
    non_bounce_single = one(
        four_weeks,
        """SELECT COUNT(*) FROM ga_data."Totals"
                                           WHERE bounces IS NULL AND hits < 2""",
    )
    assert non_bounce_single == 0


def test_revenue_is_the_sum_of_the_purchased_products(four_weeks) -> None:
    mismatched = one(
        four_weeks,
        """
        SELECT COUNT(*) FROM ga_data."Totals" t JOIN (
            SELECT h.session_key, SUM(p."productRevenue") AS product_revenue
            FROM ga_data."HitsProduct" p JOIN ga_data."Hits" h USING (hit_key)
            WHERE h."actionType" = '6' GROUP BY 1) x USING (session_key)
        WHERE t."totalTransactionRevenue" <> x.product_revenue""",
    )
    assert mismatched == 0
    buyers = one(four_weeks, 'SELECT COUNT(*) FROM ga_data."Totals" WHERE transactions = 1')
    with_purchase_hit = one(
        four_weeks,
        """SELECT COUNT(DISTINCT session_key) FROM ga_data."Hits"
                                           WHERE "actionType" = '6' AND "transactionId" IS NOT NULL""",
    )
    assert buyers == with_purchase_hit > 0


def test_every_buyer_went_down_the_whole_funnel_in_order(four_weeks) -> None:
    out_of_order = one(
        four_weeks,
        """
        SELECT COUNT(*) FROM (
            SELECT session_key,
                   MIN("hitNumber") FILTER (WHERE "actionType" = '2') AS detail,
                   MIN("hitNumber") FILTER (WHERE "actionType" = '3') AS cart,
                   MIN("hitNumber") FILTER (WHERE "actionType" = '5') AS checkout,
                   MIN("hitNumber") FILTER (WHERE "actionType" = '6') AS purchase
            FROM ga_data."Hits" GROUP BY 1) f
        WHERE purchase IS NOT NULL
          AND NOT (detail < cart AND cart < checkout AND checkout < purchase)""",
    )
    assert out_of_order == 0


def test_each_session_has_one_entrance_and_one_exit_page(four_weeks) -> None:
    wrong = one(
        four_weeks,
        """
        SELECT COUNT(*) FROM (
            SELECT session_key,
                   COUNT(*) FILTER (WHERE "isEntrance") AS entrances,
                   COUNT(*) FILTER (WHERE "isExit") AS exits,
                   MIN("hitNumber") FILTER (WHERE "isEntrance") AS entrance_at,
                   bool_and("hitType" = 'PAGE') FILTER (WHERE "isExit") AS exit_is_page
            FROM ga_data."Hits" GROUP BY 1) x
        WHERE entrances <> 1 OR exits <> 1 OR entrance_at <> 1 OR NOT exit_is_page""",
    )
    assert wrong == 0


def test_the_date_is_the_start_day_in_the_reporting_time_zone(tmp_path) -> None:
    for zone_name in ["Asia/Seoul", "America/Los_Angeles"]:
        w = new_warehouse(tmp_path, f"{zone_name.replace('/', '_')}.duckdb")
        generate(w, days=2, end=dt.date(2026, 7, 2), zone=ZoneInfo(zone_name), scale=0.2, seed=1)
        wrong = one(
            w,
            f"""SELECT COUNT(*) FROM ga_data."Sessions"
                           WHERE date <> CAST(timezone('{zone_name}', to_timestamp("visitStartTime")) AS DATE)""",
        )
        assert wrong == 0, zone_name
        days = [
            r["date"] for r in w.query('SELECT DISTINCT date FROM ga_data."Sessions" ORDER BY 1')
        ]
        assert days == [dt.date(2026, 7, 1), dt.date(2026, 7, 2)]


def test_products_and_pages_look_like_the_real_store(four_weeks) -> None:
    skus = [
        r["sku"]
        for r in four_weeks.query('SELECT DISTINCT "productSKU" AS sku FROM ga_data."HitsProduct"')
    ]
    assert all(sku.startswith("GGOE") for sku in skus)
    categories = {
        r["c"]
        for r in four_weeks.query("""
        SELECT DISTINCT split_part("v2ProductCategory", '/', 2) AS c FROM ga_data."HitsProduct" """)
    }
    assert {"Apparel", "Drinkware", "Office", "Bags", "Electronics", "Nest"} <= categories
    hosts = {r["h"] for r in four_weeks.query('SELECT DISTINCT hostname AS h FROM ga_data."Hits"')}
    assert hosts == {"shop.googlemerchandisestore.com"}


def test_nest_devices_lead_revenue(tenth_of_a_year) -> None:
    rows = tenth_of_a_year.query("""
        SELECT split_part("v2ProductCategory", '/', 2) AS category, SUM("productRevenue") AS revenue
        FROM ga_data."HitsProduct" WHERE "productRevenue" IS NOT NULL GROUP BY 1 ORDER BY 2 DESC""")
    assert rows[0]["category"] == "Nest"


def test_revenue_is_right_skewed(four_weeks) -> None:
    row = four_weeks.query("""SELECT median("totalTransactionRevenue") AS median,
                                     avg("totalTransactionRevenue") AS mean
                              FROM ga_data."Totals" WHERE transactions = 1""")[0]
    assert row["mean"] > 1.5 * row["median"]


@pytest.mark.parametrize(
    ("day", "low", "high"),
    [
        (dt.date(2026, 11, 30), 4200, 5400),  # Cyber Monday: the late-November high ~4,800
        (dt.date(2026, 12, 25), 900, 1500),  # Christmas: the late-December low ~1,200
        (dt.date(2026, 3, 11), 2000, 2800),  # an ordinary Wednesday
    ],
)
def test_expected_daily_traffic_follows_the_real_calendar(day, low, high) -> None:
    assert low <= expected_sessions(day) <= high


def test_bad_arguments_are_refused(warehouse) -> None:
    with pytest.raises(ValueError, match="days"):
        generate(warehouse, days=0, end=dt.date(2026, 1, 1), zone=SEOUL)
    with pytest.raises(ValueError, match="scale"):
        generate(warehouse, days=1, end=dt.date(2026, 1, 1), zone=SEOUL, scale=0)
