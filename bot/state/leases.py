"""Leases: which bot instance leads, so the scheduled jobs run once however many run.

Every bot instance takes the "scheduler" lease before running a scheduled job; only the
holder of an unexpired lease runs it, and a crashed leader's lease lapses after its TTL.
"""

from __future__ import annotations

import time

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.state.db import Database, insert_new


class Leases:
    """Named leases with a holder and an expiry; short transactions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def acquire(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Take or renew the lease `name` for `holder`; True while `holder` leads.

        The take is one conditional UPDATE (atomic in SQLite and Azure SQL alike); the
        first lease ever is an insert, and of two instances inserting it, one wins.
        """
        now = time.time()
        values = {"name": name, "holder": holder, "now": now, "until": now + ttl_seconds}
        try:
            with self.db.transaction() as db:
                taken = db.execute(
                    text(
                        "UPDATE leases SET holder = :holder, expires_at = :until "
                        "WHERE name = :name AND (holder = :holder OR expires_at < :now)"
                    ),
                    values,
                ).rowcount
                if taken:
                    return True
                return bool(
                    insert_new(
                        db,
                        "leases",
                        "name = :name",
                        "(name, holder, expires_at)",
                        ":name, :holder, :until",
                        values,
                    )
                )
        except IntegrityError:  # another instance took it first
            return False

    def release(self, name: str, holder: str) -> None:
        with self.db.transaction() as db:
            db.execute(
                text("DELETE FROM leases WHERE name = :name AND holder = :holder"),
                {"name": name, "holder": holder},
            )
