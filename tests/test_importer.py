"""The GA importer, against real DuckDB files (tests/test_kaggle_export.py round-trips
the exporter through it)."""

from __future__ import annotations

import ast
import csv
import datetime as dt
import gc
import gzip
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from bot.cli import cli
from kpi.ga_import.importer import (
    ImportError_,
    ImportReport,
    import_ga,
    kaggle_session,
    python_literal,
    session_rows,
)
from kpi.storage.schema import TABLES
from kpi.storage.warehouse import Warehouse, open_warehouse

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "ga_train_v2_sample.csv"
SEOUL = ZoneInfo("Asia/Seoul")
BOUNCE_KEY = "3162355547410993243-1508198450"
PURCHASE_KEY = "9549826748224805897-1508200705"
V1_HEADER = [
    "channelGrouping",
    "date",
    "device",
    "fullVisitorId",
    "geoNetwork",
    "sessionId",
    "socialEngagementType",
    "totals",
    "trafficSource",
    "visitId",
    "visitNumber",
    "visitStartTime",
]


# -- helpers --------------------------------------------------------------------------
def fixture_rows() -> tuple[list[str], list[dict[str, str]]]:
    with FIXTURE.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def copies(rows: list[dict[str, str]], n: int) -> Iterator[dict[str, str]]:
    """`n` copies of the fixture's sessions, each copy with its own visitIds."""
    for i in range(n):
        for row in rows:
            yield {**row, "visitId": str(int(row["visitId"]) * 100_000 + i)}


def new_warehouse(tmp_path: Path, name: str = "ga.duckdb") -> Warehouse:
    warehouse = open_warehouse("duckdb:///" + str(tmp_path / name))
    warehouse.create_schema()
    return warehouse


def scalar(warehouse: Warehouse, sql: str) -> object:
    (row,) = warehouse.query(sql)
    (value,) = row.values()
    return value


def table_rows(warehouse: Warehouse) -> dict[str, list[dict]]:
    result = {}
    for table in TABLES:
        (key,) = table.primary_key.columns.keys()
        result[table.name] = warehouse.query(f'SELECT * FROM ga_data."{table.name}" ORDER BY {key}')
    return result


# `warehouse` (a fresh DuckDB file under tmp_path) comes from conftest.py.


# -- the fixture ----------------------------------------------------------------------
def test_fixture_imports_exactly_two_sessions_ten_hits_and_the_purchase(warehouse):
    report = import_ga(warehouse, [FIXTURE], zone=SEOUL)

    assert warehouse.row_counts() == {
        "Sessions": 2,
        "Totals": 2,
        "Traffic": 2,
        "DeviceGeo": 2,
        "Hits": 10,
        "HitsProduct": 20,
    }
    revenue = scalar(warehouse, 'SELECT SUM("totalTransactionRevenue") / 1e6 FROM ga_data."Totals"')
    assert revenue == pytest.approx(15.19)
    assert report.summary() == (
        "imported 2 sessions (0 already present), 10 hits, 20 products, "
        "revenue $15.19 from 1 file; 0 bad rows skipped"
    )
    assert report.revenue_added_usd == pytest.approx(15.19)
    assert report.problems == []


