"""What the alert rules remember between runs, and what people silenced.

The alerts raised in the last week (each rule's cooldown reads them, across restarts and
leaders), a lighter log of them kept for months (`commercy alerts status` sets it against
people's verdicts), the last 5-minute window the rules checked (so a bot back from
downtime checks the windows it missed), and the snoozes set with "Snooze 1 h" on an
alert card.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

from bot.state.db import Database, insert_new
from bot.state.feedback import KEEP_SECONDS as FEEDBACK_KEEP_SECONDS
from bot.state.ledger import apply_update, delivery_row

# The mark the risk check leaves: the end of the last window it checked, ISO 8601.
RISK_CHECK = "risk_check"
# The cooldowns read the last day (bot/jobs.py); older alerts are deleted after a week.
KEEP_SECONDS = 7 * 86_400
# The alert log (rule, scope, severity, time) is kept as long as people's verdicts.
LOG_KEEP_SECONDS = FEEDBACK_KEEP_SECONDS


class Alerts:
    """Raised alerts, the last window checked, and snoozes; short transactions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        alerts: list[dict[str, Any]],
        deliveries: Sequence[tuple[str, str, dict[str, Any], str]] = (),
        *,
        updates: Sequence[tuple[str, str, str, dict[str, Any], str]] = (),
        checked: str | None = None,
    ) -> list[str]:
        """In one transaction: the alerts the rules raised (for their cooldowns), their
        cards in the ledger as (key, conversation, card, summary), the later alerts of
        episodes already carded as (alert id, episode id, conversation, card, summary)
        (bot/state/ledger.py `apply_update`), and the last window checked. A crash leaves
        all of it or none: never an alert recorded (so its cooldown silences it) without
        its cards. Returns apply_update's outcome for each of `updates`."""
        now = time.time()
        outcomes: list[str] = []

        def work(db: Connection) -> None:
            outcomes.clear()  # retrying() may run this twice
            for alert in alerts:
                insert_new(
                    db,
                    "raised_alerts",
                    "alert_id = :id",
                    "(alert_id, alert, raised_at)",
                    ":id, :alert, :now",
                    {"id": alert["alert_id"], "alert": json.dumps(alert), "now": now},
                )
                # The cooldowns need a week of whole alerts; `commercy alerts status`
                # needs months of a few columns, to set against people's verdicts, per
                # card: an episode's later checks update its card and are not counted.
                if alert.get("episode_id"):
                    continue
                insert_new(
                    db,
                    "alert_log",
                    "alert_id = :id",
                    "(alert_id, rule, scope, severity, raised_at)",
                    ":id, :rule, :scope, :severity, :now",
                    {
                        "id": alert["alert_id"],
                        "rule": str(alert.get("rule", "")),
                        "scope": str(alert.get("scope", "")),
                        "severity": str(alert.get("severity", "")),
                        "now": now,
                    },
                )
            db.execute(
                text("DELETE FROM raised_alerts WHERE raised_at < :old"),
                {"old": now - KEEP_SECONDS},
            )
            db.execute(
                text("DELETE FROM alert_log WHERE raised_at < :old"),
                {"old": now - LOG_KEEP_SECONDS},
            )
            for key, conversation_id, card, summary in deliveries:
                insert_new(db, *delivery_row(key, conversation_id, card, summary))
            for update in updates:
                outcomes.append(apply_update(db, *update))
            if checked is not None:
                _set_mark(db, RISK_CHECK, checked)

        self.db.retrying(work)
        return list(outcomes)

    def recent(self, seconds: float) -> list[dict[str, Any]]:
        """The alerts raised in the last `seconds`, oldest first, as Alert.to_dict()."""
        with self.db.transaction() as db:
            rows = db.execute(
                text(
                    "SELECT alert FROM raised_alerts WHERE raised_at >= :since ORDER BY raised_at"
                ),
                {"since": time.time() - seconds},
            ).all()
        return [json.loads(row[0]) for row in rows]

    def checked(self) -> str | None:
        """The end of the last window the rules checked (`record(checked=...)`), or None."""
        with self.db.transaction() as db:
            row = db.execute(
                text("SELECT value FROM marks WHERE name = :name"), {"name": RISK_CHECK}
            ).first()
        return row[0] if row else None

    def snooze(self, conversation_id: str, rule: str, scope: str, seconds: float) -> None:
        values = {
            "id": conversation_id,
            "rule": rule,
            "scope": scope,
            "until": time.time() + seconds,
        }
        where = "conversation_id = :id AND rule = :rule AND scope = :scope"

        def work(db: Connection) -> None:
            if not db.execute(
                text(f"UPDATE snoozes SET until = :until WHERE {where}"), values
            ).rowcount:
                insert_new(
                    db,
                    "snoozes",
                    where,
                    "(conversation_id, rule, scope, until)",
                    ":id, :rule, :scope, :until",
                    values,
                )

        self.db.retrying(work)

    def snoozed(self, conversation_id: str, rule: str, scope: str) -> bool:
        with self.db.transaction() as db:
            row = db.execute(
                text(
                    "SELECT until FROM snoozes "
                    "WHERE conversation_id = :id AND rule = :rule AND scope = :scope"
                ),
                {"id": conversation_id, "rule": rule, "scope": scope},
            ).first()
        return bool(row and row[0] > time.time())


def _set_mark(db: Connection, name: str, value: str) -> None:
    values = {"name": name, "value": value}
    if not db.execute(text("UPDATE marks SET value = :value WHERE name = :name"), values).rowcount:
        insert_new(db, "marks", "name = :name", "(name, value)", ":name, :value", values)
