"""One line for every bad state: every `commercy` command, run in each bad state of the
warehouse, the state and index databases, and with a bad option value. A command that
needs the broken thing prints one line on stderr saying what is wrong and what to do
and exits with 2; no command prints a traceback, whatever the state."""

from __future__ import annotations

import datetime as dt
import gc
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from kpi.sample.generate import generate
from tests.conftest import SEOUL, SHARED, new_warehouse
from tests.doubles.botkit import free_port

GA_FILE = SHARED / "fixtures" / "ga_train_v2_sample.csv"

# Every command with arguments that are fine in a good state. `serve` and `indexer`
# run until stopped in a good state, so they are run only where they must refuse.
COMMANDS: dict[str, list[str]] = {
    "data init": ["data", "init"],
    "data ddl": ["data", "ddl"],
    "data generate": ["data", "generate", "--days", "1", "--scale", "0.01", "--if-empty"],
    "data stats": ["data", "stats"],
    "data import-ga": ["data", "import-ga", str(GA_FILE)],
    "kpi query": ["kpi", "query", "--metric", "revenue", "--period", "어제"],
    "kpi summary": ["kpi", "summary"],
    "kpi why": ["kpi", "why", "--metric", "revenue", "--period", "last week"],
    "ask": ["ask", "어제 매출"],
    "serve": ["serve", "--no-playground", "--port", "PORT"],
    "alerts evaluate": ["alerts", "evaluate", "--at", "2026-11-23T14:00"],
    "alerts status": ["alerts", "status"],
    "feedback": ["feedback"],
    "stream replay": [
        "stream",
        "replay",
        "--minutes",
        "1",
        "--speed",
        "max",
        "--start",
        "2026-11-23 14:00",
    ],
    "stream inject": ["stream", "inject", "traffic_drop"],
    "index": ["index", "playbooks"],
    "search": ["search", "결제 오류"],
    "indexer": ["indexer", "--watch", "playbooks"],
    "indexer status": ["indexer", "status"],
    "news ingest": ["news", "ingest", "--sample"],
    "package": [
        "package",
        "--bot-id",
        "00000000-0000-0000-0000-000000000000",
        "--domain",
        "bot.example.com",
    ],
}
LONG_RUNNING = {"serve", "indexer"}
READERS = {"data stats", "kpi query", "kpi summary", "kpi why", "ask", "serve", "alerts evaluate"}
WAREHOUSE_USERS = READERS | {"data init", "data generate", "data import-ga", "stream replay"}
INDEX_USERS = {"ask", "search", "index", "indexer", "indexer status", "serve"}
STATE_USERS = {"serve", "alerts status", "feedback"}

# One bad value for each command (an option's value where it has one).
BAD_FLAGS: dict[str, list[str]] = {
    "data init": ["data", "init", "--nonsense", "1"],
    "data ddl": ["data", "ddl", "--dialect", "oracle"],
    "data generate": ["data", "generate", "--days", "0"],
    "data stats": ["data", "stats", "--json=yes"],
    "data import-ga": ["data", "import-ga", str(GA_FILE), "--batch-size", "many"],
    "kpi query": ["kpi", "query", "--metric", "revenue", "--limit", "0"],
    "kpi summary": ["kpi", "summary", "--date", "yesterday-ish"],
    "kpi why": ["kpi", "why", "--metric", "revenue", "--compare", "decade"],
    "ask": ["ask", "어제 매출", "--as-of", "someday"],
    "serve": ["serve", "--port", "70000"],
    "alerts evaluate": ["alerts", "evaluate", "--at", "half past two"],
    "alerts status": ["alerts", "status", "--days", "0"],
    "feedback": ["feedback", "--limit", "0"],
    "stream replay": ["stream", "replay", "--speed", "fast"],
    "stream inject": ["stream", "inject", "traffic_drop", "--minutes", "0"],
    "index": ["index", "no-such-folder"],
    "search": ["search", "결제", "--top", "0"],
    "indexer": ["indexer", "--poll", "often"],
    "indexer status": ["indexer", "status", "--json=1"],
    "news ingest": ["news", "ingest", "--sampel"],
    "package": ["package", "--out"],
}


def _missing(folder: Path) -> None:
    pass  # nothing there: not the file, not its folder


def _empty(folder: Path) -> None:
    import duckdb

    duckdb.connect(str(folder / "data" / "commercy.duckdb")).close()  # a database, no tables


def _corrupt(folder: Path) -> None:
    (folder / "data" / "commercy.duckdb").write_bytes(os.urandom(64 * 1024))


