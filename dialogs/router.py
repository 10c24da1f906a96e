"""The router: a message in, a reply (text and card) out, for Teams and the CLI.

`answer()` routes what the parser understood: numbers go to the SQL dialog
(dialogs/sql_reply.py); help, greetings, clarifying questions and "I don't know that" get
their cards; questions about documents are answered from the indexed PDFs (dialogs/rag.py),
and so is a question the parser cannot place when the documents cover it; the news' mood
from the news store (dialogs/news.py); why and what-to-do questions are computed, then
quoted from the playbooks (dialogs/why.py). With an LLM configured
(`AskContext.assistant`) the parser still goes first: what it places with confidence
(`Parsed.confident`) is answered exactly as offline, without a model call, and only
the rest goes to the model (dialogs/assistant.py). Nothing here knows Teams: the bot and
`commercy ask` both call `answer()`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import cards
from dialogs.context import NOTE_OFFLINE, AskContext, Reply, documents_reply
from dialogs.news import news_answer
from dialogs.parser import Parsed, detect_language, parse
from dialogs.rag import answer_from_documents
from dialogs.sql_reply import sql_reply
from dialogs.summary import summary_reply
from dialogs.why import reasoning_reply
from kpi.metrics.catalog import METRICS
from language.particles import direction_particle, object_particle

log = logging.getLogger(__name__)


def answer(text: str, ctx: AskContext) -> Reply:
    """The reply to one message. Raises only for a broken warehouse or a bug; the caller
    turns that into an apology with a correlation id.

    With an LLM (`ctx.assistant`), a message the parser places with confidence is
    answered as offline, with no model call (a why question's facts are then worded by
    the model, its one call); the rest goes to the model, and when it cannot be reached
    the offline answer comes with a note saying so."""
    if ctx.assistant is None:
        return offline_answer(text, ctx)
    parsed = parse(text, as_of=ctx.as_of, previous=ctx.previous)
    if parsed.confident and parsed.route == "reasoning":
        return ctx.assistant.explain(text, ctx, parsed)
    if parsed.confident:
        log.info("answer: placed by the parser (%s), no LLM call", parsed.route)
        # A named documents question is answered from the quotes, as offline: the
        # passages' own words with file and page, no model paraphrase of them.
        library = replace(ctx.library, write=None) if ctx.library is not None else None
        return offline_answer(text, replace(ctx, library=library), parsed)
    reply = ctx.assistant.answer(text, ctx, parsed)
    if reply is not None:
        return reply
    reply = offline_answer(text, ctx, parsed)
    return reply.with_note(NOTE_OFFLINE[reply.lang])


def offline_answer(text: str, ctx: AskContext, parsed: Parsed | None = None) -> Reply:
    """The reply without an LLM: the bilingual parser, the metric layer, the documents.
    Words read as the catalog word one edit away are named under it."""
    parsed = parsed or parse(text, as_of=ctx.as_of, previous=ctx.previous)
    reply = _offline_reply(text, ctx, parsed)
    if parsed.corrections:
        reply = reply.with_note(corrections_note(parsed.corrections, parsed.lang))
    if parsed.read_as and reply.route == "sql":
        reply = reply.with_note(read_as_note(parsed.read_as, parsed.lang))
    return reply


def corrections_note(corrections: Sequence[tuple[str, str]], lang: str) -> str:
    """ "'매츨'을 '매출'로 이해했어요." / "Read 'revnue' as 'revenue'."""
    if lang == "ko":
        return (
            ", ".join(
                f"'{typed}'{object_particle(typed)} '{word}'{direction_particle(word)}"
                for typed, word in corrections
            )
            + " 이해했어요."
        )
    return "Read " + ", ".join(f"'{typed}' as '{word}'" for typed, word in corrections) + "."


def read_as_note(read_as: Sequence[tuple[str, str]], lang: str) -> str:
    """ "'객단가'를 평균 주문 금액으로 봤어요. 다른 뜻이면 아래 버튼을 눌러 주세요." """
    if lang == "ko":
        said = ", ".join(
            f"'{typed}'{object_particle(typed)} {METRICS[name].label_ko}"
            f"{direction_particle(METRICS[name].label_ko)}"
            for typed, name in read_as
        )
        return f"{said} 봤어요. 다른 뜻이면 아래 버튼을 눌러 주세요."
    said = ", ".join(f"'{typed}' as {METRICS[name].label_en.lower()}" for typed, name in read_as)
    return f"Read {said}; for the other meaning, use the button below."


