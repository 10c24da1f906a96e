"""`commercy serve`: the bot's web app, and the Agents Playground beside it.

The Playground (npm @microsoft/m365agentsplayground, installed by `make`) stands in for
Teams on this machine: it sends Teams-shaped activities to /api/messages with no token
(so the bot runs with an empty MicrosoftAppId) and renders the cards in its web page.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
from pathlib import Path

from aiohttp import web

from bot.app import create_app
from bot.settings import Settings

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


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def run(settings: Settings, *, port: int, playground_port: int | None) -> None:
    if settings.app_id and playground_port:
        log.warning(
            "MicrosoftAppId is set: the Playground sends no token, so it cannot talk to this bot"
        )
    app = create_app(settings)
    playground = start_playground(port, playground_port) if playground_port else None
    print(f"Commercy is listening on http://localhost:{port}/api/messages", flush=True)
    if playground is not None:
        print(
            f"Open the Agents Playground in a browser: http://localhost:{playground_port}",
            flush=True,
        )
    print("Ctrl+C stops everything.", flush=True)
    try:
        web.run_app(app, host="0.0.0.0", port=port, print=None, access_log=None)
    finally:
        stop(playground)
        print("stopped.", flush=True)
