"""`commercy serve`: the bot's web app, and the Agents Playground beside it.

The Playground (npm @microsoft/m365agentsplayground, installed by `make`) stands in for
Teams on this machine: it sends Teams-shaped activities to /api/messages with no token
(so the bot runs with an empty MicrosoftAppId) and renders the cards in its web page.

The children (the Playground, the indexer) end with `serve`, however it ends. Each runs
in a process group of its own (so Ctrl+C in the terminal reaches `serve` alone, which
stops them in order) and, on Linux, with PR_SET_PDEATHSIG: when `serve` dies, even by
SIGKILL, the kernel sends each child SIGTERM. On SIGTERM or Ctrl+C `serve` signals all
children at once, then waits for them; a supervisor's SIGKILL after a slow stop leaves
nothing behind either.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app import WAREHOUSE, create_app
from bot.control import ControlServer
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


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent() -> Any:
    """A preexec_fn for a child that must not outlive this process: the kernel sends it
    SIGTERM when its parent thread dies (`serve` starts children from its main thread,
    which lives as long as the process). None where prctl does not exist."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    parent = os.getpid()

    def in_child() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took hold
            os._exit(1)

    return in_child


def _spawn(command: list[str], **options: Any) -> subprocess.Popen:
    # Its own session and group: Ctrl+C reaches `serve`, which stops it in order.
    return subprocess.Popen(
        command, start_new_session=True, preexec_fn=_die_with_parent(), **options
    )


