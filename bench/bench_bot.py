"""A KPI question end to end over HTTP on the full sample year, no LLM.

Starts `commercy serve --no-playground` as its own process on the warehouse, posts
Teams-shaped message activities to /api/messages and times each until the reply card
reaches a Bot Connector stand-in (the bench hosts it): p50 and p95 per run, medians over
runs (targets: p50 <= 150 ms, p95 <= 500 ms). Then reads the bot's resident memory from
/proc (target <= 400 MB).

    .venv/bin/python bench/bench_bot.py [--runs 3] [--questions 60]
                                        [--database data/commercy.duckdb]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from aiohttp import ClientSession, web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.doubles.botkit import Connector, activity, free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "어제 매출 알려줘",
    "지난주 채널별 매출",
    "revenue by device yesterday",
    "이번 달 이탈률",
    "지난달 전환율은 얼마야?",
    "최근 7일 기기별 세션",
    "What is the AOV this month?",
    "최근 30일 국가별 사용자 수 상위 10개",
    "어제 모바일 전환율",
    "transactions by channel in the last 7 days",
    "최근 14일 일별 매출 추이",
    "지난주 장바구니 이탈률",
]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def one_run(base: str, connector: Connector, questions: int, run: int) -> list[float]:
    timings = []
    async with ClientSession() as http:
        for n in range(questions):
            conversation = f"bench-{run}-{n}"
            body = activity(
                QUESTIONS[n % len(QUESTIONS)], conversation=conversation, connector=connector
            )
            started = time.perf_counter()
            async with http.post(f"{base}/api/messages", json=body) as response:
                assert response.status in (200, 201), await response.text()
            await connector.wait_for(conversation, 1, timeout=30)
            timings.append(time.perf_counter() - started)
    return timings


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """VmRSS: resident now; VmHWM: the most it was resident at once."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--database", default="data/commercy.duckdb")
    args = parser.parse_args()

    connector = Connector()
    runner = web.AppRunner(connector.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", connector.port).start()

    port = free_port()
    env = {
        **os.environ,
        "COMMERCY_DATABASE_URL": f"duckdb:///{Path(args.database).resolve()}",
        "COMMERCY_STATE_URL": f"sqlite:///{ROOT / 'bench' / 'out' / 'bench-state.sqlite3'}",
        "MicrosoftAppId": "",
        # The live replay stands in for GA's feed on the demo; a deployed bot has none.
        "COMMERCY_REPLAY": "false",
        "COMMERCY_INDEXER": "false",  # its own process, not the bot's memory
    }
    bot = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "commercy"), "serve", "--no-playground", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_until_healthy(base, seconds=20)
        await one_run(base, connector, len(QUESTIONS), run=0)  # warm: caches, first compiles
        p50s, p95s = [], []
        for run in range(1, args.runs + 1):
            timings = await one_run(base, connector, args.questions, run)
            p50s.append(percentile(timings, 0.5))
            p95s.append(percentile(timings, 0.95))
            print(
                f"run {run}: p50 {p50s[-1] * 1000:.0f} ms, p95 {p95s[-1] * 1000:.0f} ms "
                f"over {len(timings)} questions",
                flush=True,
            )
        p50, p95 = statistics.median(p50s), statistics.median(p95s)
        memory, peak = memory_mb(bot.pid), memory_mb(bot.pid, "VmHWM")
        print(
            f"end to end: p50 {p50 * 1000:.0f} ms (target 150, ratio {p50 / 0.150:.2f}), "
            f"p95 {p95 * 1000:.0f} ms (target 500, ratio {p95 / 0.500:.2f})"
        )
        print(
            f"bot memory: {memory:.0f} MB RSS (target 400, ratio {memory / 400:.2f}), "
            f"peak {peak:.0f} MB"
        )
        print(f"measured {dt.datetime.now():%Y-%m-%d %H:%M} on {os.cpu_count()} cores")
    finally:
        bot.terminate()
        bot.wait(timeout=10)
        await runner.cleanup()


if __name__ == "__main__":
    (ROOT / "bench" / "out").mkdir(exist_ok=True)
    asyncio.run(main())
