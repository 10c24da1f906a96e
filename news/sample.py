"""The sample feed this project ships: ~40 invented stories (Korean and English) from the
30 days before 2026-11-24, for demos, the dashboard's empty state and tests."""

from pathlib import Path

SAMPLE_FEED = Path(__file__).with_name("sample_feed.xml")