def start_playground(bot_port: int, playground_port: int) -> subprocess.Popen:
    env = {**os.environ, "TEAMSAPPTESTER_BROWSER": "none"}
    return _spawn(
        playground_command(bot_port, playground_port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_indexer() -> subprocess.Popen:
    """`commercy indexer` on COMMERCY_DOCS_DIR: its own process (PyMuPDF work and a crash
    stay out of the bot), its lines on this console."""
    program = Path(sys.executable).parent / "commercy"
    command = [str(program), "indexer"] if program.exists() else [sys.executable, "-m",
               "bot.cli", "indexer"]  # fmt: skip
    return _spawn(command)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def stop(*processes: subprocess.Popen | None, timeout: float = 10) -> None:
    """SIGTERM to every child's group at once, then wait; SIGKILL what is left."""
    running = [p for p in processes if p is not None and p.poll() is None]
    for process in running:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()


class LiveReplay:
    """The sample store, live: today's minutes so far at full speed, then one minute of
    sessions every minute, written into the bot's warehouse from a background thread
    (DuckDB admits one writing process, so the replay lives in the bot's).

    `inject` adds an incident while it runs (`commercy stream inject`). One that began in
    the past has its minutes so far rewritten as they would have been with it: the replay
    thread deletes its own live sessions of those minutes and writes them again with the
    incident (the same seed gives the same rows elsewhere), so the next 5-minute risk
    check sees the incident over its whole look-back. Every write happens on the replay
    thread, between two minutes."""

    def __init__(self, warehouse: Warehouse, settings: Settings) -> None:
        self.warehouse, self.settings = warehouse, settings
        self.stopping = threading.Event()
        self.wakeup = threading.Event()
        self.incidents: list[Any] = []  # read by the running replay at each minute
        self.rewrites: list[tuple[Any, dt.datetime, threading.Event]] = []
        # The first minute the replay wrote (midnight of the day it started): the minutes
        # before it are the generated history, complete, never the replay's to rewrite.
        self.owned_from: dt.datetime | None = None
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="live-replay", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wakeup.set()
        self.thread.join(timeout=10)

    def inject(self, kind: str, *, in_minutes: int, minutes: int, wait: float = 60) -> str:
        """Add an incident starting `in_minutes` from now (negative: in the past) and
        lasting `minutes`; what was done, in a line or two."""
        from kpi.sample.stream import Incident

        if not self.thread.is_alive():
            raise ValueError("the live replay is not running (see the bot's log)")
        zone = self.settings.zone
        now = dt.datetime.now(zone).replace(second=0, microsecond=0)
        incident = Incident(kind, now + dt.timedelta(minutes=in_minutes), minutes)  # type: ignore[arg-type]
        done = threading.Event()
        with self.lock:
            self.incidents.append(incident)
            if incident.start < now:
                self.rewrites.append((incident, now, done))
            else:
                done.set()
        self.wakeup.set()
        line = (f"{kind} in the live replay from {incident.start:%H:%M} to "
                f"{incident.end:%H:%M} ({zone.key})")  # fmt: skip
        if not done.wait(wait):
            return line + "; the minutes before now follow once the replay has caught up"
        check = now + dt.timedelta(minutes=5 - now.minute % 5)
        return (f"{line}. The risk check at {check:%H:%M} looks at it; its alert card goes "
                "to every subscribed conversation.")  # fmt: skip

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            if self.stopping.is_set():
                raise KeyboardInterrupt  # replay() ends cleanly on it, the minute rolled back
            self._apply_rewrites()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self.wakeup.wait(remaining):
                self.wakeup.clear()

    def _apply_rewrites(self) -> None:
        from kpi.sample.stream import forget_live_minutes, replay

        with self.lock:
            pending, self.rewrites = self.rewrites, []
        for incident, until, done in pending:
            # An incident that began before the replay's first minute (just after midnight,
            # "--in -30") is rewritten from that minute on: yesterday's generated sessions
            # stay as they are, and none are added on top of them.
            start = max(incident.start, self.owned_from or incident.start)
            try:
                forgotten = forget_live_minutes(self.warehouse, start, until)
                span = max(0, int((until - start).total_seconds() // 60))
                report = replay(self.warehouse, start=start, minutes=span, speed=0,
                                zone=self.settings.zone, seed=0,
                                incidents=list(self.incidents))  # fmt: skip
                log.info("injected %s: %d live sessions rewritten as %d over %d minutes",
                         incident.label(), forgotten, report.sessions, span)  # fmt: skip
            except Exception:
                log.exception("could not rewrite the minutes of %s", incident.label())
            finally:
                done.set()

    def _run(self) -> None:
        from kpi.sample.stream import replay

        zone = self.settings.zone
        now = dt.datetime.now(zone).replace(second=0, microsecond=0)
        midnight = now.replace(hour=0, minute=0)
        self.owned_from = midnight
        try:
            self.warehouse.create_schema()  # the columns a warehouse from an older version lacks
            minutes_so_far = int((now - midnight).total_seconds() // 60)
            if minutes_so_far:
                replay(self.warehouse, start=midnight, minutes=minutes_so_far, speed=0,
                       zone=zone, seed=0, sleep=self._sleep,
                       incidents=self.incidents)  # fmt: skip
            if not self.stopping.is_set():
                self._apply_rewrites()
                replay(self.warehouse, start=now, minutes=None, speed=1.0, zone=zone, seed=0,
                       sleep=self._sleep, incidents=self.incidents)  # fmt: skip
        except Exception:
            log.exception("the live replay stopped")


def run(
    settings: Settings,
    *,
    port: int,
    playground_port: int | None,
    warehouse: Warehouse | None = None,
    state: Any = None,
    index: Any = None,
    commands: Any = None,
) -> None:
    """Serve until Ctrl+C or SIGTERM. `commands` (the `commercy` click group) enables the
    loopback control API through which the command line works beside the bot."""
    if settings.app_id and playground_port:
        log.warning(
            "MicrosoftAppId is set: the Playground sends no token, so it cannot talk to this bot"
        )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run is noise
    settings = settings.model_copy(update={"port": port})  # chart links, scheduler identity
    app = create_app(settings, scheduler=True, warehouse=warehouse, state=state, index=index)
    live = LiveReplay(app[WAREHOUSE], settings) if settings.replay else None
    if commands is not None:
        control = ControlServer(
            commands, database_url=settings.database_url, settings_type=Settings,
            objects=lambda: {"inside_bot": True, "warehouse": app[WAREHOUSE], "live": live},
        )  # fmt: skip

        async def start_control(_app: web.Application) -> None:
            await control.start()

        async def stop_control(_app: web.Application) -> None:
            await control.stop()

        app.on_startup.append(start_control)
        app.on_shutdown.append(stop_control)
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
        print("Live replay: new sessions arrive every minute (COMMERCY_REPLAY=false stops it); "
              "`commercy stream inject traffic_drop` makes an incident.", flush=True)  # fmt: skip
    if indexer is not None:
        print(
            f"Indexer: PDFs dropped into {settings.docs_dir}/ become answers "
            "(COMMERCY_INDEXER=false stops it).",
            flush=True,
        )
    print("Ctrl+C stops everything.", flush=True)
    try:
        # A short grace for open requests: a supervisor's SIGKILL follows a slow stop.
        web.run_app(app, host="0.0.0.0", port=port, print=None, access_log=None,
                    shutdown_timeout=5)  # fmt: skip
    finally:
        for process in (playground, indexer):  # they stop while the replay finishes its minute
            if process is not None and process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        if live is not None:
            live.stop()
        stop(playground, indexer)
        print("stopped.", flush=True)
