"""The state store that bot instances share: one SQLite file here, Azure SQL when the bot
scales out (`COMMERCY_STATE_URL=mssql+pyodbc://...`). There is no SQL Server on this
machine, so what is tested here is what can be: several stores (as several instances) on
one database racing for the same keys, every statement the store runs written in the
subset both databases speak (parsed as T-SQL by sqlglot), and the tables' DDL compiled
for SQL Server with indexable keys."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlglot
from sqlalchemy import event
from sqlalchemy.dialects import mssql
from sqlalchemy.schema import CreateTable

from bot.state import StateStore, metadata

NOT_PORTABLE = ("LIMIT ", "ON CONFLICT", "OR IGNORE", "USING (", "EXCLUDED.", "BEGIN IMMEDIATE",
                "REPLACE INTO")  # fmt: skip


def instances(tmp_path: Path, n: int) -> list[StateStore]:
    url = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    return [StateStore.from_url(url) for _ in range(n)]


def race(calls) -> list:
    results: list = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i: int) -> None:
        start.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_a_teams_retry_reaching_another_instance_is_answered_once(tmp_path) -> None:
    stores = instances(tmp_path, 4)
    firsts = race([lambda s=s: s.first_time("conv", "activity-1") for s in stores * 3])
    assert firsts.count(True) == 1


def test_one_instance_leads_and_another_takes_over_when_its_lease_lapses(tmp_path) -> None:
    stores = instances(tmp_path, 4)
    leaders = race([lambda s=s, i=i: s.acquire_lease("scheduler", f"host-{i}", 60)
                    for i, s in enumerate(stores)])  # fmt: skip
    assert leaders.count(True) == 1
    leader = leaders.index(True)
    assert stores[leader].acquire_lease("scheduler", f"host-{leader}", 60)  # renews
    other = (leader + 1) % len(stores)
    assert not stores[other].acquire_lease("scheduler", f"host-{other}", 60)
    assert stores[leader].acquire_lease("scheduler", f"host-{leader}", -1)  # lapses at once
    assert stores[other].acquire_lease("scheduler", f"host-{other}", 60)


def test_a_card_enqueued_by_two_instances_is_delivered_once(tmp_path) -> None:
    stores = instances(tmp_path, 3)
    added = race([lambda s=s: s.enqueue("alert-1", ["a", "b"], {"type": "AdaptiveCard"}, "x")
                  for s in stores])  # fmt: skip
    assert sum(added) == 2
    assert len(stores[0].due_deliveries()) == 2


def test_what_one_instance_writes_the_others_read(tmp_path) -> None:
    first, second = instances(tmp_path, 2)
    first.save_conversation("conv", {"serviceUrl": "https://x"}, scope="team", lang="en")
    first.save_last_query("conv", {"metrics": ["revenue"]})
    first.snooze("conv", "traffic_drop", "all", 3600)
    second.save_conversation("conv", {"serviceUrl": "https://y"}, scope="team")
    stored = second.conversation("conv")
    assert stored.reference == {"serviceUrl": "https://y"} and stored.lang == "en"
    assert second.last_query("conv") == {"metrics": ["revenue"]}
    assert second.snoozed("conv", "traffic_drop", "all")


def test_every_statement_is_in_the_sql_both_databases_speak(tmp_path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    seen: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    store.save_conversation("c", {"r": 1}, scope="personal", lang="ko")
    store.save_conversation("c", {"r": 2}, scope="personal")
    store.first_welcome("c")
    store.subscribe("c")
    store.set_alerts("c", False)
    store.set_summary_time("c", "08:30")
    store.subscribers(alerts=False, summary_time="08:30")
    store.first_time("c", "a1")
    store.save_last_query("c", {"q": 1})
    store.save_last_query("c", {"q": 2})
    store.last_query("c")
    store.record_alerts([{"alert_id": "x"}], [("x", "c", {"card": 1}, "s")], checked="w1")
    store.record_alerts([], checked="w2")
    delivery = store.due_deliveries()[0]
    store.mark_sending(delivery)
    store.settle_in_doubt()
    store.retry_later(delivery, 0)
    store.mark_sent(delivery, "act-1")
    store.delivery_counts()
    store.snooze("c", "r", "s", 60)
    store.snooze("c", "r", "s", 120)
    store.acquire_lease("scheduler", "h", 60)
    store.release_lease("scheduler", "h")
    store.save_example("q", {"in_catalog": True})
    store.save_chart(b"\x89PNG", 60)
    store.forget_conversation("c")
    statements = {s for s in seen if not s.startswith("PRAGMA")}
    assert len(statements) > 25
    for statement in statements:
        assert not [k for k in NOT_PORTABLE if k in statement.upper()], statement
        sqlglot.parse_one(statement, read="tsql")  # raises on what T-SQL cannot read


def test_the_tables_compile_for_azure_sql_with_indexable_keys() -> None:
    for table in metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=mssql.dialect()))
        assert "TEXT" not in ddl.replace("NVARCHAR(max)", "")  # no deprecated TEXT/NTEXT
        key_bytes = sum(c.type.length or 0 for c in table.primary_key.columns)
        assert key_bytes <= 900, table.name  # Azure SQL's limit for a clustered key


@pytest.mark.parametrize("url", ["postgresql://db/state", "redis://cache"])
def test_an_unsupported_state_url_is_refused(url) -> None:
    with pytest.raises(ValueError, match="sqlite:///PATH or mssql"):
        StateStore.from_url(url)
