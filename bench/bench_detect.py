"""Time to detect: minutes from an injected incident's onset to the first risk check that
raises a fitting alert (issue 19; a measurement, it exits 0 whatever the figures).

1. A history warehouse: 9 weeks generated at scale 1 (`kpi.sample.generate.generate`)
   ending the day before the test day, so the checks have their full 8-week baseline;
   then the test day replayed live (`kpi.sample.stream.replay`, no incident) from
   midnight to the last onset, so the long look-backs (conversion 6 h, level 7 days)
   see an ordinary day. Both built once in bench/out/.
2. Per (onset, seed): a copy with the live minutes from onset - 30 min on forgotten
   (`forget_live_minutes`) and replayed again with that seed, the checks at the 5-minute
   marks of those 30 minutes run as the scheduler runs them (bot/jobs.py: each told the
   alerts already raised), so a false alert there holds its cooldown as it would live.
3. Per kind on a copy of that: minutes replayed with the incident injected at the onset
   (`Incident`, as `commercy stream replay --inject` does), 5 minutes at a time, each
   followed by the check of the window that just ended (`kpi.insights.alerts.evaluate`
   with the alerts raised so far), until one raises an alert that fits the kind or 60
   minutes have passed. Time to detect = the window's end - onset (the scheduler runs
   the check 30 s later).

US daytime onsets are 15:00-20:00 UTC on a Tuesday, US night ones 06:00-10:00 UTC the
next morning (both on the same day in Seoul, the reporting zone).

    .venv/bin/python bench/bench_detect.py [--seeds 3] [--onsets 2] [--kinds traffic_drop,...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kpi.insights.alerts import RULES, Alert, Thresholds, evaluate
from kpi.insights.tails import detection_limit
from kpi.sample.generate import generate
from kpi.sample.stream import INCIDENT_KINDS, Incident, forget_live_minutes, replay
from kpi.storage.warehouse import open_warehouse

ZONE = ZoneInfo("Asia/Seoul")
UTC = dt.UTC
OUT = Path(__file__).resolve().parent / "out"
HISTORY_SEED = 7
HISTORY_DAYS = 63  # 8 baseline weeks + the 7 level days the checks read
# Wednesday in Seoul: 00:00-09:00 KST is Tuesday 15:00-24:00 UTC (US Tuesday daytime),
# 15:00-19:00 KST is Wednesday 06:00-10:00 UTC (US night). Mid-March: no season.
TEST_DAY = dt.date(2026, 3, 11)
PREROLL_SEED = 1_000  # the day's live minutes before the runs; each run redraws its own
SEARCH_MINUTES = 60
WINDOW = 5
# Onsets off the 5-minute marks as well as on them, since detection counts whole windows.
ONSETS_UTC = {
    "US daytime": (
        dt.datetime(2026, 3, 10, 16, 2, tzinfo=UTC),
        dt.datetime(2026, 3, 10, 18, 33, tzinfo=UTC),
        dt.datetime(2026, 3, 10, 17, 15, tzinfo=UTC),
        dt.datetime(2026, 3, 10, 19, 41, tzinfo=UTC),
    ),
    "US night": (
        dt.datetime(2026, 3, 11, 6, 2, tzinfo=UTC),
        dt.datetime(2026, 3, 11, 8, 33, tzinfo=UTC),
        dt.datetime(2026, 3, 11, 7, 15, tzinfo=UTC),
        dt.datetime(2026, 3, 11, 9, 41, tzinfo=UTC),
    ),
}
# Which alerts count as catching each kind.
FITTING_RULES: dict[str, frozenset[str]] = {
    "traffic_drop": frozenset({"traffic_drop"}),
    "payment_errors": frozenset({"error_spike", "conversion_drop", "revenue_drop"}),
    "checkout_bottleneck": frozenset({"checkout_bottleneck", "conversion_drop"}),
    "conversion_drop": frozenset({"conversion_drop"}),
}
# Issue 19's targets (US daytime, 1x traffic), as text beside the figures.
TARGETS = {
    "traffic_drop": "<= 10 min (drop >= 80 %; the replay drops 90 %)",
    "payment_errors": "<= 10 min",
    "checkout_bottleneck": "<= 15 min",
    "conversion_drop": "(none)",
}


@dataclass(frozen=True)
class Run:
    kind: str
    daytime: str
    onset: dt.datetime
    seed: int
    minutes: float | None  # None: nothing fitting within SEARCH_MINUTES
    rule: str | None
    other_alerts: int  # alerts after the onset that did not fit the kind
    evidence: float | None = None  # minutes from onset until the evidence existed


# The evidence a detector needs before any rule can tell, as SQL over the replayed rows
# (sessions started from :onset; times in ms): the first error hit of a payment error,
# the second reload of a stuck cart (Thresholds.checkout_bottleneck.min_volume). Sessions
# that never reach the payment page or the cart cannot show either, however long the
# check looks: at 1x the store has ~0.35 payment-page and ~0.7 cart sessions per
# 5 minutes of US daytime.
EVIDENCE_SQL = {
    "payment_errors": """