def test_fixture_purchase_hit_and_its_products(warehouse):
    import_ga(warehouse, [FIXTURE], zone=SEOUL)

    purchase_hits = warehouse.query(
        'SELECT * FROM ga_data."Hits" WHERE "actionType" = \'6\' ORDER BY "hitNumber"'
    )
    assert [h["hitNumber"] for h in purchase_hits] == [6, 7]
    first = purchase_hits[0]
    assert first["hit_key"] == f"{PURCHASE_KEY}-6"
    assert first["transactionId"] == "ORD201710162624"
    assert first["transactionRevenue"] == 17_190_000
    assert first["product_productQuantity"] == 1
    assert first["pagePath"] == "/ordercompleted.html"
    assert first["hitType"] == "PAGE"

    products = warehouse.query(
        'SELECT p.* FROM ga_data."HitsProduct" p JOIN ga_data."Hits" h USING (hit_key) '
        "WHERE h.\"actionType\" = '6' ORDER BY p.product_hit_key"
    )
    assert [p["product_hit_key"] for p in products] == [
        f"{PURCHASE_KEY}-6-1",
        f"{PURCHASE_KEY}-7-1",
    ]
    bought = products[0]
    assert bought["v2ProductName"] == "Waze Women's Short Sleeve Tee"
    assert bought["productSKU"] == "GGOEWALJ082713"
    assert bought["productPrice"] == 15_190_000
    assert bought["productRevenue"] == 17_190_000
    assert bought["productQuantity"] == 1
    assert bought["productVariant"] == " SM"
    product_revenue = scalar(
        warehouse,
        'SELECT SUM(p."productRevenue") / 1e6 FROM ga_data."HitsProduct" p '
        'JOIN ga_data."Hits" h USING (hit_key) WHERE h."actionType" = \'6\'',
    )
    assert product_revenue == pytest.approx(17.19)


def test_fixture_sessions_totals_traffic_and_device(warehouse):
    import_ga(warehouse, [FIXTURE], zone=SEOUL)
    rows = table_rows(warehouse)
    bounce_session, purchase_session = rows["Sessions"]
    bounce_totals, purchase_totals = rows["Totals"]

    # fullVisitorId stays the exact string (a float would round it to 9549826748224806000)
    assert purchase_session["fullVisitorId"] == "9549826748224805897"
    assert purchase_session["session_key"] == PURCHASE_KEY
    assert purchase_session["visitNumber"] == 4
    # GA's date column says 20171016 (California); 00:38 UTC is 09:38 on the 17th in Seoul
    assert bounce_session["date"] == dt.date(2017, 10, 17)
    assert purchase_session["date"] == dt.date(2017, 10, 17)

    assert bounce_totals["bounces"] == 1
    assert bounce_totals["timeOnSite"] is None
    assert bounce_totals["transactions"] is None
    assert purchase_totals["bounces"] is None
    assert purchase_totals["timeOnSite"] == 261
    assert purchase_totals["totalTransactionRevenue"] == 15_190_000
    assert purchase_totals["grossTransactionRevenue"] == 17_190_000
    assert purchase_totals["sessionQualityDim"] == 13

    assert rows["Traffic"][0]["keyword"] == "water bottle"
    assert rows["Traffic"][0]["isTrueDirect"] is None
    assert rows["Traffic"][1]["isTrueDirect"] is True
    germany = rows["DeviceGeo"][0]
    assert (germany["browser"], germany["country"]) == ("Firefox", "Germany")
    assert germany["city"] is None  # "not available in demo dataset"


def test_sessions_date_follows_the_reporting_time_zone(warehouse):
    import_ga(warehouse, [FIXTURE], zone=ZoneInfo("America/Los_Angeles"))
    dates = [row["date"] for row in warehouse.query('SELECT date FROM ga_data."Sessions"')]
    assert dates == [dt.date(2017, 10, 16)] * 2


def test_reimporting_adds_nothing(warehouse):
    import_ga(warehouse, [FIXTURE], zone=SEOUL)
    before = warehouse.row_counts()

    report = import_ga(warehouse, [FIXTURE], zone=SEOUL)

    assert warehouse.row_counts() == before
    assert report.sessions_added == 0
    assert report.sessions_skipped_existing == 2
    assert report.hits_added == 0
    assert report.revenue_added_usd == 0
    assert "(2 already present)" in report.summary()


@pytest.mark.parametrize("batch_size", [1, 2000])
def test_a_session_repeated_in_one_run_is_imported_once(tmp_path, warehouse, batch_size):
    header, rows = fixture_rows()
    doubled = write_csv(tmp_path / "doubled.csv", header, rows + rows)

    report = import_ga(warehouse, [doubled, FIXTURE], zone=SEOUL, batch_size=batch_size)

    assert warehouse.row_counts()["Sessions"] == 2
    assert warehouse.row_counts()["Hits"] == 10
    assert (report.sessions_read, report.sessions_added) == (6, 2)
    assert report.sessions_skipped_existing == 4


