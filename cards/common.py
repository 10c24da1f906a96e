"""The conversational cards: welcome, help, error, clarify, unknown and "not yet".

Every question button here uses `ask_action`: Action.Execute with an Action.Submit
(messageBack) fallback, so a click sends its question whether or not the client has
Universal Actions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adaptive_cards import types as act

from cards.elements import (
    Element,
    Lang,
    ask_action,
    ask_buttons,
    build_card,
    bullets,
    heading,
    lang_code,
    literal,
    subtle,
    text,
    tr,
)
from kpi.metrics.catalog import DIMENSIONS, HEADLINE_METRICS, METRICS

BOT_NAME = "Commercy"
SCOPES = ("personal", "groupChat", "team")
NOT_AVAILABLE_ROUTES = ("rag", "command")
MAX_CHOICES = 9  # three rows of three buttons; a longer list is no longer a clarification


def _examples(lang: Lang) -> list[tuple[str, str]]:
    """Questions that show the range: a number, a breakdown, a trend, a comparison, why."""
    if lang == "ko":
        questions = [
            "어제 매출은?",
            "지난주 채널별 전환율",
            "최근 14일 세션 추이",
            "지난주 기기별 매출 전주 대비",
            "지난주 매출이 왜 떨어졌어?",
        ]
    else:
        questions = [
            "Revenue yesterday?",
            "Conversion rate by channel last week",
            "Sessions trend last 14 days",
            "Revenue by device last week vs the week before",
            "Why did revenue drop last week?",
        ]
    return [(q, q) for q in questions]


def _help_button(lang: Lang) -> tuple[str, str]:
    return tr(lang, "도움말", "Help"), tr(lang, "도움말", "help")


def welcome_card(*, lang: str, scope: str) -> dict[str, Any]:
    """The greeting when Commercy is installed in a personal chat, a group chat or a team."""
    code = lang_code(lang)
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; expected one of {', '.join(SCOPES)}")
    title = tr(
        code,
        f"안녕하세요, 이커머스 분석 도우미 {BOT_NAME}(커머시)입니다",
        f"Hi, I'm {BOT_NAME}, your e-commerce analytics assistant",
    )
    if code == "ko":
        abilities = [
            "**숫자**: 매출, 전환율, 세션 같은 KPI를 기간·채널·기기별로 표와 차트로 보여드려요",
            "**문서**: 업로드한 플레이북 PDF에서 찾아 파일과 페이지를 함께 알려드려요",
            "**이유와 할 일**: 숫자가 왜 변했는지 나눠 보고 무엇을 하면 좋을지 제안해요",
            "**알림**: 5분마다 이상 징후를 확인해 문제가 생기면 바로 알려드려요",
            "**아침 요약**: 매일 오전 9시에 어제의 KPI 요약을 보내드려요",
        ]
        how = (
            "편하게 한국어나 영어로 물어보세요. 아래 예시를 눌러 봐도 돼요."
            if scope == "personal"
            else f"이 대화에서는 **@{BOT_NAME}** 를 멘션해서 물어보세요. "
            f"예: @{BOT_NAME} 어제 매출은? 아래 버튼은 멘션 없이 눌러도 돼요."
        )
    else:
        abilities = [
            "**Numbers**: KPIs such as revenue, conversion rate and sessions by period, "
            "channel or device, as tables and charts",
            "**Documents**: answers from your uploaded PDF playbooks, with file and page",
            "**Why and what to do**: why a number moved, broken down, and what to try next",
            "**Alerts**: a check every 5 minutes; you hear about problems right away",
            "**Morning summary**: yesterday's KPIs every day at 09:00",
        ]
        how = (
            "Ask in English or Korean, or tap an example below."
            if scope == "personal"
            else f"In this conversation, mention **@{BOT_NAME}** to ask, e.g. "
            f"@{BOT_NAME} revenue yesterday? The buttons below work without a mention."
        )
    body: list[Element] = [heading(title), bullets(abilities), text(how)]
    body.extend(ask_buttons(_examples(code), per_row=2))
    return build_card(body, lang=code, actions=[ask_action(*_help_button(code))], summary=title)


def help_card(*, lang: str) -> dict[str, Any]:
    """What to ask and how: metrics, breakdowns, periods, comparisons, SQL, commands."""
    code = lang_code(lang)
    metrics = ", ".join(METRICS[m].label(code) for m in HEADLINE_METRICS)
    breakdowns = ", ".join(
        DIMENSIONS[d].label(code) if code == "ko" else DIMENSIONS[d].label(code).lower()
        for d in ("date", "week", "channel", "device", "country")
    )
    title = tr(code, f"{BOT_NAME} 사용법", f"How to use {BOT_NAME}")
    if code == "ko":
        lines = [
            f"**지표**: {metrics} 등",
            f"**나눠 보기**: {breakdowns} 등 — 예: 지난주 채널별 매출",
            "**기간**: 어제, 지난주, 이번 달, 최근 14일, 11월 1일~15일 — 말하지 않으면 최근 7일",
            "**비교**: 전주 대비, 전년 대비 — 예: 지난주 매출 전주 대비",
            "**SQL 보기**: 숫자 답변마다 사용한 SQL을 볼 수 있어요",
            "**이유 묻기**: 매출이 왜 떨어졌어? 처럼 물어보세요",
            "**알림과 요약**: 이상 징후는 5분마다 확인해 알려드리고, 요약은 매일 오전 9시에 와요",
        ]
    else:
        lines = [
            f"**Metrics**: {metrics} and more",
            f"**Breakdowns**: {breakdowns} and more — e.g. revenue by channel last week",
            "**Periods**: yesterday, last week, this month, last 14 days, Nov 1-15 — "
            "the last 7 days when you name none",
            "**Comparisons**: vs the week before, vs last year — "
            "e.g. revenue last week vs the week before",
            "**Show SQL**: every numeric answer shows the SQL it ran",
            "**Why**: ask e.g. why did revenue drop?",
            "**Alerts and summary**: a check for problems every 5 minutes, "
            "a KPI summary every day at 09:00",
        ]
    body: list[Element] = [heading(title), bullets(lines)]
    body.append(text(tr(code, "예시", "Examples"), weight=act.FontWeight.BOLDER))
    body.extend(ask_buttons(_examples(code), per_row=2))
    return build_card(body, lang=code, summary=title)


def error_card(*, lang: str, correlation_id: str) -> dict[str, Any]:
    """A short apology and the id to quote; what went wrong stays in the logs."""
    code = lang_code(lang)
    title = tr(code, "죄송해요, 답을 만들지 못했어요", "Sorry, something went wrong")
    body: list[Element] = [
        heading(title),
        text(
            tr(
                code,
                "잠시 후 다시 물어봐 주세요. 계속 안 되면 관리자에게 아래 오류 번호를 알려주세요.",
                "Please try again in a moment. If it keeps happening, "
                "give your admin the reference below.",
            )
        ),
        subtle(tr(code, "오류 번호", "Reference")),
        literal(correlation_id),
    ]
    return build_card(body, lang=code, actions=[ask_action(*_help_button(code))], summary=title)


def _choice_card(
    title: str,
    prompt: str,
    choices: Sequence[tuple[str, str]],
    lang: Lang,
    *,
    help_button: bool,
) -> dict[str, Any]:
    body: list[Element] = [heading(title), text(prompt)]
    body.extend(ask_buttons(list(choices)[:MAX_CHOICES]))
    actions = [ask_action(*_help_button(lang))] if help_button else []
    return build_card(body, lang=lang, actions=actions, summary=prompt)


def clarify_card(prompt: str, choices: Sequence[tuple[str, str]], *, lang: str) -> dict[str, Any]:
    """A question back ("매출이요, 상품 매출이요?") with one button per reading; a click
    sends that reading's text as the user's next question. `choices` are (title, text)."""
    code = lang_code(lang)
    title = tr(code, "어떤 걸 말씀하신 건가요?", "Which one did you mean?")
    return _choice_card(title, prompt, choices, code, help_button=False)


def unknown_card(prompt: str, choices: Sequence[tuple[str, str]], *, lang: str) -> dict[str, Any]:
    """A question Commercy could not read: the explanation, suggestions and help."""
    code = lang_code(lang)
    title = tr(code, "잘 이해하지 못했어요", "I didn't quite get that")
    return _choice_card(title, prompt, choices, code, help_button=True)


def not_available_card(route: str, *, lang: str) -> dict[str, Any]:
    """What to do when a route cannot answer here: no playbooks indexed (rag), or a
    setting command it did not recognise (command); with number questions that work."""
    code = lang_code(lang)
    if route not in NOT_AVAILABLE_ROUTES:
        raise ValueError(
            f"unknown route {route!r}; expected one of {', '.join(NOT_AVAILABLE_ROUTES)}"
        )
    if route == "rag":
        title = tr(code, "색인된 플레이북이 없어요", "No playbooks are indexed")
        detail = tr(
            code,
            "data/playbooks/ 폴더(또는 설정한 Blob 컨테이너)에 PDF를 넣으면 인덱서가 읽고, "
            "파일과 페이지를 인용해 답해요. 지금은 KPI 숫자 질문에 답할 수 있어요.",
            "Drop PDFs into data/playbooks/ (or the configured Blob container): the indexer "
            "reads them and I quote them with file and page. KPI questions work now.",
        )
    else:
        title = tr(code, "그 설정은 알아듣지 못했어요", "I didn't recognise that setting")
        detail = tr(
            code,
            "'알림 켜기', '알림 끄기', '요약 08:30', '지금 요약'처럼 말해 주세요.",
            "Say 'alerts on', 'alerts off', 'summary at 8:30' or 'summary now'.",
        )
    body: list[Element] = [heading(title), text(detail)]
    body.extend(ask_buttons(_examples(code), per_row=2))
    return build_card(body, lang=code, summary=title)