SELECT s.visitStartTime * 1000 + h.time AS at_ms FROM ga_data.Hits h
JOIN ga_data.Sessions s ON s.session_key = h.session_key
WHERE s.visitStartTime >= :onset AND h.eventCategory = 'Checkout Error'
ORDER BY 1""",
    "checkout_bottleneck": """
SELECT s.visitStartTime * 1000 + h.time AS at_ms FROM ga_data.Hits h
JOIN ga_data.Hits p ON p.session_key = h.session_key AND p.hitNumber = h.hitNumber - 1
JOIN ga_data.Sessions s ON s.session_key = h.session_key
WHERE s.visitStartTime >= :onset AND h.pagePath = '/basket.html' AND p.pagePath = h.pagePath
  AND h.hitType = 'PAGE' AND p.hitType = 'PAGE' AND h.time - p.time >= 300000
ORDER BY 1""",
}
EVIDENCE_NEEDED = {"payment_errors": 1, "checkout_bottleneck": 2}


def evidence_minutes(path: Path, kind: str, onset: dt.datetime) -> float | None:
    """Minutes from onset until the replay had written the evidence `kind` needs, within
    the search (None: the store's traffic never produced it)."""
    if kind not in EVIDENCE_SQL:
        return 0.0  # a traffic drop is evidence from its first minute
    warehouse = open_warehouse(f"duckdb:///{path}")
    try:
        rows = warehouse.query(EVIDENCE_SQL[kind], {"onset": int(onset.timestamp())})
    finally:
        warehouse.close()
    needed = EVIDENCE_NEEDED[kind]
    if len(rows) < needed:
        return None
    minutes = (rows[needed - 1]["at_ms"] / 1000 - onset.timestamp()) / 60
    return minutes if minutes <= SEARCH_MINUTES else None


def marks_between(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The 5-minute marks in (start, end]: the window ends the scheduler checks."""
    first = start.replace(minute=start.minute - start.minute % WINDOW, second=0)
    first += dt.timedelta(minutes=WINDOW)
    marks = []
    while first <= end:
        marks.append(first)
        first += dt.timedelta(minutes=WINDOW)
    return marks


def base_warehouse(path: Path, preroll_end: dt.datetime) -> Path:
    """History up to the day before TEST_DAY plus TEST_DAY replayed up to `preroll_end`."""
    if path.exists():
        return path
    started = time.perf_counter()
    building = path.with_suffix(".building")
    building.unlink(missing_ok=True)
    warehouse = open_warehouse(f"duckdb:///{building}")
    warehouse.create_schema()
    print(f"generating {HISTORY_DAYS} days of history into {path} ...", flush=True)
    generate(warehouse, days=HISTORY_DAYS, end=TEST_DAY - dt.timedelta(days=1), zone=ZONE,
             seed=HISTORY_SEED)  # fmt: skip
    midnight = dt.datetime.combine(TEST_DAY, dt.time(), tzinfo=ZONE)
    minutes = int((preroll_end - midnight) / dt.timedelta(minutes=1))
    print(f"replaying {minutes} live minutes of {TEST_DAY} ...", flush=True)
    replay(warehouse, start=midnight, minutes=minutes, speed=0, zone=ZONE, seed=PREROLL_SEED)
    warehouse.close()
    building.rename(path)  # only a finished warehouse is reused by the next run
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def snapshot(base: Path, path: Path, onset: dt.datetime, seed: int) -> list[Alert]:
    """`base` copied to `path` with the 30 minutes before `onset` replayed with `seed`
    and checked; the alerts those checks raised (the runs' `previous`)."""
    shutil.copyfile(base, path)
    warehouse = open_warehouse(f"duckdb:///{path}")
    try:
        start = onset - dt.timedelta(minutes=30)
        # Everything from here on goes: later minutes would be the future to the checks.
        forget_live_minutes(warehouse, start, start + dt.timedelta(days=1))
        replay(warehouse, start=start, minutes=30, speed=0, zone=ZONE, seed=seed)
        raised: list[Alert] = []
        for at in marks_between(start, onset):
            raised += evaluate(warehouse, at, zone=ZONE, previous=raised)
        return raised
    finally:
        warehouse.close()


def detect(
    path: Path, kind: str, onset: dt.datetime, seed: int, previous: list[Alert], minutes: int
) -> tuple[float | None, str | None, int]:
    """Replay from `onset` with the incident, checking at each mark; (minutes to the first
    fitting alert's window end, its rule, other alerts raised meanwhile)."""
    incident = Incident(kind, onset.astimezone(ZONE), minutes)  # type: ignore[arg-type]
    warehouse = open_warehouse(f"duckdb:///{path}")
    raised = list(previous)
    others = 0
    written = onset
    try:
        for at in marks_between(onset, onset + dt.timedelta(minutes=SEARCH_MINUTES)):
            # Only what the replay has written by the check: the minutes before `at`.
            count = int((at - written) / dt.timedelta(minutes=1))
            replay(warehouse, start=written, minutes=count, speed=0, zone=ZONE, seed=seed,
                   incidents=[incident])  # fmt: skip
            written = at
            new = evaluate(warehouse, at, zone=ZONE, previous=raised)
            raised += new
            fitting = [a for a in new if a.rule in FITTING_RULES[kind]]
            if fitting:
                return (at - onset) / dt.timedelta(minutes=1), fitting[0].rule, others
            others += sum(not a.is_update for a in new)  # an episode's updates are one alert
        return None, None, others
    finally:
        warehouse.close()


def report(runs: list[Run], kinds: list[str], seconds: float) -> None:
    print()
    print("fitting alerts: " + "; ".join(
        f"{kind} -> {'any rule' if FITTING_RULES[kind] == frozenset(RULES) else ' or '.join(sorted(FITTING_RULES[kind]))}"  # noqa: E501
        for kind in kinds
    ))  # fmt: skip
    print(
        f"minutes from onset to the end of the first window whose check raised a fitting "
        f"alert (the check runs 30 s later); searched {SEARCH_MINUTES} min\n"
    )
    header = f"{'kind':20} {'time of day':11} {'runs':>4} {'median':>7} {'worst':>6} " \
             f"{'missed':>6} {'other':>5} {'no evid.':>8} {'after evid.':>11}  " \
             f"target (US daytime, 1x)"  # fmt: skip
    print(header)
    print("-" * len(header))
    for kind in kinds:
        for daytime in ONSETS_UTC:
            group = [r for r in runs if r.kind == kind and r.daytime == daytime]
            if not group:
                continue
            found = [r.minutes for r in group if r.minutes is not None]
            missed = len(group) - len(found)
            median = f"{statistics.median(found):.0f}" if found else "-"
            # A miss is worse than any figure: the worst is "> 60" then.
            worst = f">{SEARCH_MINUTES}" if missed else f"{max(found):.0f}"
            others = sum(r.other_alerts for r in group)
            no_evidence = sum(r.evidence is None for r in group) if kind in EVIDENCE_SQL else 0
            # The detector's own delay: from the evidence existing to the alert.
            after = [r.minutes - r.evidence for r in group
                     if r.minutes is not None and r.evidence is not None]  # fmt: skip
            lag = f"{statistics.median(after):.0f} / {max(after):.0f}" if after else "-"
            if missed > no_evidence:  # evidence there and still no alert: the detector's miss
                lag += f" ({missed - no_evidence} missed)"
            target = TARGETS[kind] if daytime == "US daytime" else ""
            print(f"{kind:20} {daytime:11} {len(group):>4} {median:>7} {worst:>6} "
                  f"{missed:>6} {others:>5} {no_evidence:>8} {lag:>11}  {target}")  # fmt: skip
    print(f"\n'other': alerts after the onset that did not fit the kind. 'no evid.': runs in "
          f"which the store's traffic produced no evidence within {SEARCH_MINUTES} min (no "
          f"payment error: nobody reached the payment page; fewer than 2 carts reloaded). "
          f"'after evid.': median / worst minutes from the evidence to the alert. "
          f"{len(runs)} runs in {seconds:.0f} s.")  # fmt: skip
    limits = Thresholds().traffic_drop
    need = detection_limit(0.1, limits.warning_score, limits.lookback_minutes)
    print(f"physics: a drop to 10 % scores {limits.warning_score} (after the "
          f"{limits.lookback_minutes}-minute scan) with 90 % chance only once the stretch "
          f"was expected to hold {need:.0f} sessions; at ~2.2 a minute (the sample's US "
          f"daytime) that is {need / 2.2:.0f} minutes, at ~1.5 (US night) "
          f"{need / 1.5:.0f}, plus up to 5 minutes to the next check.")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="Replay seeds per onset.")
    parser.add_argument("--onsets", type=int, default=2, choices=range(1, 5),
                        help="Onsets per time of day.")  # fmt: skip
    parser.add_argument("--kinds", default=",".join(INCIDENT_KINDS),
                        help="Comma-separated incident kinds.")  # fmt: skip
    parser.add_argument("--incident-minutes", type=int, default=SEARCH_MINUTES,
                        help="Incident length (default: the search).")  # fmt: skip
    parser.add_argument("--verbose", action="store_true", help="Print every run.")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = set(kinds) - set(INCIDENT_KINDS)
    if unknown:
        parser.error(f"unknown kinds {', '.join(sorted(unknown))}; one of {INCIDENT_KINDS}")

    OUT.mkdir(exist_ok=True)
    onsets = {daytime: times[: args.onsets] for daytime, times in ONSETS_UTC.items()}
    # The base holds the day up to the latest onset any run may use, whatever --onsets.
    latest = max(t for times in ONSETS_UTC.values() for t in times).astimezone(ZONE)
    base = base_warehouse(OUT / "detect-history.duckdb", latest - dt.timedelta(minutes=30))

    started = time.perf_counter()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(dir=OUT) as folder:
        snap, work = Path(folder) / "snapshot.duckdb", Path(folder) / "run.duckdb"
        for daytime, times in onsets.items():
            for onset in times:
                for seed in range(1, args.seeds + 1):
                    previous = snapshot(base, snap, onset, seed)
                    for kind in kinds:
                        shutil.copyfile(snap, work)  # each kind on the same clean minutes
                        minutes, rule, others = detect(
                            work, kind, onset, seed, previous, args.incident_minutes
                        )
                        evidence = evidence_minutes(work, kind, onset)
                        runs.append(
                            Run(kind, daytime, onset, seed, minutes, rule, others, evidence)
                        )
                        if args.verbose:
                            found = f"{minutes:.0f} min ({rule})" if rule else "missed"
                            print(f"{kind:20} {onset:%a %H:%M} UTC seed {seed}: {found}"
                                  f"{f', {others} other' if others else ''}"
                                  f"{f', {len(previous)} before onset' if previous else ''}",
                                  flush=True)  # fmt: skip
    report(runs, kinds, time.perf_counter() - started)


if __name__ == "__main__":
    main()