def test_a_batch_that_cannot_be_written_leaves_no_session_behind(warehouse):
    # The fixture's hits have no eventCategory: the batch fails at Hits, after Sessions,
    # Totals, Traffic and DeviceGeo went in, and the transaction takes them back out.
    with warehouse.engine.begin() as conn:
        conn.exec_driver_sql('ALTER TABLE ga_data."Hits" ALTER COLUMN "eventCategory" SET NOT NULL')

    with pytest.raises(Exception, match=r"(?i)not null|constraint"):
        import_ga(warehouse, [FIXTURE], zone=SEOUL)

    assert set(warehouse.row_counts().values()) == {0}


def test_progress_bar_does_not_change_the_result(warehouse):
    report = import_ga(warehouse, [FIXTURE], zone=SEOUL, progress=True)
    assert report.sessions_added == 2


# -- bad rows --------------------------------------------------------------------------
def _broken(row: dict[str, str], **changes: str) -> dict[str, str]:
    return {**row, "visitId": "1", **changes}


BROKEN_ROWS = {
    "bad literal": ({"hits": "[{'hitNumber': '1'"}, "hits is not a valid Python literal"),
    "bad json": ({"totals": '{"visits": '}, "totals is not valid JSON"),
    "no visitId": ({"visitId": ""}, "visitId is missing"),
    "no visitor": ({"fullVisitorId": ""}, "fullVisitorId is missing"),
    "text start": ({"visitStartTime": "yesterday"}, "visitStartTime is not a whole number"),
    "text count": ({"totals": '{"pageviews": "many"}'}, "pageviews is not a whole number"),
    "hit number": ({"hits": "[{'hitNumber': 'x'}]"}, "hitNumber is not a whole number"),
    "same hit twice": ({"hits": "[{'hitNumber': '1'}, {'hitNumber': '1'}]"}, "appears twice"),
    "hits not list": ({"hits": "{'hitNumber': '1'}"}, "hits is not a list"),
    "hour overflow": ({"hits": "[{'hitNumber': '1', 'hour': '99999'}]"}, "out of range"),
}


@pytest.mark.parametrize("change, message", BROKEN_ROWS.values(), ids=BROKEN_ROWS.keys())
def test_a_broken_row_is_reported_with_its_line_and_the_rows_around_it_import(
    tmp_path, warehouse, change, message
):
    header, (bounce, purchase) = fixture_rows()
    path = write_csv(
        tmp_path / "train_v2.csv", header, [bounce, _broken(bounce, **change), purchase]
    )

    report = import_ga(warehouse, [path], zone=SEOUL)

    assert report.bad_rows == 1
    (problem,) = report.problems
    assert problem.startswith(f"{path} line 3: ")
    assert message in problem
    assert "\n" not in problem
    assert warehouse.row_counts()["Sessions"] == 2
    assert report.summary().endswith("1 bad row skipped")


def test_a_record_spanning_lines_is_numbered_from_its_first_line(tmp_path, warehouse):
    header, (bounce, purchase) = fixture_rows()
    rows = [
        {**bounce, "socialEngagementType": "Not\nSocially\nEngaged"},  # lines 2-4
        _broken(purchase, hits="not a literal"),  # line 5
        purchase,  # line 6
    ]
    path = write_csv(tmp_path / "multiline.csv", header, rows)

    report = import_ga(warehouse, [path], zone=SEOUL)

    assert report.problems == [f"{path} line 5: hits is not a valid Python literal"]
    assert warehouse.row_counts()["Sessions"] == 2
    engagement = scalar(
        warehouse,
        'SELECT "socialEngagementType" FROM ga_data."Sessions" '
        f"WHERE session_key = '{BOUNCE_KEY}'",
    )
    assert engagement == "Not\nSocially\nEngaged"


