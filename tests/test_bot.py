"""The bot over real HTTP: Teams-shaped activities to /api/messages, replies recorded by
a Bot Connector stand-in. Installs, answers in the user's language with the metric
layer's numbers, follow-ups, retries answered once, card actions, health, charts, auth,
many conversations at once, and hostile input."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random

import pytest
from aiohttp import ClientSession

from bot.app import BOT, STATE
from bot.settings import Settings
from kpi.metrics.query import MetricQuery, run_query
from kpi.metrics.units import format_value
from tests.doubles.botkit import activity, post, running_bot

TODAY = dt.date(2026, 11, 24)
YESTERDAY = dt.date(2026, 11, 23)


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    for name in ("MicrosoftAppId", "MicrosoftAppPassword"):
        monkeypatch.delenv(name, raising=False)
    return Settings(COMMERCY_TIMEZONE="Asia/Seoul")


def bot(settings, four_weeks, tmp_path, **options):
    return running_bot(
        settings, four_weeks, today=TODAY, state_path=str(tmp_path / "state.sqlite3"), **options
    )


def card_text(card: dict) -> str:
    return json.dumps(card, ensure_ascii=False)


def revenue(warehouse, start, end, **filters) -> float:
    query = MetricQuery.build(["revenue"], start, end, filters=filters or None)
    return run_query(warehouse, query, zone="Asia/Seoul").total("revenue")


def test_install_sends_a_welcome_card_and_remembers_the_conversation(
    settings, four_weeks, tmp_path
):
    async def scenario():
        async with (
            bot(settings, four_weeks, tmp_path) as (base, connector, app),
            ClientSession() as http,
        ):
            body = activity(kind="installationUpdate", connector=connector, action="add")
            status, _ = await post(http, base, body)
            assert status in (200, 201)
            [card] = [c for c in connector.cards("conv-1")]
            assert card["type"] == "AdaptiveCard"
            assert app[STATE].conversations.get("conv-1") is not None
            await post(
                http,
                base,
                activity(kind="installationUpdate", connector=connector, action="remove"),
            )
            assert app[STATE].conversations.get("conv-1") is None

    asyncio.run(scenario())


def test_in_a_group_chat_and_a_team_the_welcome_says_to_mention_the_bot(
    settings, four_weeks, tmp_path
):
    async def scenario():
        async with (
            bot(settings, four_weeks, tmp_path) as (base, connector, _),
            ClientSession() as http,
        ):
            for conversation, kind in [("group-1", "groupChat"), ("team-1", "channel")]:
                body = activity(
                    kind="installationUpdate",
                    connector=connector,
                    action="add",
                    conversation=conversation,
                )
                body["conversation"]["conversationType"] = kind
                await post(http, base, body)
                [card] = connector.cards(conversation)
                assert "@Commercy" in card_text(card)

    asyncio.run(scenario())


def test_a_korean_question_gets_a_korean_card_with_the_metric_layers_number(
    settings, four_weeks, tmp_path
):
    async def scenario():
        async with (
            bot(settings, four_weeks, tmp_path) as (base, connector, _),
            ClientSession() as http,
        ):
            await post(http, base, activity("어제 매출 알려줘", connector=connector))
            messages = await connector.wait_for("conv-1", 1)
            typing = [a for a in connector.sent["conv-1"] if a["type"] == "typing"]
            assert typing, "a typing indicator comes first"
            card = card_text(connector.cards("conv-1")[0])
            assert format_value(revenue(four_weeks, YESTERDAY, YESTERDAY), "usd") in card
            assert "매출" in card
            assert "SELECT" in card  # behind the "SQL 보기" toggle
            assert messages[0].get("summary") or messages[0].get("text") is not None

    asyncio.run(scenario())


def test_an_english_question_gets_an_english_answer_and_a_follow_up_reuses_it(
    settings, four_weeks, tmp_path
):
    async def scenario():
        async with (
            bot(settings, four_weeks, tmp_path) as (base, connector, _),
            ClientSession() as http,
        ):
            await post(
                http, base, activity("revenue last week", connector=connector, locale="en-US")
            )
            await connector.wait_for("conv-1", 1)
            first = card_text(connector.cards("conv-1")[0])
            week = (dt.date(2026, 11, 16), dt.date(2026, 11, 22))
            assert format_value(revenue(four_weeks, *week), "usd") in first
            assert "Revenue" in first and "매출" not in first
            await post(
                http, base, activity("what about mobile?", connector=connector, locale="en-US")
            )
            await connector.wait_for("conv-1", 2)
            second = card_text(connector.cards("conv-1")[1])
            assert format_value(revenue(four_weeks, *week, device="mobile"), "usd") in second

    asyncio.run(scenario())


def test_a_retried_activity_is_answered_once(settings, four_weeks, tmp_path):
    async def scenario():
        async with (
            bot(settings, four_weeks, tmp_path) as (base, connector, _),
            ClientSession() as http,
        ):
            body = activity("어제 세션 수는?", connector=connector)
            await post(http, base, body)
            await post(http, base, body)  # Teams re-sends after ~15 s
            await connector.wait_for("conv-1", 1)
            await asyncio.sleep(0.5)
            assert len(connector.messages("conv-1")) == 1

    asyncio.run(scenario())


def test_an_ask_button_answers_as_a_new_message(settings, four_weeks, tmp_path):
    async def scenario():
        async with (
            bot(settings, four_weeks, tmp_path) as (base, connector, _),
            ClientSession() as http,
        ):
            body = activity(
                kind="invoke",
                connector=connector,
                name="adaptiveCard/action",
                value={
                    "action": {
                        "type": "Action.Execute",
                        "verb": "ask",
                        "data": {"text": "지난주 채널별 매출"},
                    }
                },
            )
            status, text = await post(http, base, body)
            assert status == 200
            assert json.loads(text)["statusCode"] == 200
            await connector.wait_for("conv-1", 1)
            assert "Referral" in card_text(connector.cards("conv-1")[0])

    asyncio.run(scenario())


def test_healthz_and_charts(settings, four_weeks, tmp_path):
    async def scenario():
        async with (
            bot(settings, four_weeks, tmp_path) as (base, connector, _),
            ClientSession() as http,
        ):
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200
                assert (await response.json())["warehouse"] == "ok"
            await post(http, base, activity("최근 14일 일별 매출 추이", connector=connector))
            await connector.wait_for("conv-1", 1)
            card = card_text(connector.cards("conv-1")[0])
            url = card.split(f"{settings.bot_url}/charts/")[1].split(".png")[0]
            async with http.get(f"{base}/charts/{url}.png") as response:
                assert response.status == 200
                assert (await response.read())[:4] == b"\x89PNG"
            for guess in ("abc", "../etc/passwd", "A" * 22):
                async with http.get(f"{base}/charts/{guess}.png") as response:
                    assert response.status == 404
            async with http.get(f"{base}/charts/") as response:
                assert response.status == 404  # no listing

    asyncio.run(scenario())


def test_with_an_app_id_a_request_without_a_valid_token_gets_401(settings, four_weeks, tmp_path):
    configured = settings.model_copy(
        update={"app_id": "00000000-0000-0000-0000-00000000b07", "app_password": "secret"}
    )

    async def scenario():
        async with (
            bot(configured, four_weeks, tmp_path) as (base, connector, _),
            ClientSession() as http,
        ):
            body = activity("어제 매출", connector=connector)
            status, _ = await post(http, base, body)
            assert status == 401
            forged = "Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJl"
            async with http.post(
                f"{base}/api/messages", json=body, headers={"Authorization": forged}
            ) as response:
                assert response.status == 401
            assert connector.messages("conv-1") == []

    asyncio.run(scenario())


def test_twenty_conversations_ask_ten_questions_each_at_once(settings, four_weeks, tmp_path):
    questions = [
        "어제 매출",
        "지난주 세션 수",
        "revenue by device yesterday",
        "이번 달 이탈률",
        "지난달 전환율은 얼마야?",
        "최근 7일 기기별 세션",
        "what is the AOV this month?",
        "지난주 채널별 매출",
        "어제 모바일 전환율",
        "transactions by channel in the last 7 days",
    ]

    async def scenario():
        async with (
            bot(settings, four_weeks, tmp_path) as (base, connector, _),
            ClientSession() as http,
        ):

            async def conversation(n: int) -> None:
                for question in questions:
                    status, _ = await post(
                        http, base, activity(question, conversation=f"c{n}", connector=connector)
                    )
                    assert status in (200, 201)

            await asyncio.gather(*(conversation(n) for n in range(20)))
            for n in range(20):
                replies = await connector.wait_for(f"c{n}", 10, timeout=120)
                assert all(r.get("attachments") for r in replies), f"c{n}: every answer is a card"

    asyncio.run(scenario())


HOSTILE_TEXTS = [
    '\'; DROP TABLE ga_data."Sessions"; --',
    '1; DELETE FROM ga_data."Totals"',
    "<script>alert(1)</script>",
    "\x00\x01\x02 어제 매출 \x1b[31m",
    "매출" * 5000,
    "",
    " ",
    "🙂" * 300,
    'SELECT * FROM ga_data."Hits"',
    "{{7*7}} ${jndi:ldap://x}",
    "지난주 매출 UNION SELECT password FROM users",
]


def _malformed(rng: random.Random, connector) -> tuple[dict | None, bytes | None, dict | None]:
    choice = rng.randrange(9)
    good = activity("어제 매출", connector=connector, conversation=f"h{rng.randrange(5)}")
    if choice == 0:
        return None, b"{not json", {"Content-Type": "application/json"}
    if choice == 1:
        return None, json.dumps([1, 2, 3]).encode(), {"Content-Type": "application/json"}
    if choice == 2:
        return None, b"text=hello", {"Content-Type": "application/x-www-form-urlencoded"}
    if choice == 3:
        good.pop("conversation")
        return good, None, None
    if choice == 4:
        good["type"] = 42
        return good, None, None
    if choice == 5:
        good["text"] = rng.choice(HOSTILE_TEXTS)
        return good, None, None
    if choice == 6:
        good["text"] = {"nested": "object"}
        return good, None, None
    if choice == 7:
        return None, b"{" + b'"a":' * 100 + b"1" + b"}" * 100, {"Content-Type": "application/json"}
    good["value"] = {"text": rng.choice(HOSTILE_TEXTS)}
    good.pop("text")
    return good, None, None


def test_a_thousand_hostile_activities_get_4xx_or_a_polite_reply_and_change_nothing(
    settings, four_weeks, tmp_path
):
    checksum = 'SELECT COUNT(*) AS n, SUM(hash(session_key)) AS h FROM ga_data."Sessions"'
    before = four_weeks.query(checksum)
    rng = random.Random(4)

    async def scenario():
        async with (
            bot(settings, four_weeks, tmp_path) as (base, connector, _),
            ClientSession() as http,
        ):
            statuses = []
            for _ in range(1000):
                body, raw, headers = _malformed(rng, connector)
                status, text = await post(http, base, body, raw=raw, headers=headers)
                statuses.append(status)
                assert status < 500 or status == 503, text
            assert any(400 <= s < 500 for s in statuses) and any(s in (200, 201) for s in statuses)
            await asyncio.sleep(1)
            for conversation, sent in connector.sent.items():
                for reply in sent:
                    shown = json.dumps(reply, ensure_ascii=False)
                    assert (
                        "Traceback" not in shown and "DuckDB" not in shown and "Error:" not in shown
                    ), conversation
            status, _ = await post(
                http, base, activity("어제 매출", connector=connector, conversation="after")
            )
            assert status in (200, 201)
            await connector.wait_for("after", 1)

    asyncio.run(scenario())
    assert four_weeks.query(checksum) == before


@pytest.fixture
def patient(settings, monkeypatch):
    """Settings with a 1-second reply budget, and a router that takes 1.5 s to answer."""
    import dialogs.router
    from bot import handler

    real = dialogs.router.answer

    def slow(text, context):
        import time

        time.sleep(1.5)  # longer than the reply budget
        return real(text, context)

    monkeypatch.setattr(handler, "answer", slow)
    return settings.model_copy(update={"reply_budget_seconds": 1.0})


def test_slow_work_is_acknowledged_and_finished_proactively(patient, four_weeks, tmp_path):

    async def scenario():
        async with (
            bot(patient, four_weeks, tmp_path) as (base, connector, _),
            ClientSession() as http,
        ):
            # A group chat: no stream, so the acknowledgement says the answer is coming.
            question = activity("어제 매출", connector=connector)
            question["conversation"]["conversationType"] = "groupChat"
            await post(http, base, question)
            messages = await connector.wait_for("conv-1", 2, timeout=30)
            assert "계산 중" in messages[0]["text"]
            assert messages[1]["attachments"], "the answer card follows as a proactive message"
            assert format_value(revenue(four_weeks, YESTERDAY, YESTERDAY), "usd") in card_text(
                connector.cards("conv-1")[0]
            )

    asyncio.run(scenario())


def test_slow_work_in_a_personal_chat_streams_and_the_proactive_answer_ends_the_stream(
    patient, four_weeks, tmp_path
):

    async def scenario():
        async with (
            bot(patient, four_weeks, tmp_path) as (base, connector, _),
            ClientSession() as http,
        ):
            await post(http, base, activity("어제 매출", connector=connector))
            [answer] = await connector.wait_for("conv-1", 1, timeout=30)
            informative = [
                a for a in connector.sent["conv-1"]
                if a["type"] == "typing" and a.get("entities")
            ]  # fmt: skip
            assert informative[0]["entities"] == [
                {"type": "streaminfo", "streamType": "informative", "streamSequence": 1}
            ]
            assert "매출을 계산하고 있어요" in informative[0]["text"]
            # No acknowledgement message: the progress line already says it is coming.
            assert answer["attachments"], "the answer card, sent proactively"
            [final] = [e for e in answer["entities"] if e["type"] == "streaminfo"]
            assert final["streamType"] == "final" and final["streamId"].startswith("sent-")

    asyncio.run(scenario())


def test_a_failure_after_the_progress_line_ends_the_stream_with_the_apology(
    settings, four_weeks, tmp_path
):
    class Broken:
        dialect_name = "duckdb"

        def __getattr__(self, name):
            raise RuntimeError("the warehouse is gone")

    async def scenario():
        async with (
            running_bot(
                settings, Broken(), today=TODAY, state_path=str(tmp_path / "s.sqlite3")
            ) as (base, connector, app),
            ClientSession() as http,
        ):
            app[BOT].stream_after_seconds = 0  # every answer is streamed
            await post(
                http, base, activity("revenue yesterday", connector=connector, locale="en-US")
            )
            [message] = await connector.wait_for("conv-1", 1)
            assert "Sorry" in message["text"]
            [final] = [e for e in message.get("entities") or [] if e["type"] == "streaminfo"]
            assert final["streamType"] == "final" and final["streamId"]

    asyncio.run(scenario())


def test_a_broken_warehouse_gets_an_apology_with_an_id_and_no_sql(settings, four_weeks, tmp_path):
    class Broken:
        dialect_name = "duckdb"

        def __getattr__(self, name):
            raise RuntimeError(
                'Catalog Error: Table with name "Sessions" does not exist! SELECT ...'
            )

    async def scenario():
        async with (
            running_bot(
                settings, Broken(), today=TODAY, state_path=str(tmp_path / "s.sqlite3")
            ) as (base, connector, _),
            ClientSession() as http,
        ):
            await post(
                http, base, activity("revenue yesterday", connector=connector, locale="en-US")
            )
            [message] = await connector.wait_for("conv-1", 1)
            assert "Sorry" in message["text"] and "Error id" in message["text"]
            assert "Catalog Error" not in message["text"] and "SELECT" not in message["text"]
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 503
            status, _ = await post(
                http, base, activity("hello", connector=connector, conversation="c2")
            )
            assert status in (200, 201)

    asyncio.run(scenario())


def test_the_bot_process_loads_neither_the_pdf_library_nor_arrow() -> None:
    """Memory: PyMuPDF belongs to the indexer's process and Arrow to bulk loads; the bot
    answers without either (bench/bench_bot.py measures what it does take)."""
    import subprocess
    import sys

    probe = "import sys, bot.app; print(sorted({'pymupdf', 'pyarrow'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout.strip()  # fmt: skip
    assert loaded == "[]"


def test_a_follow_up_after_a_why_answer_asks_why_again_for_its_segment(
    settings, four_weeks, tmp_path
):
    async def scenario():
        async with (
            bot(settings, four_weeks, tmp_path) as (base, connector, _),
            ClientSession() as http,
        ):
            await post(http, base, activity("지난주 매출이 왜 떨어졌어?", connector=connector))
            await connector.wait_for("conv-1", 1)
            assert "플레이북" in card_text(connector.cards("conv-1")[0])
            await post(http, base, activity("그럼 모바일은?", connector=connector))
            await connector.wait_for("conv-1", 2)
            second = card_text(connector.cards("conv-1")[1])
            assert "그럼 모바일은?" in second and "mobile" in second  # the why card, for mobile
            assert "플레이북" in second and "11월 9일~15일" in second  # the same comparison

    asyncio.run(scenario())
