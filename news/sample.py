"""The sample feed this project ships: 40 invented stories (Korean and English) from the
30 days before 2026-11-24, for demos, the dashboard's empty state and tests.

`write_sample_feed` writes it with every date moved by whole days so that its newest
story is from yesterday, as the sample year in the warehouse ends yesterday: the 뉴스 tab
and "오늘 뉴스 분위기 어때?" have news from the same recent days on any day it is run."""

from __future__ import annotations

import datetime as dt
import re
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

SAMPLE_FEED = Path(__file__).with_name("sample_feed.xml")
WRITTEN_FOR = dt.date(2026, 11, 24)  # the day after the feed's newest story
_DATES = re.compile(r"<(pubDate|lastBuildDate)>([^<]+)</\1>")


def write_sample_feed(path: str | Path, today: dt.date) -> Path:
    """Write the sample feed to `path`, its dates moved to end the day before `today`.
    Links and ids stay as they are, so writing it again another day adds no duplicate."""
    shift = dt.timedelta(days=(today - WRITTEN_FOR).days)

    def moved(match: re.Match[str]) -> str:
        when = parsedate_to_datetime(match.group(2)) + shift
        return f"<{match.group(1)}>{format_datetime(when)}</{match.group(1)}>"

    text = _DATES.sub(moved, SAMPLE_FEED.read_text(encoding="utf-8"))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