def test_rows_with_wrong_field_count_or_bad_utf8_are_skipped(tmp_path, warehouse):
    lines = FIXTURE.read_bytes().split(b"\r\n")
    header, bounce, purchase = lines[0], lines[1], lines[2]
    bad_utf8 = bounce.replace(b"Organic Search", b"Organic \xff Search").replace(
        b"1508198450", b"1508198451"
    )
    content = b"\r\n".join([header, bounce, b"just,three,fields", bad_utf8, purchase, b""])
    path = tmp_path / "mixed.csv"
    path.write_bytes(content)

    report = import_ga(warehouse, [path], zone=SEOUL)

    assert report.problems == [
        f"{path} line 3: has 3 fields, the header has 13",
        f"{path} line 4: not valid UTF-8",
    ]
    assert report.sessions_added == 2


def test_problems_beyond_the_cap_are_counted_not_kept():
    report = ImportReport()
    for n in range(1005):
        report.add_problem(f"x.csv line {n}: bad")
    assert len(report.problems) == 1000
    assert (report.bad_rows, report.problems_not_listed) == (1005, 5)
    assert report.summary().endswith("1,005 bad rows skipped (the first 1000 listed)")


# -- other layouts --------------------------------------------------------------------
def test_kaggle_v1_train_csv_imports_sessions_without_hits(tmp_path, warehouse):
    _, rows = fixture_rows()
    v1_rows = []
    for row in rows:
        totals = json.loads(row["totals"])
        totals.pop("totalTransactionRevenue", None)  # v1 predates it
        v1 = {name: row.get(name, "") for name in V1_HEADER}
        v1.update(sessionId=f"{row['fullVisitorId']}_{row['visitId']}", totals=json.dumps(totals))
        v1_rows.append(v1)
    path = write_csv(tmp_path / "train.csv", V1_HEADER, v1_rows)

    report = import_ga(warehouse, [path], zone=SEOUL)

    counts = warehouse.row_counts()
    assert (counts["Sessions"], counts["Hits"], counts["HitsProduct"]) == (2, 0, 0)
    assert report.revenue_added_usd == pytest.approx(15.19)
    assert scalar(warehouse, 'SELECT SUM(hits) FROM ga_data."Totals"') == 10
    assert (
        scalar(warehouse, 'SELECT COUNT(*) FROM ga_data."DeviceGeo" WHERE country IS NOT NULL') == 2
    )


