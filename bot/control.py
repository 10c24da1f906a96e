"""The running bot's loopback control API, and how the command line reaches it.

DuckDB admits one writing process, and while `commercy serve` runs that process is the
bot (its live replay writes every minute). So while a bot holds the warehouse, a
`commercy` command that needs the warehouse runs *inside* the bot: the command line
finds the bot's control file next to the warehouse (`data/commercy.duckdb.serve.json`:
the bot's pid, a loopback URL and a random token; readable by its owner only), sends
its arguments, its settings and its working folder, and the bot runs the very same click
command in a worker thread against its own open warehouse, returning what the command
printed and its exit code. The numbers are the same as with the bot stopped because the
code and the data are.

What the API can do is exactly what the command line can: it runs only the commands of
`FORWARDED` (never `serve`, never the indexer), each through its ordinary checks (the
catalog, the periods, the SQL guard for model-written SQL). There is no SQL endpoint.
It listens on 127.0.0.1 only, on a port of the system's choosing, and answers only a
request carrying the token; the token file is mode 0600.

With Azure SQL the warehouse is a server many processes share, so the command line
connects to it directly and uses the bot only for what lives in the bot: `stream inject`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import io
import json
import logging
import os
import secrets
import sys
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

# The commands that run inside a running bot: those that read or write the warehouse,
# and `stream inject`, which only a running bot can do.
FORWARDED: frozenset[tuple[str, ...]] = frozenset({
    ("data", "init"), ("data", "generate"), ("data", "stats"), ("data", "import-ga"),
    ("kpi", "query"), ("kpi", "summary"), ("kpi", "why"), ("ask",),
    ("alerts", "evaluate"), ("stream", "replay"), ("stream", "inject"),
})  # fmt: skip
# Only the bot can inject: with Azure SQL (no file lock) the rest connects directly.
BOT_ONLY: frozenset[tuple[str, ...]] = frozenset({("stream", "inject")})
MAX_REQUEST_BYTES = 1024 * 1024
PING_TIMEOUT_SECONDS = 5


def command_path(argv: list[str]) -> tuple[str, ...] | None:
    """The forwarded command `argv` invokes (("kpi", "query"), ("ask",)), or None."""
    for length in (2, 1):
        if tuple(argv[:length]) in FORWARDED:
            return tuple(argv[:length])
    return None


# -- where the control file lives ------------------------------------------------------


def control_path(database_url: str, cwd: Path | None = None) -> Path:
    """The control file of the bot serving this warehouse: beside a DuckDB file (so the
    bot and the command line agree on it from any folder), else in `data/` named by
    the URL."""
    base = cwd or Path.cwd()
    parsed = make_url(database_url)
    if parsed.drivername == "duckdb" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database).expanduser()
        path = path if path.is_absolute() else base / path
        return path.with_name(path.name + ".serve.json")
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return base / "data" / f"serve-{digest}.json"


def uses_file_lock(database_url: str) -> bool:
    return make_url(database_url).drivername == "duckdb"


def goes_through_the_bot(command: tuple[str, ...], database_url: str) -> bool:
    """Whether a running bot runs this command: every warehouse command on a DuckDB file
    (one writing process), only `stream inject` on a shared server."""
    return command in BOT_ONLY or (command in FORWARDED and uses_file_lock(database_url))


@dataclass(frozen=True)
class BotAddress:
    pid: int
    url: str
    token: str


def write_control_file(path: Path, address: BotAddress) -> None:
    """Written whole (a temporary file renamed over it), readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump({"pid": address.pid, "url": address.url, "token": address.token}, file)
    os.replace(temporary, path)


