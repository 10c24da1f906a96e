"""What people made of the risk alerts: "Not useful" clicks, and the clicks that show an
alert was acted on (Acknowledge, Why?) as "useful", one verdict per alert and person.

An admin reads the tally with `commercy alerts status` and turns a rule that people
keep marking not useful down with COMMERCY_ALERT_SENSITIVITY. The tally counts alerts,
not clicks: a person clicking twice, or five people marking the same alert, is one
alert marked.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from sqlalchemy import Connection, text

from bot.state.db import Database, insert_new

USEFUL, NOT_USEFUL = "useful", "not_useful"
VERDICTS = (USEFUL, NOT_USEFUL)
# `alerts status --days` reaches back at most this far; older marks and the alert log's
# older rows are deleted (a few hundred bytes an alert, so months cost nothing).
KEEP_DAYS = 90
KEEP_SECONDS = KEEP_DAYS * 86_400


@dataclass(frozen=True)
class ScopeTally:
    """One rule and scope over a period: alerts raised, and alerts people marked.

    An alert some marked useful and others not useful counts in both; `marked` counts
    it once."""

    rule: str
    scope: str
    raised: int
    useful: int
    not_useful: int
    marked: int


class Feedback:
    """People's verdicts on alerts, and the tally per rule and scope; short transactions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def mark(
        self,
        alert_id: str,
        *,
        rule: str,
        scope: str,
        conversation_id: str,
        user_id: str,
        user_name: str,
        verdict: str,
        now: float | None = None,
    ) -> bool:
        """Record one person's verdict on one alert; True when it changed what is stored.

        "not useful" replaces an earlier "useful" (Acknowledge, Why?) by the same person:
        a person who acted on an alert and then said it did not help meant the latter. A
        "useful" never replaces "not useful": acknowledging an alert (to clear it for the
        chat) is no judgement of it, the click on "Not useful" is. A second click of the
        same verdict changes nothing, so it is counted once."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        at = time.time() if now is None else now
        values = {
            "alert_id": alert_id,
            "user_id": user_id,
            "rule": rule,
            "scope": scope,
            "conversation_id": conversation_id,
            "user_name": user_name[:200],
            "verdict": verdict,
            "at": at,
        }
        key = "alert_id = :alert_id AND user_id = :user_id"

        def work(db: Connection) -> bool:
            db.execute(
                text("DELETE FROM alert_feedback WHERE marked_at < :old"),
                {"old": at - KEEP_SECONDS},
            )
            if verdict == NOT_USEFUL:
                changed = db.execute(
                    text(
                        "UPDATE alert_feedback SET verdict = :verdict, marked_at = :at, "
                        f"user_name = :user_name WHERE {key} AND verdict <> :verdict"
                    ),
                    values,
                ).rowcount
                if changed:
                    return True
            return bool(
                insert_new(
                    db,
                    "alert_feedback",
                    key,
                    "(alert_id, user_id, rule, scope, conversation_id, user_name, verdict, "
                    "marked_at)",
                    ":alert_id, :user_id, :rule, :scope, :conversation_id, :user_name, "
                    ":verdict, :at",
                    values,
                )
            )

        return self.db.retrying(work)

    def verdicts(self, alert_id: str) -> dict[str, str]:
        """user id -> verdict, for one alert."""
        with self.db.transaction() as db:
            rows = db.execute(
                text("SELECT user_id, verdict FROM alert_feedback WHERE alert_id = :id"),
                {"id": alert_id},
            ).all()
        return {user: verdict for user, verdict in rows}

    def tally(self, since: float) -> list[ScopeTally]:
        """Per rule and scope, sorted: the alerts raised since `since` (epoch seconds) and
        the alerts marked since then. Rules and scopes with neither are left out."""
        raised: dict[tuple[str, str], set[str]] = {}
        marked: dict[tuple[str, str], dict[str, set[str]]] = {}
        with self.db.transaction() as db:
            for alert_id, rule, scope in db.execute(
                text("SELECT alert_id, rule, scope FROM alert_log WHERE raised_at >= :since"),
                {"since": since},
            ):
                raised.setdefault((rule, scope), set()).add(alert_id)
            # Alerts raised before the log existed are still in the week-long cooldown
            # table: read them too, so the first week after an upgrade is not undercounted.
            for alert_id, alert in db.execute(
                text("SELECT alert_id, alert FROM raised_alerts WHERE raised_at >= :since"),
                {"since": since},
            ):
                data = _json(alert)
                if data.get("rule") and not data.get("episode_id"):
                    key = (str(data["rule"]), str(data.get("scope", "")))
                    raised.setdefault(key, set()).add(alert_id)
            for alert_id, rule, scope, verdict in db.execute(
                text(
                    "SELECT alert_id, rule, scope, verdict FROM alert_feedback "
                    "WHERE marked_at >= :since"
                ),
                {"since": since},
            ):
                marked.setdefault((rule, scope), {}).setdefault(verdict, set()).add(alert_id)
        tallies = []
        for rule, scope in sorted(set(raised) | set(marked)):
            verdicts = marked.get((rule, scope), {})
            useful, not_useful = verdicts.get(USEFUL, set()), verdicts.get(NOT_USEFUL, set())
            tallies.append(
                ScopeTally(
                    rule=rule,
                    scope=scope,
                    raised=len(raised.get((rule, scope), ())),
                    useful=len(useful),
                    not_useful=len(not_useful),
                    marked=len(useful | not_useful),
                )
            )
        return tallies


def _json(value: str) -> dict:
    try:
        data = json.loads(value)
    except ValueError:  # a damaged row: not worth failing the whole status for
        return {}
    return data if isinstance(data, dict) else {}