def ga_sessions_lines() -> list[dict]:
    """Two sessions as BigQuery's NEWLINE_DELIMITED_JSON export of ga_sessions writes them:
    INT64 as strings, NULLs left out; the second uses JSON numbers, as other tools do."""
    purchase = {
        "visitNumber": "2",
        "visitId": "1501583974",
        "visitStartTime": "1501583974",
        "date": "20170801",
        "totals": {
            "visits": "1",
            "hits": "3",
            "pageviews": "2",
            "timeOnSite": "197",
            "transactions": "1",
            "transactionRevenue": "67990000",
            "totalTransactionRevenue": "75990000",
            "newVisits": None,
            "sessionQualityDim": "81",
        },
        "trafficSource": {
            "campaign": "AW - Accessories",
            "source": "google",
            "medium": "cpc",
            "keyword": "google merchandise",
            "adwordsClickInfo": {
                "campaignId": "1234",
                "page": "1",
                "slot": "Top",
                "gclId": "CjwKCAjw",
                "adNetworkType": "Google Search",
                "isVideoAd": False,
            },
            "isTrueDirect": True,
        },
        "device": {
            "browser": "Chrome",
            "operatingSystem": "Windows",
            "isMobile": False,
            "deviceCategory": "desktop",
        },
        "geoNetwork": {
            "continent": "Americas",
            "subContinent": "Northern America",
            "country": "United States",
            "region": "California",
            "metro": "San Francisco-Oakland-San Jose CA",
            "city": "Mountain View",
        },
        "customDimensions": [{"index": "4", "value": "North America"}],
        "hits": [
            {
                "hitNumber": "1",
                "time": "0",
                "hour": "3",
                "minute": "39",
                "isInteraction": True,
                "isEntrance": True,
                "page": {"pagePath": "/home", "hostname": "shop.googlemerchandisestore.com"},
                "eCommerceAction": {"action_type": "0", "step": "1"},
                "type": "PAGE",
                "product": [],
            },
            {
                "hitNumber": "2",
                "time": "15000",
                "hour": "3",
                "minute": "39",
                "isInteraction": True,
                "page": {"pagePath": "/basket.html", "pageTitle": "Shopping Cart"},
                "eventInfo": {
                    "eventCategory": "Enhanced Ecommerce",
                    "eventAction": "Add to Cart",
                    "eventLabel": "Nest Cam Outdoor Security Camera - USA",
                },
                "eCommerceAction": {"action_type": "3", "step": "1"},
                "type": "EVENT",
                "product": [
                    {
                        "productSKU": "GGOENEBQ078999",
                        "v2ProductName": "Nest Cam Outdoor Security Camera - USA",
                        "v2ProductCategory": "Nest-USA",
                        "productPrice": "199990000",
                        "productQuantity": "1",
                        "isClick": True,
                    }
                ],
            },
            {
                "hitNumber": "3",
                "time": "197000",
                "hour": "3",
                "minute": "42",
                "isInteraction": True,
                "isExit": True,
                "page": {"pagePath": "/ordercompleted.html"},
                "transaction": {
                    "transactionId": "ORD201708011234",
                    "transactionRevenue": "75990000",
                },
                "eCommerceAction": {"action_type": "6", "step": "1"},
                "type": "PAGE",
                "product": [
                    {
                        "productSKU": "GGOEGAAX0104",
                        "v2ProductName": "Google Men's 100% Cotton Short Sleeve Hero Tee White",
                        "productPrice": "16990000",
                        "productRevenue": "33980000",
                        "productQuantity": "2",
                    },
                    {
                        "productSKU": "GGOEGDHC074099",
                        "v2ProductName": "Google 17oz Stainless Steel Sport Bottle",
                        "productPrice": "23990000",
                        "productRevenue": "23990000",
                        "productQuantity": "1",
                    },
                ],
            },
        ],
        "fullVisitorId": "0003450834640354121",
        "userId": None,
        "channelGrouping": "Paid Search",
        "socialEngagementType": "Not Socially Engaged",
    }
    bounce = {
        "visitNumber": 1,
        "visitId": 1501590000,
        "visitStartTime": 1501590000,
        "totals": {"visits": 1, "hits": 1, "pageviews": 1, "bounces": 1, "newVisits": 1},
        "trafficSource": {"source": "(direct)", "medium": "(none)"},
        "device": {"browser": "Safari", "deviceCategory": "mobile"},
        "geoNetwork": {"country": "Japan", "city": "not available in demo dataset"},
        "hits": [{"hitNumber": 1, "time": 0, "hour": 5, "minute": 20, "type": "PAGE"}],
        "fullVisitorId": "7194065619159478122",
        "channelGrouping": "Direct",
    }
    return [purchase, bounce]


