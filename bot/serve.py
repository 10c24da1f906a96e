"""`commercy serve`: the bot's web app, and the Agents Playground beside it.

The Playground (npm @microsoft/m365agentsplayground, installed by `make`) stands in for
Teams on this machine: it sends Teams-shaped activities to /api/messages with no token
(so the bot runs with an empty MicrosoftAppId) and renders the cards in its web page.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from aiohttp import web

from bot.app import WAREHOUSE, create_app
from bot.settings import Settings
from kpi.storage.warehouse import Warehouse

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]


def playground_command(bot_port: int, playground_port: int) -> list[str]:
    local = ROOT / "node_modules" / ".bin" / "agentsplayground"
    program = str(local) if local.exists() else shutil.which("agentsplayground")
    if program is None:
        raise FileNotFoundError(
            "the Agents Playground is not installed; run `make setup` (it runs npm install)"
        )
    return [program, "-e", f"http://127.0.0.1:{bot_port}/api/messages", "-c", "msteams",
            "-p", str(playground_port), "--disable-telemetry"]  # fmt: skip


def start_playground(bot_port: int, playground_port: int) -> subprocess.Popen:
    env = {**os.environ, "TEAMSAPPTESTER_BROWSER": "none"}
    return subprocess.Popen(
        playground_command(bot_port, playground_port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl+C reaches us; we stop it ourselves, cleanly
    )


def start_indexer() -> subprocess.Popen:
    """`commercy indexer` on COMMERCY_DOCS_DIR: its own process (PyMuPDF work and a crash
    stay out of the bot), its lines on this console."""
    program = Path(sys.executable).parent / "commercy"
    command = [str(program), "indexer"] if program.exists() else [sys.executable, "-m",
               "bot.cli", "indexer"]  # fmt: skip
    return subprocess.Popen(command, start_new_session=True)


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


class LiveReplay:
    """The sample store, live: today's minutes so far at full speed, then one minute of
    sessions every minute, written into the bot's warehouse from a background thread
    (DuckDB admits one writing process, so the replay lives in the bot's)."""

    def __init__(self, warehouse: Warehouse, settings: Settings) -> None:
        self.warehouse, self.settings = warehouse, settings
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="live-replay", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)

    def _sleep(self, seconds: float) -> None:
        if self.stopping.wait(seconds):
            raise KeyboardInterrupt  # replay() ends cleanly on it, the minute rolled back

    def _run(self) -> None:
        from kpi.sample.stream import replay

        zone = self.settings.zone
        now = dt.datetime.now(zone).replace(second=0, microsecond=0)
        midnight = now.replace(hour=0, minute=0)
        try:
            self.warehouse.create_schema()  # the columns a warehouse from an older version lacks
            minutes_so_far = int((now - midnight).total_seconds() // 60)
            if minutes_so_far:
                replay(self.warehouse, start=midnight, minutes=minutes_so_far, speed=0,
                       zone=zone, seed=0, sleep=self._sleep)  # fmt: skip
            if not self.stopping.is_set():
                replay(self.warehouse, start=now, minutes=None, speed=1.0, zone=zone, seed=0,
                       sleep=self._sleep)  # fmt: skip
        except Exception:
            log.exception("the live replay stopped")


def run(settings: Settings, *, port: int, playground_port: int | None) -> None:
    if settings.app_id and playground_port:
        log.warning(
            "MicrosoftAppId is set: the Playground sends no token, so it cannot talk to this bot"
        )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run is noise
    settings = settings.model_copy(update={"port": port})  # chart links, scheduler identity
    app = create_app(settings, scheduler=True)
    live = LiveReplay(app[WAREHOUSE], settings) if settings.replay else None
    playground = start_playground(port, playground_port) if playground_port else None
    indexer = start_indexer() if settings.indexer else None
    print(f"Commercy is listening on http://localhost:{port}/api/messages", flush=True)
    print(f"The KPI dashboard (the app's tab): http://localhost:{port}/tab", flush=True)
    if playground is not None:
        print(
            f"Open the Agents Playground in a browser: http://localhost:{playground_port}",
            flush=True,
        )
    if live is not None:
        live.start()
        print("Live replay: new sessions arrive every minute (COMMERCY_REPLAY=false stops it).")
    if indexer is not None:
        print(
            f"Indexer: PDFs dropped into {settings.docs_dir}/ become answers "
            "(COMMERCY_INDEXER=false stops it).",
            flush=True,
        )
    print("Ctrl+C stops everything.", flush=True)
    try:
        web.run_app(app, host="0.0.0.0", port=port, print=None, access_log=None)
    finally:
        if live is not None:
            live.stop()
        stop(playground)
        stop(indexer)
        print("stopped.", flush=True)
