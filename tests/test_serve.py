"""A clean process tree: the children of `commercy serve` (the Agents Playground and the
indexer) end when `serve` ends, however it ends: Ctrl+C (SIGINT), SIGTERM, or SIGKILL
of `serve` itself. Each case runs a real `serve` with its live replay writing."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from kpi.sample.generate import generate
from tests.conftest import SEOUL, new_warehouse
from tests.doubles.botkit import free_port
from tests.test_control import COMMERCY, YESTERDAY
from tests.test_playground import needs_playground


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (a reaped-late orphan has ended all the same)."""
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def command_of(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.fixture(scope="module")
def warehouse_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tree")
    warehouse = new_warehouse(folder / "data", "commercy.duckdb")
    generate(warehouse, days=2, end=YESTERDAY, zone=SEOUL, scale=0.05, seed=2)
    warehouse.close()
    return folder


@needs_playground
@pytest.mark.skipif(not Path("/proc").exists(), reason="reads the process table in /proc")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL],
                         ids=["ctrl-c", "sigterm", "sigkill"])  # fmt: skip
def test_the_playground_and_the_indexer_end_when_serve_ends(warehouse_folder, signum):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COMMERCY_")},
        "COMMERCY_DATABASE_URL": f"duckdb:///{warehouse_folder / 'data' / 'commercy.duckdb'}",
        "COMMERCY_TIMEZONE": "Asia/Seoul",
        "MicrosoftAppId": "",
    }
    log = (warehouse_folder / f"serve-{signum}.log").open("w")
    serve = subprocess.Popen(
        [str(COMMERCY), "serve", "--port", str(free_port()), "--playground-port",
         str(free_port())],
        cwd=warehouse_folder, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    children: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and serve.poll() is None:
            children = children_of(serve.pid)
            commands = " ".join(command_of(pid) for pid in children)
            if "agentsplayground" in commands and "indexer" in commands:
                break
            time.sleep(0.2)
        assert len(children) == 2, f"serve's children: {[command_of(p) for p in children]}"
        serve.send_signal(signum)
        serve.wait(timeout=120)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(running(pid) for pid in children):
            time.sleep(0.2)
        assert [command_of(pid) for pid in children if running(pid)] == []
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        for pid in children:
            if running(pid):  # only if the test failed: leave nothing behind
                os.kill(pid, signal.SIGKILL)
        log.close()


def test_a_killed_bots_control_file_does_not_stop_the_command_line(warehouse_folder, tmp_path):
    """What SIGKILL leaves (the control file) is recognised as stale: the next command
    opens the warehouse itself."""
    stale = warehouse_folder / "data" / "commercy.duckdb.serve.json"
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale.write_text(f'{{"pid": {dead.pid}, "url": "http://127.0.0.1:9", "token": "x"}}')
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COMMERCY_")},
        "COMMERCY_DATABASE_URL": f"duckdb:///{warehouse_folder / 'data' / 'commercy.duckdb'}",
    }
    done = subprocess.run(
        [str(COMMERCY), "kpi", "query", "--metric", "sessions", "--from",
         str(YESTERDAY - dt.timedelta(days=1)), "--to", str(YESTERDAY), "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    stale.unlink()


def test_an_incident_begun_before_the_replays_first_minute_leaves_yesterday_as_it_was(
    tmp_path,
):
    """`stream inject` just after midnight ("--in -30" at 00:10) reaches back into
    yesterday, whose sessions are the generated history: only the replay's own minutes,
    from its first (today's midnight), are rewritten; nothing is added to yesterday."""
    from bot.serve import LiveReplay
    from bot.settings import Settings
    from kpi.sample.stream import Incident

    warehouse = new_warehouse(tmp_path)
    midnight = dt.datetime(2026, 12, 7, 0, 0, tzinfo=SEOUL)
    replay = LiveReplay(warehouse, Settings(COMMERCY_TIMEZONE="Asia/Seoul"))
    replay.owned_from = midnight
    incident = Incident("payment_errors", midnight - dt.timedelta(minutes=20), 40)
    replay.incidents.append(incident)
    done = threading.Event()
    replay.rewrites.append((incident, midnight + dt.timedelta(minutes=10), done))
    replay._apply_rewrites()
    assert done.is_set()
    rows = warehouse.query(
        "SELECT CAST(date AS VARCHAR) AS day, COUNT(*) AS n FROM ga_data.Sessions GROUP BY 1"
    )
    days = {row["day"]: row["n"] for row in rows}
    assert days.get("2026-12-07", 0) > 0  # the replay's own ten minutes, rewritten
    assert "2026-12-06" not in days  # yesterday untouched
    warehouse.close()