def _offline_reply(text: str, ctx: AskContext, parsed: Parsed) -> Reply:
    lang = parsed.lang
    if parsed.route == "sql" and parsed.query is not None:
        if parsed.follow_up and ctx.previous_why:  # "그럼 모바일은?" after a why answer
            return reasoning_reply(text, parsed, ctx, kind=ctx.previous_why)
        return sql_reply(parsed, ctx)
    if parsed.route in ("help", "greeting"):
        return Reply(parsed.route, lang, _HELP_TEXT[lang], cards.help_card(lang=lang))
    if parsed.route == "clarify":
        prompt = parsed.prompt or _WHICH[lang]
        choices = [(c.label, c.text) for c in parsed.choices]
        return Reply("clarify", lang, prompt, cards.clarify_card(prompt, choices, lang=lang))
    if parsed.route == "command" and parsed.command == "summary_now":
        return summary_reply(ctx, lang)
    if parsed.route == "command" and parsed.command in _CONFIRM:
        text = _CONFIRM[parsed.command][lang].format(time=parsed.argument or "09:00")
        return Reply("command", lang, text, command=parsed.command, argument=parsed.argument)
    if parsed.route == "rag" and ctx.library is not None:
        found = answer_from_documents(text, ctx.library, lang)
        return documents_reply(found, lang)
    if parsed.route == "news":
        said, card = news_answer(ctx.news_path, period=parsed.period, topic=parsed.argument,
                                 lang=lang, zone=ctx.zone, as_of=ctx.as_of)  # fmt: skip
        return Reply("news", lang, said, card)
    if parsed.route == "reasoning":
        if parsed.query is None and ctx.library is not None:
            # No metric, segment or period to compute ("what does the channel strategy
            # advise?"): a playbook that covers it is the answer.
            found = answer_from_documents(text, ctx.library, lang)
            if found.covered:
                return documents_reply(found, lang)
        return reasoning_reply(text, parsed, ctx)
    if parsed.route in ("rag", "command"):
        return Reply(
            parsed.route,
            lang,
            _NOT_AVAILABLE[lang][parsed.route],
            cards.not_available_card(parsed.route, lang=lang),
        )
    if ctx.library is not None:
        # Not a KPI question the parser knows: the playbooks may answer it ("결제 오류 나면
        # 누구한테 연락해?"); if they do not, the usual "what I can answer" follows.
        found = answer_from_documents(text, ctx.library, lang)
        if found.covered:
            return documents_reply(found, lang)
    prompt = parsed.prompt or _UNKNOWN[lang]
    choices = [(c.label, c.text) for c in parsed.choices]
    return Reply("unknown", lang, prompt, cards.unknown_card(prompt, choices, lang=lang))


_CONFIRM = {
    "alerts_off": {
        "ko": "이 대화의 위험 알림을 껐어요. '알림 켜기'로 다시 켤 수 있어요.",
        "en": "Risk alerts are off for this chat. Say 'alerts on' to turn them back on.",
    },
    "alerts_on": {
        "ko": "이 대화의 위험 알림을 켰어요. 이상 징후가 보이면 5분 안에 알려 드릴게요.",
        "en": "Risk alerts are on for this chat: I'll post within 5 minutes of a problem.",
    },
    "summary_time": {
        "ko": "매일 {time}에 KPI 요약을 보내 드릴게요.",
        "en": "I'll send the KPI summary every day at {time}.",
    },
}

_HELP_TEXT = {
    "ko": "매출, 전환율, 이탈률 같은 지표를 물어보세요. "
    "예: '어제 매출', '지난주 채널별 전환율', '최근 14일 일별 세션'.",
    "en": "Ask about revenue, conversion, bounce rate and more, e.g. 'revenue yesterday', "
    "'conversion rate by channel last week', 'daily sessions in the last 14 days'.",
}
_WHICH = {"ko": "어떤 지표를 볼까요?", "en": "Which metric would you like?"}
_UNKNOWN = {
    "ko": "아직 이해하지 못했어요. 매출, 세션, 전환율 같은 지표와 기간으로 물어봐 주세요.",
    "en": "I didn't catch that. Ask about a metric such as revenue, sessions or conversion rate, "
    "and a period.",
}
_NOT_AVAILABLE = {
    "ko": {
        "rag": "색인된 플레이북이 없어요. data/playbooks/에 PDF를 넣으면 파일과 페이지를 인용해 "
        "답해요.",
        "command": "그 설정은 알아듣지 못했어요. '알림 켜기', '알림 끄기', '요약 08:30'처럼 말해 "
        "주세요.",
    },
    "en": {
        "rag": "No playbooks are indexed: drop PDFs into data/playbooks/ and I quote them with "
        "file and page.",
        "command": "I didn't recognise that setting. Say 'alerts on', 'alerts off' or "
        "'summary at 8:30'.",
    },
}


def language_of(text: str) -> str:
    """The reply language for `text` (for apologies when answering failed)."""
    try:
        return detect_language(text or "")
    except Exception:  # the apology path must not fail
        return "ko"
