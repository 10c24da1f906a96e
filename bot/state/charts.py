"""Chart images: the PNGs answer cards link to (GET /charts/{id}.png).

Stored in the state database, not on a disk, so whichever bot instance a link reaches can
serve it; each expires after COMMERCY_CHART_TTL_SECONDS and is deleted on a later save.
"""

from __future__ import annotations

import secrets
import time

from sqlalchemy import text

from bot.state.db import Database, charts


class Charts:
    """PNG images behind unguessable, expiring ids; short transactions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, png: bytes, ttl_seconds: int) -> str:
        """Store a PNG and return its id: 128 random bits, so ids cannot be guessed."""
        chart_id = secrets.token_urlsafe(16)
        now = time.time()
        with self.db.transaction() as db:
            db.execute(text("DELETE FROM charts WHERE expires_at < :now"), {"now": now})
            db.execute(
                charts.insert().values(chart_id=chart_id, png=png, expires_at=now + ttl_seconds)
            )
        return chart_id

    def get(self, chart_id: str) -> bytes | None:
        """The PNG, or None when the id is unknown or its link has expired."""
        with self.db.transaction() as db:
            row = db.execute(
                text("SELECT png FROM charts WHERE chart_id = :id AND expires_at >= :now"),
                {"id": chart_id, "now": time.time()},
            ).first()
        return bytes(row[0]) if row else None
