"""Keep the index in line with a source until told to stop.

A folder is watched with watchdog: a change starts a sync once the folder has been
quiet for a moment (a copy of a large PDF arrives in many writes). A blob container
has no events to offer without Event Grid, so it is polled; a folder is polled too,
more slowly, in case an event was missed (network drives drop them).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from rag_indexer.pipeline import Indexer, SyncReport
from rag_indexer.sources import FolderSource, Source

log = logging.getLogger(__name__)

QUIET_SECONDS = 1.0


def watch(
    indexer: Indexer,
    source: Source,
    stop: threading.Event,
    *,
    poll_seconds: float = 30.0,
    on_sync: Callable[[SyncReport], None] | None = None,
) -> None:
    changed = threading.Event()
    observer = _observe(source.root, changed) if isinstance(source, FolderSource) else None
    try:
        while not stop.is_set():
            try:
                report = indexer.sync(source)
            except Exception:  # the source is unreachable (a blob outage): try again later
                log.exception("sync of %s failed; retrying in %.0f s", source.key, poll_seconds)
            else:
                if on_sync is not None:
                    on_sync(report)
            changed.clear()
            if stop.wait(0) or not _wait_for_change(changed, stop, poll_seconds):
                continue
            while changed.is_set() and not stop.is_set():  # settle: no event for a moment
                changed.clear()
                stop.wait(QUIET_SECONDS)
    finally:
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)


def _wait_for_change(changed: threading.Event, stop: threading.Event, seconds: float) -> bool:
    """Wait for a change, a stop or the poll interval; True when something changed."""
    waited = 0.0
    while waited < seconds and not stop.is_set():
        if changed.wait(0.2):
            return True
        waited += 0.2
    return False


def _observe(root: Path, changed: threading.Event):  # -> watchdog Observer
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    class _Changed(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            if event.event_type not in ("opened", "closed_no_write"):
                changed.set()

    root.mkdir(parents=True, exist_ok=True)
    observer = Observer()
    observer.schedule(_Changed(), str(root), recursive=True)
    observer.daemon = True
    observer.start()
    return observer