def _good(folder: Path) -> None:
    warehouse = new_warehouse(folder / "data", "commercy.duckdb")
    generate(warehouse, days=3, end=dt.date(2026, 11, 23), zone=SEOUL, scale=0.05, seed=1)
    warehouse.close()


def _bad_index(folder: Path) -> None:
    _good(folder)
    (folder / "data" / "index.sqlite3").write_bytes(b"not a database " * 1000)


def _bad_state(folder: Path) -> None:
    _good(folder)
    (folder / "data" / "state.sqlite3").write_bytes(b"not a database " * 1000)


# state -> (how to make it, the commands that must refuse, what their line says)
STATES: dict[str, tuple[Callable[[Path], None], set[str], str]] = {
    "missing warehouse": (_missing, READERS, "commercy data generate"),
    "empty warehouse": (_empty, READERS, "no ga_data tables in"),
    "corrupt warehouse": (_corrupt, WAREHOUSE_USERS, "not a readable DuckDB database"),
    "unreadable index": (_bad_index, INDEX_USERS, "cannot read the search index"),
    "unreadable state": (_bad_state, STATE_USERS, "cannot read the state database"),
}


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "playbooks").mkdir()
    for name in list(os.environ):
        if name.startswith("COMMERCY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COMMERCY_TIMEZONE", "Asia/Seoul")
    monkeypatch.setenv("MicrosoftAppId", "")
    monkeypatch.setenv("COMMERCY_DOCS_DIR", "playbooks")
    monkeypatch.setenv("COMMERCY_REPLAY", "false")
    monkeypatch.setenv("COMMERCY_INDEXER", "false")
    return tmp_path


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    stderr: str
    crashed: str  # the exception a command let out, other than SystemExit; "" when none

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(args: list[str]) -> Outcome:
    # In one process DuckDB shares a file between connections of the same configuration
    # only (serve's has a memory limit), and a failed command's traceback keeps its
    # connection alive until collected; a real `commercy` process ends instead. So the
    # outcome keeps no exception object, and what is left is collected first.
    gc.collect()
    args = [str(free_port()) if a == "PORT" else a for a in args]
    result = CliRunner().invoke(cli, args, obj={})
    exception = result.exception
    crashed = "" if exception is None or isinstance(exception, SystemExit) else repr(exception)
    return Outcome(result.exit_code, result.stdout, result.stderr, crashed)


def no_traceback(result: Outcome) -> None:
    assert not result.crashed
    assert "Traceback" not in result.output


def one_line_and_exit_2(result: Outcome, expected: str) -> None:
    no_traceback(result)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and expected in lines[0] and lines[0].startswith("commercy: "), lines
    assert result.stdout == ""


@pytest.mark.parametrize("state", list(STATES))
def test_in_each_bad_state_every_command_refuses_in_one_line_or_works(place, state):
    make, refusing, expected = STATES[state]
    make(place)
    # The refusing ones first: `data generate` and the like may mend the state.
    for name, args in sorted(COMMANDS.items(), key=lambda item: item[0] not in refusing):
        if name not in refusing and name in LONG_RUNNING:
            continue
        result = invoke(args)
        if name in refusing:
            one_line_and_exit_2(result, expected)
        else:
            no_traceback(result)
            assert len(result.stderr.strip().splitlines()) <= 1, (name, result.stderr)


def test_a_warehouse_another_process_holds_is_one_line_naming_it_for_every_user(place):
    _good(place)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; held = duckdb.connect(sys.argv[1]); "
         "print('holding', flush=True); time.sleep(300)", "data/commercy.duckdb"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "holding"
        for name in sorted(WAREHOUSE_USERS):
            one_line_and_exit_2(
                invoke(COMMANDS[name]), f"in use by another process (PID {holder.pid}"
            )
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("name", list(BAD_FLAGS))
def test_a_bad_option_value_is_one_line_and_exit_2(place, name):
    _good(place)
    one_line_and_exit_2(invoke(BAD_FLAGS[name]), "commercy")


def test_readers_never_leave_a_new_warehouse_behind(place):
    invoke(COMMANDS["kpi query"])
    assert not (place / "data" / "commercy.duckdb").exists()


def test_a_real_process_on_a_folder_that_does_not_exist_prints_one_line(tmp_path):
    env = {**os.environ, "COMMERCY_DATABASE_URL": f"duckdb:///{tmp_path}/nowhere/commercy.duckdb"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "어제 매출"], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"commercy: no warehouse at {tmp_path}/nowhere/commercy.duckdb: run `commercy data "
        "generate` (a sample year) or `commercy data import-ga FILE`"
    ]


def test_inject_without_a_running_bot_says_to_start_it(place):
    _good(place)
    one_line_and_exit_2(invoke(COMMANDS["stream inject"]), "no running `commercy serve`")