@pytest.mark.parametrize("name", ["ga_sessions_20170801.json", "ga_sessions_20170801.json.gz"])
def test_bigquery_ndjson_imports_the_same_shape(tmp_path, warehouse, name):
    text = "".join(json.dumps(line) + "\n" for line in ga_sessions_lines())
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")

    report = import_ga(warehouse, [path], zone=SEOUL)

    assert report.problems == []
    assert warehouse.row_counts() == {
        "Sessions": 2,
        "Totals": 2,
        "Traffic": 2,
        "DeviceGeo": 2,
        "Hits": 4,
        "HitsProduct": 3,
    }
    assert report.revenue_added_usd == pytest.approx(67.99)
    rows = table_rows(warehouse)
    purchase_key = "0003450834640354121-1501583974"
    session = next(s for s in rows["Sessions"] if s["session_key"] == purchase_key)
    assert session["fullVisitorId"] == "0003450834640354121"  # leading zeros kept
    assert session["date"] == dt.date(2017, 8, 1)
    traffic = next(t for t in rows["Traffic"] if t["session_key"] == purchase_key)
    assert (traffic["adwordsPage"], traffic["adwordsSlot"]) == (1, "Top")
    assert (traffic["gclId"], traffic["adNetworkType"]) == ("CjwKCAjw", "Google Search")
    assert traffic["isTrueDirect"] is True
    totals = next(t for t in rows["Totals"] if t["session_key"] == purchase_key)
    assert totals["grossTransactionRevenue"] == 75_990_000
    assert totals["newVisits"] is None
    hits = {h["hit_key"]: h for h in rows["Hits"]}
    add = hits[f"{purchase_key}-2"]
    assert (add["actionType"], add["hitType"], add["eventAction"]) == ("3", "EVENT", "Add to Cart")
    assert add["eventLabel"] == "Nest Cam Outdoor Security Camera - USA"
    purchase = hits[f"{purchase_key}-3"]
    assert purchase["product_productQuantity"] == 3
    assert purchase["transactionRevenue"] == 75_990_000
    assert purchase["isExit"] is True
    products = {p["product_hit_key"]: p for p in rows["HitsProduct"]}
    assert products[f"{purchase_key}-3-2"]["productSKU"] == "GGOEGDHC074099"
    assert products[f"{purchase_key}-2-1"]["isClick"] is True
    bounce_geo = next(d for d in rows["DeviceGeo"] if d["country"] == "Japan")
    assert bounce_geo["city"] is None


def test_a_broken_json_line_is_reported_with_its_line_number(tmp_path, warehouse):
    purchase, bounce = ga_sessions_lines()
    path = tmp_path / "ga_sessions.jsonl"
    path.write_text(
        "\n".join([json.dumps(purchase), "", '{"fullVisitorId": "1", ', json.dumps(bounce), "[1]"]),
        encoding="utf-8",
    )

    report = import_ga(warehouse, [path], zone=SEOUL)

    assert report.problems == [
        f"{path} line 3: not valid JSON",
        f"{path} line 5: not a JSON object",
    ]
    assert report.sessions_added == 2


# -- whole files that cannot be read ---------------------------------------------------
def test_unknown_layout_is_a_one_line_import_error(tmp_path, warehouse):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,amount\n1,9.99\n", encoding="utf-8")

    with pytest.raises(ImportError_) as caught:
        import_ga(warehouse, [FIXTURE, path], zone=SEOUL)

    message = str(caught.value)
    assert message.startswith(f"{path}: unknown layout")
    assert "\n" not in message
    assert warehouse.is_empty()  # every file is checked before any is imported


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("partial.csv", b"fullVisitorId,visitId,totals\n", "the CSV header lacks"),
        ("empty.csv", b"", "the file is empty"),
        ("array.json", b'[{"fullVisitorId": "1"}]', "newline-delimited JSON"),
        ("fake.csv.gz", b"channelGrouping,date\n", "unreadable gzip"),
    ],
)
def test_files_that_cannot_be_read_are_import_errors(tmp_path, warehouse, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportError_, match=message):
        import_ga(warehouse, [path], zone=SEOUL)