def remove_control_file(path: Path, token: str) -> None:
    """Remove the file if it is still this bot's (a second bot may have replaced it)."""
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("token") == token:
            path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find_bot(database_url: str) -> BotAddress | None:
    """The bot serving this warehouse, if one runs and answers; None otherwise (no file,
    a file left by a bot that was killed, a bot that does not answer)."""
    path = control_path(database_url)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        address = BotAddress(int(data["pid"]), str(data["url"]), str(data["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(address.pid):
        return None
    request = urllib.request.Request(
        f"{address.url}/control/ping", headers={"Authorization": f"Bearer {address.token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=PING_TIMEOUT_SECONDS) as response:
            return address if response.status == 200 else None
    except (OSError, urllib.error.URLError):
        return None


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


def forward(address: BotAddress, argv: list[str], settings: dict[str, Any]) -> Outcome:
    """Run `commercy ARGV` inside the bot; what it printed and its exit code."""
    body = json.dumps({"argv": argv, "settings": settings, "cwd": str(Path.cwd())}).encode()
    request = urllib.request.Request(
        f"{address.url}/control/run",
        data=body,
        headers={"Authorization": f"Bearer {address.token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=None) as response:
            data = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", str(exc))
        except ValueError:
            message = str(exc)
        return Outcome(2, "", f"commercy: the running bot refused the command: {message}\n")
    except (OSError, ValueError) as exc:
        return Outcome(
            1, "", f"commercy: the running bot (PID {address.pid}) stopped answering: "
            f"{type(exc).__name__}; try again\n",
        )  # fmt: skip
    return Outcome(int(data["code"]), data["stdout"], data["stderr"])


def absolute_paths(values: dict[str, Any], cwd: Path) -> dict[str, Any]:
    """Settings whose relative paths are made absolute against `cwd`: the bot runs the
    command from its own folder, which may not be the caller's."""
    out = dict(values)
    for key, value in values.items():
        if not isinstance(value, str) or not value:
            continue
        for scheme in ("sqlite:///", "duckdb:///"):
            rest = value[len(scheme) :]
            if value.startswith(scheme) and rest and not rest.startswith((":", "/")):
                out[key] = scheme + str(cwd / rest)
        if key in PATH_SETTINGS and not Path(value).is_absolute():
            out[key] = str(cwd / value)
    return out


PATH_SETTINGS = ("news_path", "docs_dir", "news_topics")


# -- output, per thread ----------------------------------------------------------------


class _PerThreadStream:
    """sys.stdout / sys.stderr in the bot: a thread running a forwarded command writes
    into its own buffer; every other thread writes where it always did."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, original: Any) -> None:
        self._original = original
        self._local = threading.local()

    def _target(self) -> Any:
        return getattr(self._local, "buffer", None) or self._original

    def capture(self, buffer: io.StringIO | None) -> None:
        self._local.buffer = buffer

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return self._target().isatty()

    def fileno(self) -> int:
        return self._target().fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)


_STREAMS: dict[str, _PerThreadStream] = {}
_STREAMS_LOCK = threading.Lock()


def _streams() -> tuple[_PerThreadStream, _PerThreadStream]:
    with _STREAMS_LOCK:
        for name in ("stdout", "stderr"):
            current = getattr(sys, name)
            if not isinstance(current, _PerThreadStream):
                _STREAMS[name] = _PerThreadStream(current)
                setattr(sys, name, _STREAMS[name])
        return _STREAMS["stdout"], _STREAMS["stderr"]


@contextlib.contextmanager
def captured() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """What this thread prints, in two buffers (stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    stdout, stderr = _streams()
    stdout.capture(out)
    stderr.capture(err)
    try:
        yield out, err
    finally:
        stdout.capture(None)
        stderr.capture(None)


def run_captured(command: Any, argv: list[str], obj: dict[str, Any]) -> Outcome:
    """Run the click command as `commercy ARGV` would, in this thread, with `obj` as its
    context object; never raises."""
    with captured() as (out, err):
        try:
            command.main(args=argv, prog_name="commercy", obj=obj, standalone_mode=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if isinstance(exc.code, str):
                err.write(exc.code + "\n")
        except Exception:  # the command line's own handler catches all; this is a backstop
            correlation_id = uuid.uuid4().hex[:12]
            log.exception("forwarded command failed [%s]: %s", correlation_id, argv[:2])
            err.write(f"commercy: the command failed inside the bot (error {correlation_id})\n")
            code = 1
    return Outcome(code, out.getvalue(), err.getvalue())


# -- the server, in the bot --------------------------------------------------------------


class ControlServer:
    """The control API of one bot process: started on the bot's event loop, it writes
    the control file once it listens and removes it when it stops."""

    def __init__(
        self,
        command: Any,
        *,
        database_url: str,
        objects: Callable[[], dict[str, Any]],
        settings_type: Callable[..., Any],
    ) -> None:
        self.command = command  # the `commercy` click group (bot.cli passes it in)
        self.path = control_path(database_url)
        self.objects = objects  # the bot's warehouse, live replay, ...
        self.settings_type = settings_type
        self.token = secrets.token_urlsafe(32)
        self.runner: Any = None

    async def start(self) -> BotAddress:
        from aiohttp import web

        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_get("/control/ping", self._ping)
        app.router.add_post("/control/run", self._run)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        address = BotAddress(os.getpid(), f"http://127.0.0.1:{port}", self.token)
        write_control_file(self.path, address)
        return address

    async def stop(self) -> None:
        remove_control_file(self.path, self.token)
        if self.runner is not None:
            await self.runner.cleanup()

    def _authorised(self, request: Any) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme == "Bearer" and hmac.compare_digest(token.encode(), self.token.encode())

    async def _ping(self, request: Any) -> Any:
        from aiohttp import web

        if not self._authorised(request):
            return web.json_response({"error": "a token is required"}, status=401)
        return web.json_response({"pid": os.getpid()})

    async def _run(self, request: Any) -> Any:
        from aiohttp import web

        if not self._authorised(request):
            return web.json_response({"error": "a token is required"}, status=401)
        try:
            body = await request.json()
            argv, values, cwd = body["argv"], body["settings"], body["cwd"]
            if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)):
                raise TypeError
            if not isinstance(values, dict) or not isinstance(cwd, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "send {argv, settings, cwd}"}, status=400)
        if command_path(argv) is None:
            return web.json_response(
                {"error": "only the warehouse commands run inside the bot"}, status=403
            )
        try:
            settings = self.settings_type(**values)
        except Exception as exc:  # SettingsError and pydantic's own: a bad value sent
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return web.json_response({"error": f"bad settings: {first}"}, status=400)
        stop = threading.Event()
        obj = {**self.objects(), "settings": settings, "cwd": cwd, "stop": stop}
        task = asyncio.ensure_future(asyncio.to_thread(run_captured, self.command, argv, obj))
        while not task.done():
            await asyncio.wait({task}, timeout=0.5)
            if request.transport is None or request.transport.is_closing():
                stop.set()  # the caller is gone (Ctrl+C): a replay it started stops too
        outcome: Outcome = task.result()
        return web.json_response(
            {"code": outcome.code, "stdout": outcome.stdout, "stderr": outcome.stderr}
        )
