"""The product as one system: a real `commercy serve` (its live replay writing, the
Agents Playground and the indexer beside it) and, from other processes, the command
line: the same numbers as with the bot stopped and as hand-written SQL; an incident
injected on demand that reaches the Playground as an alert card; and a control API
that answers only its token, on loopback, and runs only the warehouse commands."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bot.control import command_path, goes_through_the_bot
from kpi.metrics.units import format_value
from kpi.sample.generate import generate
from tests.conftest import SEOUL, new_warehouse
from tests.doubles.botkit import free_port
from tests.test_playground import HAVE_PLAYGROUND

COMMERCY = Path(sys.executable).parent / "commercy"
TODAY = dt.datetime.now(SEOUL).date()
YESTERDAY = TODAY - dt.timedelta(days=1)
WEEK = (YESTERDAY - dt.timedelta(days=6), YESTERDAY)

# Commands whose output does not depend on today's live minutes: with the bot running
# they must print exactly what they print with the bot stopped.
STEADY: dict[str, list[str]] = {
    "kpi query": ["kpi", "query", "--metric", "revenue", "--metric", "sessions", "--by",
                  "device", "--from", str(WEEK[0]), "--to", str(WEEK[1]), "--json"],
    "kpi summary": ["kpi", "summary", "--date", str(YESTERDAY), "--json"],
    "kpi why": ["kpi", "why", "--metric", "revenue", "--from", str(WEEK[0]), "--to",
                str(WEEK[1]), "--json"],
    "ask": ["ask", "어제 매출", "--as-of", str(TODAY)],
    "alerts evaluate": ["alerts", "evaluate", "--at", f"{YESTERDAY}T21:00", "--json"],
}  # fmt: skip


def commercy(folder: Path, env: dict, *args: str, timeout: float = 300):
    return subprocess.run([str(COMMERCY), *args], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip


@dataclass
class Product:
    folder: Path
    env: dict
    serve: subprocess.Popen
    port: int
    playground_port: int
    gold: dict
    stopped: dict  # STEADY's outputs with the bot stopped
    chat: str = ""
    events: list = field(default_factory=list)
    injected: subprocess.CompletedProcess | None = None

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return commercy(self.folder, self.env, *args, timeout=timeout)

    def control(self) -> dict:
        return json.loads((self.folder / "data" / "commercy.duckdb.serve.json").read_text())


def _gold(warehouse) -> dict:
    """The numbers by hand-written SQL (metrics.md), not through the metric layer."""
    revenue = warehouse.query(
        'SELECT SUM(t."totalTransactionRevenue") / 1e6 AS v FROM ga_data."Sessions" s '
        'JOIN ga_data."Totals" t USING (session_key) WHERE s.date = :day',
        {"day": YESTERDAY},
    )[0]["v"]
    by_device = warehouse.query(
        'SELECT d."deviceCategory" AS device, COUNT(*) AS n FROM ga_data."Sessions" s '
        'JOIN ga_data."DeviceGeo" d USING (session_key) WHERE s.date BETWEEN :a AND :b '
        "GROUP BY 1",
        {"a": WEEK[0], "b": WEEK[1]},
    )
    return {"revenue": revenue, "sessions": {r["device"]: r["n"] for r in by_device}}


def _listen(url: str, events: list, ready: threading.Event, stop: threading.Event) -> None:
    """The Playground's conversation stream, collected on a thread of its own."""

    async def listen() -> None:
        async with ClientSession() as http, http.ws_connect(url) as socket:
            ready.set()
            while not stop.is_set():
                with suppress(asyncio.TimeoutError):
                    message = await socket.receive(timeout=0.5)
                    with suppress(TypeError, ValueError):
                        events.append(json.loads(message.data))

    asyncio.run(listen())


