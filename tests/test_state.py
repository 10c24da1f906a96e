"""The state store that bot instances share: one SQLite file here, Azure SQL when the bot
scales out (`COMMERCY_STATE_URL=mssql+pyodbc://...`). There is no SQL Server on this
machine, so what is tested here is what can be: several stores (as several instances) on
one database racing for the same keys, every statement the store runs written in the
subset both databases speak (parsed as T-SQL by sqlglot), and the tables' DDL compiled
for SQL Server with indexable keys."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import sqlglot
from sqlalchemy import event
from sqlalchemy.dialects import mssql
from sqlalchemy.schema import CreateTable

from bot.state import State
from bot.state.db import metadata

NOT_PORTABLE = ("LIMIT ", "ON CONFLICT", "OR IGNORE", "USING (", "EXCLUDED.", "BEGIN IMMEDIATE",
                "REPLACE INTO")  # fmt: skip


def instances(tmp_path: Path, n: int) -> list[State]:
    url = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    return [State.from_url(url) for _ in range(n)]


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
    firsts = race([lambda s=s: s.memory.first_time("conv", "activity-1") for s in stores * 3])
    assert firsts.count(True) == 1


def test_one_instance_leads_and_another_takes_over_when_its_lease_lapses(tmp_path) -> None:
    stores = instances(tmp_path, 4)
    leaders = race([lambda s=s, i=i: s.leases.acquire("scheduler", f"host-{i}", 60)
                    for i, s in enumerate(stores)])  # fmt: skip
    assert leaders.count(True) == 1
    leader = leaders.index(True)
    assert stores[leader].leases.acquire("scheduler", f"host-{leader}", 60)  # renews
    other = (leader + 1) % len(stores)
    assert not stores[other].leases.acquire("scheduler", f"host-{other}", 60)
    assert stores[leader].leases.acquire("scheduler", f"host-{leader}", -1)  # lapses at once
    assert stores[other].leases.acquire("scheduler", f"host-{other}", 60)


def test_a_card_enqueued_by_two_instances_is_delivered_once(tmp_path) -> None:
    stores = instances(tmp_path, 3)
    added = race([lambda s=s: s.ledger.enqueue("alert-1", ["a", "b"], {"type": "AdaptiveCard"}, "x")
                  for s in stores])  # fmt: skip
    assert sum(added) == 2
    assert len(stores[0].ledger.due()) == 2


def test_what_one_instance_writes_the_others_read(tmp_path) -> None:
    first, second = instances(tmp_path, 2)
    first.conversations.save("conv", {"serviceUrl": "https://x"}, scope="team", lang="en")
    first.memory.save_last_query("conv", {"metrics": ["revenue"]})
    first.alerts.snooze("conv", "traffic_drop", "all", 3600)
    second.conversations.save("conv", {"serviceUrl": "https://y"}, scope="team")
    stored = second.conversations.get("conv")
    assert stored.reference == {"serviceUrl": "https://y"} and stored.lang == "en"
    assert second.memory.last_query("conv") == {"metrics": ["revenue"]}
    assert second.alerts.snoozed("conv", "traffic_drop", "all")


def test_every_statement_is_in_the_sql_both_databases_speak(tmp_path) -> None:
    store = State(tmp_path / "state.sqlite3")
    seen: list[str] = []
    event.listen(store.db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    store.conversations.save("c", {"r": 1}, scope="personal", lang="ko")
    store.conversations.save("c", {"r": 2}, scope="personal")
    store.conversations.first_welcome("c")
    store.conversations.subscribe("c")
    store.conversations.set_alerts("c", False)
    store.conversations.set_summary_time("c", "08:30")
    store.conversations.subscribers(alerts=False, summary_time="08:30")
    store.memory.first_time("c", "a1")
    store.memory.save_last_query("c", {"q": 1})
    store.memory.save_last_query("c", {"q": 2})
    store.memory.last_query("c")
    store.alerts.record([{"alert_id": "x"}], [("x", "c", {"card": 1}, "s")], checked="w1")
    store.alerts.record([], checked="w2")
    delivery = store.ledger.due()[0]
    store.ledger.mark_sending(delivery)
    store.ledger.settle_in_doubt()
    store.ledger.retry_later(delivery, 0)
    store.ledger.mark_sent(delivery, "act-1")
    store.ledger.counts()
    store.ledger.conversations_with("x")
    store.ledger.update("y", "x", "c", {"card": 2}, "s2")  # issue 19: an in-place update
    store.ledger.update("z", "x", "c", {"card": 3}, "s3")  # supersedes the pending one
    update = store.ledger.due()[0]
    store.ledger.pending(update)
    store.ledger.posted("x", "c")
    store.ledger.acknowledge("x", "c", "Marketer", "2026-11-24T05:00:00+00:00")
    store.ledger.mark_sent(update, "act-1")
    store.alerts.snooze("c", "r", "s", 60)
    store.alerts.snooze("c", "r", "s", 120)
    store.leases.acquire("scheduler", "h", 60)
    store.leases.release("scheduler", "h")
    store.memory.save_example("q", {"in_catalog": True})
    store.charts.save(b"\x89PNG", 60)
    store.alerts.record([{"alert_id": "a", "rule": "r", "scope": "s", "severity": "warning"}])
    for verdict in ("useful", "not_useful", "not_useful"):
        store.feedback.mark("a", rule="r", scope="s", conversation_id="c", user_id="u",
                            user_name="n", verdict=verdict)  # fmt: skip
    store.feedback.verdicts("a")
    store.feedback.tally(0)
    store.conversations.forget("c")
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
        State.from_url(url)


def test_a_state_file_from_before_escalation_gains_the_new_columns_and_keeps_its_rows(
    tmp_path,
) -> None:
    """The deliveries table as it was before issue 19 (no kind, episode or acknowledgement
    columns), with a card already sent: opening it adds the columns, and the sent card
    can then be updated in place."""
    path = tmp_path / "state.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE deliveries (delivery_key VARCHAR(200) NOT NULL, "
            "conversation_id VARCHAR(250) NOT NULL, card TEXT NOT NULL, summary TEXT NOT NULL, "
            "status VARCHAR(16) NOT NULL, attempts INTEGER DEFAULT '0' NOT NULL, "
            "next_attempt_at FLOAT NOT NULL, activity_id VARCHAR(450), created_at FLOAT NOT NULL, "
            "sent_at FLOAT, PRIMARY KEY (delivery_key, conversation_id))"
        )
        db.execute("INSERT INTO deliveries VALUES ('a1', 'c', '{}', 's', 'sent', 1, 0, 'm1', 0, 0)")
    store = State(path)
    assert store.ledger.counts() == {"sent": 1}
    assert store.ledger.conversations_with("a1") == ["c"]
    assert store.ledger.update("a2", "a1", "c", {"v": 2}, "s2") == "queued"
    [update] = store.ledger.due()
    assert (update.kind, update.episode_key, update.target_activity_id) == ("update", "a1", "m1")
    store.close()
    State(path).close()  # opening it again adds nothing and fails on nothing