def test_a_truncated_gzip_is_an_import_error(tmp_path, warehouse):
    _, rows = fixture_rows()
    big = write_csv(tmp_path / "big.csv", fixture_rows()[0], list(copies(rows, 50)))
    compressed = gzip.compress(big.read_bytes())
    path = tmp_path / "big.csv.gz"
    path.write_bytes(compressed[: len(compressed) // 2])

    with pytest.raises(ImportError_, match="unreadable after line"):
        import_ga(warehouse, [path], zone=SEOUL)


@pytest.fixture
def cli_env(tmp_path, monkeypatch) -> str:
    url = "duckdb:///" + str(tmp_path / "cli.duckdb")
    monkeypatch.setenv("COMMERCY_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)  # no .env is read
    return url


def test_cli_prints_the_import_error_and_exits_non_zero(tmp_path, cli_env):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,amount\n1,9.99\n", encoding="utf-8")

    result = CliRunner().invoke(cli, ["data", "import-ga", str(path)], obj={})

    assert result.exit_code != 0
    assert result.stderr.startswith(f"commercy: {path}: unknown layout")
    assert "Traceback" not in result.output + result.stderr


def test_cli_imports_the_fixture_and_prints_the_summary(tmp_path, cli_env):
    header, (bounce, purchase) = fixture_rows()
    path = write_csv(
        tmp_path / "train_v2.csv", header, [bounce, _broken(bounce, hits="x"), purchase]
    )

    result = CliRunner().invoke(cli, ["data", "import-ga", str(path)], obj={})

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "imported 2 sessions (0 already present), 10 hits, 20 products, "
        "revenue $15.19 from 1 file; 1 bad row skipped"
    )
    assert f"skipped {path} line 3: hits is not a valid Python literal" in result.stderr


# -- streaming ---------------------------------------------------------------------------
def _peak_traced_import(tmp_path: Path, path: Path, name: str) -> int:
    warehouse = new_warehouse(tmp_path, name)
    gc.collect()
    tracemalloc.start()
    try:
        report = import_ga(warehouse, [path], zone=SEOUL, batch_size=50)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        warehouse.close()
    assert report.bad_rows == 0
    return peak


@pytest.mark.parametrize(
    "small, large", [(30, 150), pytest.param(200, 1800, marks=pytest.mark.slow)]
)
def test_memory_stays_flat_as_the_file_grows(tmp_path, small, large):
    header, rows = fixture_rows()
    small_file = write_csv(tmp_path / "small.csv", header, list(copies(rows, small)))
    large_file = write_csv(tmp_path / "large.csv", header, list(copies(rows, large)))
    # Warm up first: imports, caches and compiled SQL are allocated once per process.
    _peak_traced_import(tmp_path, small_file, "warm.duckdb")

    small_peak = _peak_traced_import(tmp_path, small_file, "small.duckdb")
    large_peak = _peak_traced_import(tmp_path, large_file, "large.duckdb")

    ratio = large_file.stat().st_size / small_file.stat().st_size
    assert ratio > 4.9
    # A whole-file read would grow the peak by the file size (MBs); batches keep it flat.
    assert large_peak < small_peak * 1.5 + 512 * 1024, (small_peak, large_peak)
    assert large_peak < large_file.stat().st_size / 2


# -- units -----------------------------------------------------------------------------
def test_row_builders_fill_every_column_of_the_schema():
    _, (_, purchase) = fixture_rows()

    rows = session_rows(kaggle_session(purchase), SEOUL)

    built = {
        "Sessions": [rows.session],
        "Totals": [rows.totals],
        "Traffic": [rows.traffic],
        "DeviceGeo": [rows.device_geo],
        "Hits": rows.hits,
        "HitsProduct": rows.products,
    }
    for table in TABLES:
        for row in built[table.name]:
            assert set(row) == set(table.columns.keys()), table.name


@pytest.mark.parametrize(
    "text",
    [
        "[{'a': 'True None False', 'b': \"it's\", 'c': 'say \"hi\"', 'd': True, 'e': None}]",
        "[{'a': 'x\\'y', 'n': [1, -2.5, 1e3]}]",
        "(1, 2)",
        "{1: 'a'}",
        "['a' 'b']",
        "[1, # a comment's quote\n 2]",
        "[{'x': 'é😀', 'empty': ''}]",
    ],
)
def test_python_literal_equals_literal_eval(text):
    assert python_literal(text) == ast.literal_eval(text)


@pytest.mark.parametrize("text", ["[true]", "[null]", "[NaN]", "{'a': Infinity}", "[{'a': 1"])
def test_python_literal_rejects_what_literal_eval_rejects(text):
    with pytest.raises((ValueError, SyntaxError)):
        ast.literal_eval(text)
    with pytest.raises((ValueError, SyntaxError)):
        python_literal(text)