def _get_json(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


@pytest.fixture(scope="module")
def product(tmp_path_factory):
    if not HAVE_PLAYGROUND and not os.environ.get("CI"):
        pytest.skip("run `make setup` for the Playground")
    folder = tmp_path_factory.mktemp("product")
    warehouse = new_warehouse(folder / "data", "commercy.duckdb")
    generate(warehouse, days=42, end=YESTERDAY, zone=SEOUL, seed=5)
    gold = _gold(warehouse)
    warehouse.close()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COMMERCY_")},
        "COMMERCY_DATABASE_URL": f"duckdb:///{folder / 'data' / 'commercy.duckdb'}",
        "COMMERCY_TIMEZONE": "Asia/Seoul",
        "MicrosoftAppId": "",
    }
    # The bot stopped: one process at a time opens the file (DuckDB's one writer).
    stopped = {name: commercy(folder, env, *args) for name, args in STEADY.items()}
    port, playground_port = free_port(), free_port()
    log = (folder / "serve.log").open("w")
    serve = subprocess.Popen(
        [str(COMMERCY), "serve", "--port", str(port), "--playground-port", str(playground_port)],
        cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    product = Product(folder, env, serve, port, playground_port, gold, stopped)
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 180
        config = None
        while time.monotonic() < deadline and serve.poll() is None:
            healthy = _get_json(f"http://127.0.0.1:{port}/healthz")
            config = _get_json(f"http://127.0.0.1:{playground_port}/_internal/v1/config")
            control = folder / "data" / "commercy.duckdb.serve.json"
            if healthy and config and control.exists():
                break
            time.sleep(0.5)
        assert config, f"serve did not start: {(folder / 'serve.log').read_text()[-2000:]}"
        product.chat = config["config"]["personalChat"]["id"]
        ready = threading.Event()
        url = f"ws://127.0.0.1:{playground_port}/_ws_conversation/v1/conversations/stream"
        threading.Thread(target=_listen, args=(url, product.events, ready, stop),
                         daemon=True).start()  # fmt: skip
        assert ready.wait(30)
        request = urllib.request.Request(
            f"http://127.0.0.1:{playground_port}/_debug/conversation/{product.chat}/installation",
            data=b"{}", headers={"Content-Type": "application/json"}, method="POST",
        )  # fmt: skip
        urllib.request.urlopen(request, timeout=30).close()
        while time.monotonic() < deadline and not cards(product):  # the welcome: subscribed
            time.sleep(0.2)
        assert cards(product), "no welcome card"
        # Injected first, so the wait for its card overlaps the other tests.
        product.injected = product.run("stream", "inject", "traffic_drop")
        yield product
    finally:
        stop.set()
        serve.terminate()
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            serve.kill()
        log.close()


def cards(product: Product) -> list[tuple[str, dict]]:
    return [
        (e["message"]["messageId"], a["content"])
        for e in list(product.events)
        if e.get("action") == "createMessage" and e.get("actionConversationId") == product.chat
        for a in e["message"].get("attachments") or []
        if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
    ]


# -- the command line beside the bot ------------------------------------------------------


def test_the_live_replay_is_writing_while_the_command_line_runs(product):
    today = product.run("kpi", "query", "--metric", "sessions", "--period", "오늘", "--json")
    assert today.returncode == 0, today.stderr
    assert json.loads(today.stdout)["rows"][0]["sessions"] > 0


@pytest.mark.parametrize("name", list(STEADY))
def test_a_command_beside_the_running_bot_prints_what_it_prints_with_the_bot_stopped(product, name):
    stopped = product.stopped[name]
    assert stopped.returncode == 0, stopped.stderr
    running = product.run(*STEADY[name])
    assert running.returncode == 0, running.stderr
    if "--json" in STEADY[name]:  # sums of floats may differ in the last bit (DuckDB's threads)
        assert same(json.loads(running.stdout), json.loads(stopped.stdout))
    else:
        assert running.stdout == stopped.stdout


def same(a: object, b: object) -> bool:
    """Equal JSON, floats to 1e-9."""
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and a == pytest.approx(b, rel=1e-9, abs=1e-9)
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_kpi_query_beside_the_bot_equals_hand_written_sql(product):
    result = product.run(*STEADY["kpi query"])
    rows = json.loads(result.stdout)["rows"]
    assert {row["device"]: row["sessions"] for row in rows} == product.gold["sessions"]
    revenue = product.run("kpi", "query", "--metric", "revenue", "--period", "어제", "--as-of",
                          str(TODAY), "--json")  # fmt: skip
    assert json.loads(revenue.stdout)["rows"][0]["revenue"] == pytest.approx(
        product.gold["revenue"], rel=1e-9
    )


def test_ask_beside_the_bot_answers_with_the_hand_computed_revenue(product):
    result = product.run(*STEADY["ask"])
    assert result.returncode == 0, result.stderr
    assert format_value(product.gold["revenue"], "usd") in result.stdout


def test_search_beside_the_bot_finds_the_playbooks_its_indexer_indexed(product):
    deadline = time.monotonic() + 120  # the indexer indexes the sample playbooks at start
    hits: list = []
    while time.monotonic() < deadline and not hits:
        result = product.run("search", "결제 오류 에스컬레이션", "--json")
        assert result.returncode == 0, result.stderr
        hits = json.loads(result.stdout)
    assert hits and hits[0]["file"].endswith(".pdf")


def test_data_stats_beside_the_bot_counts_todays_live_sessions_too(product):
    result = product.run("data", "stats", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["period"]["last_date"] == str(TODAY)


# -- the control API ------------------------------------------------------------------------


def test_the_control_file_is_readable_by_its_owner_only_and_names_a_loopback_address(product):
    path = product.folder / "data" / "commercy.duckdb.serve.json"
    assert path.stat().st_mode & 0o077 == 0
    assert product.control()["url"].startswith("http://127.0.0.1:")


def test_the_control_api_refuses_a_request_without_the_token(product):
    request = urllib.request.Request(
        f"{product.control()['url']}/control/run", method="POST",
        data=json.dumps({"argv": ["kpi", "query", "--metric", "revenue"], "settings": {},
                         "cwd": "/"}).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer guessed"},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401


def test_the_control_api_runs_no_command_but_the_warehouse_ones(product):
    control = product.control()
    request = urllib.request.Request(
        f"{control['url']}/control/run", method="POST",
        data=json.dumps({"argv": ["serve"], "settings": {}, "cwd": "/"}).encode(),
        headers={"Content-Type": "application/json",
                 "Authorization": f"Bearer {control['token']}"},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403


@pytest.mark.parametrize(
    ("argv", "url", "expected"),
    [
        (["kpi", "query"], "duckdb:///data/commercy.duckdb", True),
        (["ask"], "duckdb:///data/commercy.duckdb", True),
        (["search"], "duckdb:///data/commercy.duckdb", False),  # no warehouse: SQLite only
        (["kpi", "query"], "mssql+pyodbc://u:p@server.database.windows.net/db", False),
        (["stream", "inject"], "mssql+pyodbc://u:p@server.database.windows.net/db", True),
    ],
)
def test_with_azure_sql_commands_connect_themselves_and_only_inject_needs_the_bot(
    argv, url, expected
):
    command = command_path(argv)
    assert (command is not None and goes_through_the_bot(command, url)) == expected


# -- incidents on demand ------------------------------------------------------------------


def test_inject_puts_the_incident_into_the_running_replay(product):
    assert product.injected.returncode == 0, product.injected.stderr
    assert "traffic_drop in the live replay from" in product.injected.stdout


def test_the_injected_incident_is_in_the_warehouse_at_once(product):
    now = dt.datetime.now(SEOUL).replace(second=0, microsecond=0)
    result = product.run("alerts", "evaluate", "--at", f"{now:%Y-%m-%dT%H:%M}", "--json")
    assert result.returncode == 0, result.stderr
    assert "traffic_drop" in [a["rule"] for a in json.loads(result.stdout)["alerts"]]


def test_the_injected_incident_reaches_the_playground_as_an_alert_card_and_why_answers(product):
    deadline = time.monotonic() + 11 * 60  # the next 5-minute check, with room to spare
    alert = None
    while time.monotonic() < deadline and alert is None:
        alert = next((c for c in cards(product) if "traffic_drop" in json.dumps(c[1])), None)
        time.sleep(1)
    assert alert is not None, "no traffic_drop card in the Playground"
    message_id, card = alert
    why = next(a for a in card["actions"] if a.get("verb") == "why")
    body = {
        "name": "adaptiveCard/action",
        "from": {"id": "user-id-0"},
        "conversation": {"id": product.chat},
        "replyToId": message_id,
        "value": {"action": {"type": "Action.Execute", "verb": "why", "data": why["data"]},
                  "trigger": "manual"},
    }  # fmt: skip
    request = urllib.request.Request(
        f"http://127.0.0.1:{product.playground_port}/_conversation/v1/invoke",
        data=json.dumps(body).encode(), headers={"Content-Type": "application/json"},
        method="POST",
    )  # fmt: skip
    before = len(cards(product))
    urllib.request.urlopen(request, timeout=60).close()
    while time.monotonic() < deadline + 60 and len(cards(product)) <= before:
        time.sleep(0.5)
    assert len(cards(product)) > before, "no answer to Why?"
    answer = json.dumps(cards(product)[-1][1], ensure_ascii=False)
    assert "플레이북" in answer or "Playbooks" in answer  # the why card's last part
