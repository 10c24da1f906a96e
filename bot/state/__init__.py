"""The bot's own state: what must survive a restart and be shared by every bot instance.

A few focused stores over one database (`db`: the tables and the engine):

- `conversations`: conversation references (where proactive cards go), with the
  conversation's language and scope; welcomes; subscriptions (alerts, summary time);
- `ledger`: the delivery ledger, every proactive card once per conversation;
- `alerts`: raised alerts for the cooldowns, the last window checked, snoozes;
- `feedback`: people's verdicts on alerts ("Not useful", or acted on), and their tally;
- `leases`: the scheduler's lease, one leader among the instances;
- `memory`: activity ids already answered, the last query of each conversation,
  confirmed examples;
- `charts`: chart images behind expiring links;
- `answers`: the answers sent and the 👍/👎 people gave them.

`State` opens the database once and hands each store the same engine, so the composition
root opens one thing and every caller takes the store it needs.
"""

from __future__ import annotations

from pathlib import Path

from bot.state.alerts import Alerts
from bot.state.answers import Answers
from bot.state.charts import Charts
from bot.state.conversations import Conversations
from bot.state.db import Database
from bot.state.feedback import Feedback
from bot.state.leases import Leases
from bot.state.ledger import Ledger
from bot.state.memory import Memory


class State:
    """The stores over one database; every method is a short transaction, thread-safe."""

    def __init__(self, location: str | Path) -> None:
        """`location`: a SQLite file path, or a URL (sqlite:///PATH, mssql+pyodbc://...)."""
        self.db = Database(location)
        self.conversations = Conversations(self.db)
        self.ledger = Ledger(self.db)
        self.alerts = Alerts(self.db)
        self.feedback = Feedback(self.db)
        self.leases = Leases(self.db)
        self.memory = Memory(self.db)
        self.charts = Charts(self.db)
        self.answers = Answers(self.db)

    @classmethod
    def from_url(cls, url: str) -> State:
        return cls(url)

    def ping(self) -> None:
        """Raises when the database cannot be reached (GET /healthz)."""
        self.db.ping()

    def close(self) -> None:
        self.db.close()
