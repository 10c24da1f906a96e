"""The figures of ../shared/ga-facts.md, measured on whatever the warehouse holds.

`commercy data stats` prints them (`--json` for machines) beside the real store's values,
so a generated sample, an import or the production database can be compared with the
store at a glance. Shares and rates are fractions (0.499, not 49.9).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kpi.storage.warehouse import Warehouse

S = 'ga_data."Sessions"'
T = 'ga_data."Totals"'
TR = 'ga_data."Traffic"'
DG = 'ga_data."DeviceGeo"'
H = 'ga_data."Hits"'
HP = 'ga_data."HitsProduct"'


def _sql(warehouse: Warehouse, sql: str) -> list[dict[str, Any]]:
    if warehouse.dialect_name != "duckdb":
        # T-SQL spelling of the few DuckDB functions used below.
        sql = (
            sql.replace('ga_data."', "ga_data.[")
            .replace('" ', "] ")
            .replace("isodow(", "DATEPART(weekday, ")
            .replace("strftime(s.date, '%Y-%m')", "FORMAT(s.date, 'yyyy-MM')")
        )
    return warehouse.query(sql)


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not denominator:
        return None
    return (numerator or 0) / denominator


def _shares(
    warehouse: Warehouse, column_sql: str, join: str = "", value: str = "COUNT(*)"
) -> dict[str, float]:
    rows = _sql(
        warehouse,
        f"SELECT {column_sql} AS k, {value} AS v FROM {S} s JOIN {T} t USING (session_key) "
        f"{join} GROUP BY 1 ORDER BY 2 DESC",
    )
    total = sum(float(r["v"] or 0) for r in rows)
    return {str(r["k"]): float(r["v"] or 0) / total for r in rows if total}


def compute_stats(warehouse: Warehouse) -> dict[str, Any]:
    """Every figure of ga-facts.md for the loaded data, grouped as the document groups them."""
    base = _sql(
        warehouse,
        f"""SELECT COUNT(*) AS sessions, COUNT(DISTINCT s."fullVisitorId") AS users,
               MIN(s.date) AS first_date, MAX(s.date) AS last_date,
               COUNT(DISTINCT s.date) AS days,
               SUM(t."newVisits") AS new_visits, SUM(t.bounces) AS bounces,
               SUM(t.pageviews) AS pageviews, SUM(t."timeOnSite") AS time_on_site,
               SUM(CASE WHEN t.transactions > 0 THEN 1 ELSE 0 END) AS converting_sessions,
               SUM(t.transactions) AS transactions,
               SUM(t."totalTransactionRevenue") / 1e6 AS revenue
           FROM {S} s JOIN {T} t USING (session_key)""",
    )[0]
    sessions = base["sessions"] or 0
    if not sessions:
        return {"sessions": 0}
    daily = _sql(
        warehouse,
        f"""SELECT s.date AS d, isodow(s.date) AS weekday, COUNT(*) AS sessions,
               COALESCE(SUM(t."totalTransactionRevenue"), 0) / 1e6 AS revenue,
               SUM(t."timeOnSite") AS time_on_site
           FROM {S} s JOIN {T} t USING (session_key) GROUP BY 1, 2 ORDER BY 1""",
    )
    weekend = [r for r in daily if int(r["weekday"]) in (6, 7)]
    weekdays = [r for r in daily if int(r["weekday"]) not in (6, 7)]

    def mean(rows: list[dict[str, Any]], key: str) -> float | None:
        return _ratio(sum(float(r[key] or 0) for r in rows), len(rows))

    per_day = sorted(int(r["sessions"]) for r in daily)
    durations = [float(r["time_on_site"] or 0) / int(r["sessions"]) for r in daily]
    months = _sql(
        warehouse,
        f"SELECT strftime(s.date, '%Y-%m') AS month, COUNT(*) AS n "
        f"FROM {S} s GROUP BY 1 ORDER BY 1",
    )
    by_channel = _sql(
        warehouse,
        f"""SELECT s."channelGrouping" AS channel, COUNT(*) AS sessions,
               SUM(t.transactions) AS transactions,
               SUM(t."totalTransactionRevenue") / 1e6 AS revenue
           FROM {S} s JOIN {T} t USING (session_key) GROUP BY 1 ORDER BY 2 DESC""",
    )
    revenue = float(base["revenue"] or 0)
    bounce_by_source = _sql(
        warehouse,
        f"""SELECT tr.source AS source, COUNT(*) AS sessions, SUM(t.bounces) AS bounces
           FROM {S} s JOIN {T} t USING (session_key) JOIN {TR} tr USING (session_key)
           WHERE tr.source IN ('google', '(direct)', 'youtube.com') GROUP BY 1""",
    )
    countries = _shares(warehouse, "dg.country", f"JOIN {DG} dg USING (session_key)")

    return {
        "period": {
            "first_date": str(base["first_date"]),
            "last_date": str(base["last_date"]),
            "days": base["days"],
        },
        "volume": {
            "sessions": sessions,
            "sessions_per_day_mean": sessions / len(daily),
            "sessions_per_day_p10": per_day[len(per_day) // 10],
            "sessions_per_day_p90": per_day[(len(per_day) * 9) // 10],
            "sessions_per_day_min": per_day[0],
            "sessions_per_day_max": per_day[-1],
            "users": base["users"],
            "sessions_per_visitor": sessions / base["users"],
            "sessions_by_month": {r["month"]: r["n"] for r in months},
            "weekend_traffic_ratio": _ratio(mean(weekend, "sessions"), mean(weekdays, "sessions")),
            "weekday_weekend_revenue_ratio": _ratio(
                mean(weekdays, "revenue"), mean(weekend, "revenue")
            ),
        },
        "mix": {
            "channel": _shares(warehouse, 's."channelGrouping"'),
            "medium": _shares(warehouse, "tr.medium", f"JOIN {TR} tr USING (session_key)"),
            "device": _shares(
                warehouse, 'dg."deviceCategory"', f"JOIN {DG} dg USING (session_key)"
            ),
            "browser": _shares(warehouse, "dg.browser", f"JOIN {DG} dg USING (session_key)"),
            "operating_system": _shares(
                warehouse, 'dg."operatingSystem"', f"JOIN {DG} dg USING (session_key)"
            ),
            "continent": _shares(warehouse, "dg.continent", f"JOIN {DG} dg USING (session_key)"),
            "country_top": dict(list(countries.items())[:12]),
            "countries": len(countries),
            "new_visits": _ratio(base["new_visits"], sessions),
        },
        "behaviour": {
            "bounce_rate": _ratio(base["bounces"], sessions),
            "pageviews_per_session": _ratio(base["pageviews"], sessions),
            "avg_session_duration": _ratio(base["time_on_site"], sessions),
            "avg_session_duration_daily_min": min(durations),
            "avg_session_duration_daily_max": max(durations),
            "bounce_rate_by_source": {
                r["source"]: _ratio(r["bounces"], r["sessions"]) for r in bounce_by_source
            },
        },
        "money": {
            "transaction_session_share": _ratio(base["converting_sessions"], sessions),
            "converting_sessions": base["converting_sessions"],
            "revenue": revenue,
            "revenue_per_converting_session": _ratio(revenue, base["converting_sessions"]),
            "revenue_share_by_channel": {
                r["channel"]: _ratio(float(r["revenue"] or 0), revenue) for r in by_channel
            },
            "conversion_rate_by_channel": {
                r["channel"]: _ratio(r["transactions"], r["sessions"]) for r in by_channel
            },
            "revenue_share_by_device": _shares(
                warehouse,
                'dg."deviceCategory"',
                f"JOIN {DG} dg USING (session_key)",
                'SUM(t."totalTransactionRevenue")',
            ),
            "revenue_share_by_continent": _shares(
                warehouse,
                "dg.continent",
                f"JOIN {DG} dg USING (session_key)",
                'SUM(t."totalTransactionRevenue")',
            ),
        },
        "funnel": _funnel(warehouse, sessions),
    }


def _funnel(warehouse: Warehouse, sessions: int) -> dict[str, Any]:
    monthly = _sql(
        warehouse,
        f"""SELECT strftime(s.date, '%Y-%m') AS month,
               SUM(CASE WHEN h."actionType" = '2' THEN 1 ELSE 0 END) AS detail_views,
               SUM(CASE WHEN h."actionType" = '3' THEN 1 ELSE 0 END) AS adds_to_cart,
               SUM(CASE WHEN h."actionType" = '6' THEN 1 ELSE 0 END) AS purchases
           FROM {HP} hp JOIN {H} h USING (hit_key) JOIN {S} s USING (session_key)
           GROUP BY 1 ORDER BY 1""",
    )
    reach = _sql(
        warehouse,
        f"""SELECT
               COUNT(DISTINCT CASE WHEN "actionType" = '2' THEN session_key END) AS product,
               COUNT(DISTINCT CASE WHEN "actionType" = '5' THEN session_key END) AS checkout,
               COUNT(DISTINCT CASE WHEN "actionType" = '6' THEN session_key END) AS purchase
           FROM {H}""",
    )[0]
    checkout_purchase = _sql(
        warehouse,
        f"""SELECT COUNT(*) AS n FROM (
               SELECT session_key FROM {H} GROUP BY session_key
               HAVING SUM(CASE WHEN "actionType" = '5' THEN 1 ELSE 0 END) > 0
                  AND SUM(CASE WHEN "actionType" = '6' THEN 1 ELSE 0 END) > 0) x""",
    )[0]["n"]
    details = sum(r["detail_views"] for r in monthly)
    return {
        "by_month": {
            r["month"]: {
                "detail_views": r["detail_views"],
                "adds_to_cart": r["adds_to_cart"],
                "purchases": r["purchases"],
            }
            for r in monthly
        },
        "adds_per_detail_view": _ratio(sum(r["adds_to_cart"] for r in monthly), details),
        "purchases_per_detail_view": _ratio(sum(r["purchases"] for r in monthly), details),
        "product_page_session_share": _ratio(reach["product"], sessions),
        "checkout_sessions_that_purchase": _ratio(checkout_purchase, reach["checkout"]),
    }


@dataclass(frozen=True)
class Fact:
    """One published figure: where it sits in the stats, the real value, what is close."""

    path: str
    real: str
    low: float
    high: float


# The tolerances of ga-facts.md at scale 1.0, for the CLI's check column.
FACTS = [
    Fact("volume.sessions_per_visitor", "1.27", 1.15, 1.40),
    Fact("volume.weekend_traffic_ratio", "~0.70", 0.60, 0.80),
    Fact("volume.weekday_weekend_revenue_ratio", "~4", 2.5, 6.0),
    Fact("mix.channel.Organic Search", "42.2 %", 0.402, 0.442),
    Fact("mix.channel.Social", "25.0 %", 0.230, 0.270),
    Fact("mix.channel.Direct", "15.8 %", 0.138, 0.178),
    Fact("mix.channel.Referral", "11.6 %", 0.096, 0.136),
    Fact("mix.channel.Paid Search", "2.8 %", 0.008, 0.048),
    Fact("mix.channel.Affiliates", "1.8 %", 0.0, 0.038),
    Fact("mix.channel.Display", "0.7 %", 0.0, 0.027),
    Fact("mix.device.desktop", "73.5 %", 0.715, 0.755),
    Fact("mix.device.mobile", "23.1 %", 0.211, 0.251),
    Fact("mix.device.tablet", "3.4 %", 0.014, 0.054),
    Fact("mix.browser.Chrome", "68.6 %", 0.666, 0.706),
    Fact("mix.browser.Safari", "20.2 %", 0.182, 0.222),
    Fact("mix.browser.Firefox", "4.1 %", 0.021, 0.061),
    Fact("mix.browser.Internet Explorer", "2.1 %", 0.001, 0.041),
    Fact("mix.browser.Edge", "1.1 %", 0.0, 0.031),
    Fact("mix.operating_system.Windows", "38.7 %", 0.367, 0.407),
    Fact("mix.operating_system.Macintosh", "28.1 %", 0.261, 0.301),
    Fact("mix.operating_system.Android", "13.7 %", 0.117, 0.157),
    Fact("mix.operating_system.iOS", "11.9 %", 0.099, 0.139),
    Fact("mix.operating_system.Linux", "3.9 %", 0.019, 0.059),
    Fact("mix.operating_system.Chrome OS", "2.9 %", 0.009, 0.049),
    Fact("mix.continent.Americas", "49.8 %", 0.478, 0.518),
    Fact("mix.continent.Asia", "24.8 %", 0.228, 0.268),
    Fact("mix.continent.Europe", "21.9 %", 0.199, 0.239),
    Fact("mix.continent.Oceania", "1.7 %", 0.0, 0.037),
    Fact("mix.continent.Africa", "1.6 %", 0.0, 0.036),
    Fact("mix.country_top.United States", "~40 %", 0.37, 0.43),
    Fact("mix.new_visits", "77.8 %", 0.748, 0.808),
    Fact("behaviour.bounce_rate", "49.9 %", 0.469, 0.529),
    Fact("behaviour.pageviews_per_session", "~3.8", 3.3, 4.3),
    Fact("behaviour.avg_session_duration", "100-147 s", 90, 160),
    Fact("money.transaction_session_share", "1.27 %", 0.010, 0.016),
    Fact("money.revenue_per_converting_session", "$133.7", 110, 170),
    Fact("money.revenue_share_by_channel.Referral", "42.3 %", 0.373, 0.473),
    Fact("money.revenue_share_by_channel.Direct", "28.2 %", 0.232, 0.332),
    Fact("money.revenue_share_by_channel.Organic Search", "21.2 %", 0.162, 0.262),
    Fact("money.revenue_share_by_channel.Display", "5.1 %", 0.001, 0.101),
    Fact("money.revenue_share_by_channel.Paid Search", "2.8 %", 0.0, 0.078),
    Fact("money.revenue_share_by_channel.Social", "0.3 %", 0.0, 0.053),
    Fact("money.revenue_share_by_device.desktop", "96 %", 0.90, 1.0),
    Fact("money.revenue_share_by_continent.Americas", "~98 %", 0.93, 1.0),
    Fact("funnel.adds_per_detail_view", "28-37 %", 0.28, 0.37),
    Fact("funnel.purchases_per_detail_view", "8-13 %", 0.08, 0.13),
    Fact("funnel.product_page_session_share", "14.8 %", 0.128, 0.168),
    Fact("funnel.checkout_sessions_that_purchase", "~50 %", 0.40, 0.60),
]


def lookup(stats: dict[str, Any], path: str) -> Any:
    """The value at a dotted path; keys may contain spaces but not dots."""
    value: Any = stats
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def check(stats: dict[str, Any]) -> list[tuple[Fact, Any, bool]]:
    """Each published figure with the measured value and whether it is within tolerance."""
    results = []
    for fact in FACTS:
        value = lookup(stats, fact.path)
        within = value is not None and fact.low <= float(value) <= fact.high
        results.append((fact, value, within))
    return results
