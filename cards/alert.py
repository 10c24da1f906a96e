"""The risk alert card: what happened, where, what was seen against what was expected,
when it began and how long it has lasted (an episode's later checks update the same
card), what to check first, and four buttons (Acknowledge, Snooze 1 h, Why?, Not useful).

The buttons are Action.Execute (Universal Actions) with Action.Submit fallbacks. An
acknowledged alert is the same card with the buttons replaced by "확인: NAME, HH:MM",
which the bot writes over the original message for everyone in the chat.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from adaptive_cards import card as ac

from cards.elements import Lang, build_card, bullets, heading, lang_code, subtle, text, tr
from kpi.insights.alerts import STEP_LABELS
from kpi.metrics.units import format_about, format_value

ACK_VERB, SNOOZE_VERB, WHY_VERB = "ack", "snooze", "why"
# "Not useful": the bot records it per alert and person, so `commercy alerts status` can
# tell an admin which rule to make less sensitive (COMMERCY_ALERT_SENSITIVITY).
NOT_USEFUL_VERB = "not_useful"

# The rule -> (metric whose numbers it watches, unit of its value).
RULE_UNITS = {
    "checkout_bottleneck": "count",
    "error_spike": "count",
    "traffic_drop": "count",
    "traffic_spike": "count",
    "conversion_drop": "ratio",
    "revenue_drop": "usd",
    "bounce_spike": "ratio",
}
RULE_METRIC = {
    "checkout_bottleneck": "cart_abandonment_rate",
    "error_spike": "conversion_rate",
    "traffic_drop": "sessions",
    "traffic_spike": "sessions",
    "conversion_drop": "conversion_rate",
    "revenue_drop": "revenue",
    "bounce_spike": "bounce_rate",
}
FIRST_CHECKS = {
    "error_spike": (
        (
            "결제 대행사(PG)·외부 서비스 상태와 오류 로그",
            "the payment provider's and other services' status and error logs",
        ),
        ("최근 배포나 설정 변경", "recent releases or configuration changes"),
        ("오류가 난 페이지를 직접 열어 보기", "opening the page with the errors yourself"),
    ),
    "checkout_bottleneck": (
        (
            "결제 대행사(PG) 상태와 결제 오류 로그",
            "the payment provider's status and payment error logs",
        ),
        ("장바구니·결제 페이지 응답 속도", "load times of the cart and checkout pages"),
        ("최근 배포나 프로모션 코드 변경", "recent releases or promo code changes"),
    ),
    "traffic_drop": (
        (
            "사이트가 열리는지, 추적 태그가 동작하는지",
            "whether the site is up and the tracking tag fires",
        ),
        ("광고 캠페인 중단이나 예산 소진", "paused campaigns or spent budgets"),
        ("검색 노출·유입 채널별 변화", "which channel lost the traffic"),
    ),
    "traffic_spike": (
        ("봇·스팸 트래픽 여부 (소스와 이탈률)", "bot or spam traffic (source and bounce rate)"),
        ("갑자기 시작된 캠페인이나 언급", "a campaign or mention that just started"),
        ("서버 여유 용량", "server headroom"),
    ),
    "conversion_drop": (
        ("결제 흐름과 결제 오류", "the checkout flow and payment errors"),
        ("재고·가격·배송비 변경", "stock, price or shipping fee changes"),
        ("유입 채널 구성 변화 (Why?)", "a change in the traffic mix (Why?)"),
    ),
    "revenue_drop": (
        (
            "전환율과 평균 주문 금액 중 무엇이 떨어졌는지 (Why?)",
            "whether conversion or order value fell (Why?)",
        ),
        ("대형 주문 채널(Referral, Direct)의 변화", "the big-order channels (Referral, Direct)"),
        ("결제 오류", "payment errors"),
    ),
    "bounce_spike": (
        ("랜딩 페이지가 열리는지와 속도", "whether landing pages load, and how fast"),
        ("새 캠페인의 랜딩 페이지 일치 여부", "whether new campaigns land on the right page"),
        ("모바일 화면 깨짐", "broken mobile layouts"),
    ),
}


class AlertLike(Protocol):
    alert_id: str
    rule: str
    severity: str
    scope: str
    window_start: dt.datetime
    window_end: dt.datetime
    value: float
    expected: float
    message_ko: str
    message_en: str


def alert_card(
    alert: AlertLike,
    *,
    lang: str,
    zone: dt.tzinfo | None = None,
    quiet_since: dt.datetime | None = None,
) -> dict[str, Any]:
    """The card of an alert (the latest of its episode). With `quiet_since`, the same
    card once the episode stopped firing: back to normal, when it began, its last alert
    (a traffic rule judges the last 30 minutes, so that can be after the store already
    recovered) and its numbers; only Why? and Not useful are left to press."""
    if quiet_since is not None:
        return _quiet_card(alert, lang_code(lang), zone, quiet_since)
    code = lang_code(lang)
    unit = RULE_UNITS.get(alert.rule, "decimal")
    start = alert.window_start.astimezone(zone) if zone else alert.window_start
    end = alert.window_end.astimezone(zone) if zone else alert.window_end
    critical = alert.severity == "critical"
    title = tr(
        code,
        "🔴 긴급 위험 알림" if critical else "🟠 위험 알림",
        "🔴 Critical risk alert" if critical else "🟠 Risk alert",
    )
    message = alert.message_ko if code == "ko" else alert.message_en
    seen, usual = _seen_and_usual(alert, unit, code)
    onset = getattr(alert, "onset", None)
    began = onset.astimezone(zone) if onset is not None and zone else onset
    if began is not None:
        minutes = max(0, round((end - began).total_seconds() / 60))
        since = tr(
            code,
            f"시작: {began:%H:%M}쯤 (지금까지 {minutes}분, 마지막 확인 {end:%H:%M})",
            f"Began: about {began:%H:%M} ({minutes} min so far, last checked {end:%H:%M})",
        )
    else:  # a rule over hours of orders cannot place its start closer than its window
        since = tr(
            code,
            f"언제: {start:%m/%d %H:%M}~{end:%H:%M} 사이",
            f"When: {start:%b %d %H:%M}–{end:%H:%M}",
        )
    body = [
        heading(title),
        text(message, weight="Bolder"),
        subtle(tr(code, f"어디: {where(alert.scope, 'ko')}", f"Where: {where(alert.scope, 'en')}")),
        subtle(since),
        text(
            tr(
                code,
                f"본 값 {seen} · 예상 약 {usual} ({start:%H:%M}~{end:%H:%M})",
                f"Seen {seen} · about {usual} expected ({start:%H:%M}–{end:%H:%M})",
            )
        ),
        subtle(tr(code, "먼저 확인할 것", "Check first")),
        bullets([ko if code == "ko" else en for ko, en in FIRST_CHECKS.get(alert.rule, ())]),
    ]
    actions = [
        _execute(tr(code, "확인", "Acknowledge"), ACK_VERB, alert),
        _execute(tr(code, "1시간 미루기", "Snooze 1 h"), SNOOZE_VERB, alert),
        _execute(tr(code, "왜?", "Why?"), WHY_VERB, alert),
        _execute(tr(code, "도움 안 됨", "Not useful"), NOT_USEFUL_VERB, alert),
    ]
    return build_card(body, lang=code, actions=actions, summary=message)


def _seen_and_usual(alert: AlertLike, unit: str, code: Lang) -> tuple[str, str]:
    """What was seen and what was expected, as the card writes them ("2", "약 18")."""
    seen = format_value(alert.value, unit, code)
    if unit == "count":
        return seen, format_about(alert.expected, code)
    return seen, format_value(alert.expected, unit, code)


def _quiet_card(
    alert: AlertLike, code: Lang, zone: dt.tzinfo | None, quiet_since: dt.datetime
) -> dict[str, Any]:
    unit = RULE_UNITS.get(alert.rule, "decimal")
    start = alert.window_start.astimezone(zone) if zone else alert.window_start
    end = alert.window_end.astimezone(zone) if zone else alert.window_end
    calm = quiet_since.astimezone(zone) if zone else quiet_since
    onset = getattr(alert, "onset", None)
    began = (onset.astimezone(zone) if zone else onset) if onset is not None else start
    quiet = round((calm - end).total_seconds() / 60)
    message = alert.message_ko if code == "ko" else alert.message_en
    seen, usual = _seen_and_usual(alert, unit, code)
    body = [
        heading(tr(code, "🟢 정상으로 돌아왔어요", "🟢 Back to normal")),
        text(message),
        subtle(tr(code, f"어디: {where(alert.scope, 'ko')}", f"Where: {where(alert.scope, 'en')}")),
        text(
            tr(
                code,
                f"{began:%H:%M}쯤 시작, 마지막 경보 {end:%H:%M} · "
                f"{calm:%H:%M} 기준 {quiet}분째 경보 없음",
                f"Began about {began:%H:%M}, last alert {end:%H:%M}; "
                f"no alert for {quiet} min as of {calm:%H:%M}.",
            ),
            weight="Bolder",
        ),
        subtle(
            tr(
                code,
                f"마지막 경보의 본 값 {seen} · 예상 약 {usual}",
                f"At the last alert: seen {seen} · about {usual} expected",
            )
        ),
    ]
    actions = [
        _execute(tr(code, "왜?", "Why?"), WHY_VERB, alert),
        _execute(tr(code, "도움 안 됨", "Not useful"), NOT_USEFUL_VERB, alert),
    ]
    summary = tr(code, f"정상으로 돌아왔어요: {message}", f"Back to normal: {message}")
    return build_card(body, lang=code, actions=actions, summary=summary)


def where(scope: str, lang: Lang) -> str:
    """A rule's scope as people read it: the whole store, a checkout step, an error type."""
    ko = lang == "ko"
    if scope == "store":
        return "스토어 전체" if ko else "the whole store"
    kind, _, name = scope.partition(":")
    if kind == "step":
        label_ko, label_en = STEP_LABELS.get(name, (name, name))
        return f"{label_ko} 단계 ({name})" if ko else f"the {label_en} step ({name})"
    if kind == "error":
        return f"오류 {name}" if ko else f"error {name}"
    return scope


def acknowledged(
    card: dict[str, Any], *, name: str, when: dt.datetime, lang: str
) -> dict[str, Any]:
    """The alert card as everyone sees it once someone acknowledged it."""
    code: Lang = lang_code(lang)
    updated = {k: v for k, v in card.items() if k != "actions"}
    note = tr(code, f"✅ 확인: {name}, {when:%H:%M}", f"✅ Acknowledged by {name}, {when:%H:%M}")
    updated["body"] = [
        *card.get("body", []),
        {"type": "TextBlock", "text": note, "wrap": True, "color": "Good", "weight": "Bolder"},
    ]
    return updated


def _execute(title: str, verb: str, alert: AlertLike) -> ac.ActionExecute:
    data = {
        "alert_id": getattr(alert, "episode", alert.alert_id),
        "rule": alert.rule,
        "scope": alert.scope,
    }
    fallback = ac.ActionSubmit(title=title, data={"verb": verb, **data})
    return ac.ActionExecute(title=title, verb=verb, data=data, fallback=fallback)
