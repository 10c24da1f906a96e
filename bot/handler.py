"""The Teams side of Commercy: a TeamsActivityHandler that turns activities into answers.

Everything Teams-specific lives here (and in bot/app.py): installs and welcome cards,
conversation references for proactive messages, typing indicators, de-duplicating
Teams' retries, the 15-second reply budget, card actions. The answering itself is
`dialogs.router.answer`, shared with `commercy ask`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount
from msrest.serialization import Model

import cards
from bot import streaming
from bot.state import State
from bot.state.feedback import NOT_USEFUL, USEFUL
from bot.teams_ai import Presentation, is_feedback, send_answer, take_feedback
from cards.alert import ACK_VERB, NOT_USEFUL_VERB, SNOOZE_VERB, WHY_VERB
from cards.assistant import CONFIRM_VERB
from dialogs.context import AskContext, Reply
from dialogs.followups import progress_line
from dialogs.llm import words_to
from dialogs.rag import Library
from dialogs.router import answer, language_of
from dialogs.why import why_reply
from kpi.insights.alerts import RULES
from kpi.metrics.query import MetricQuery

log = logging.getLogger(__name__)

# Longest text the bot reads; Teams itself caps messages near 28 KB.
MAX_TEXT = 2_000
ACKNOWLEDGE = {
    "ko": "계산 중이에요. 끝나는 대로 이 대화에 결과를 보낼게요.",
    "en": "Working on it; I'll post the answer here when it's ready.",
}


class CommercyBot(TeamsActivityHandler):
    def __init__(
        self,
        *,
        state: State,
        warehouse: Any,
        zone: str,
        today: Callable[[], dt.date],
        chart_url: Callable[[bytes], str],
        app_id: str,
        reply_budget_seconds: float = 10.0,
        send_later: Callable[[dict, Callable], Any] | None = None,
        library: Library | None = None,
        assistant: Any = None,
        news_path: str | None = None,
        stream_after_seconds: float = streaming.STREAM_AFTER_SECONDS,
        presentation: Presentation | None = None,
    ) -> None:
        self.state = state
        self.warehouse = warehouse
        self.zone = zone
        self.today = today
        self.chart_url = chart_url
        self.app_id = app_id
        self.reply_budget_seconds = reply_budget_seconds
        self.send_later = send_later
        self.library = library
        self.assistant = assistant  # dialogs.assistant.Assistant with an LLM; None offline
        self.news_path = news_path
        self.stream_after_seconds = stream_after_seconds
        # Labels, citations and feedback buttons on answers (bot/teams_ai.py).
        self.presentation = presentation or Presentation(
            link=library.link if library is not None else (lambda _hit: None)
        )
        self.background: set[asyncio.Task] = set()

    # -- installs -------------------------------------------------------------------------
    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        self._remember(turn_context)
        self.state.conversations.subscribe(turn_context.activity.conversation.id)
        await self._welcome(turn_context)

    async def on_installation_update_remove(self, turn_context: TurnContext) -> None:
        self.state.conversations.forget(turn_context.activity.conversation.id)

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        bot_id = turn_context.activity.recipient.id if turn_context.activity.recipient else None
        if any(member.id == bot_id for member in members_added):
            self._remember(turn_context)
            self.state.conversations.subscribe(turn_context.activity.conversation.id)
            await self._welcome(turn_context)

    async def on_members_removed_activity(
        self, members_removed: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        bot_id = turn_context.activity.recipient.id if turn_context.activity.recipient else None
        if any(member.id == bot_id for member in members_removed):
            self.state.conversations.forget(turn_context.activity.conversation.id)

    async def _welcome(self, turn_context: TurnContext) -> None:
        if not self.state.conversations.first_welcome(turn_context.activity.conversation.id):
            return
        stored = self.state.conversations.get(turn_context.activity.conversation.id)
        lang = _locale_lang(turn_context.activity.locale) or (stored.lang if stored else "ko")
        card = cards.welcome_card(lang=lang, scope=_scope(turn_context.activity))
        await turn_context.send_activity(MessageFactory.attachment(CardFactory.adaptive_card(card)))

    # -- messages -------------------------------------------------------------------------
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if not self._first_time(activity):
            log.info("duplicate activity %s ignored", activity.id)
            return
        value = activity.value if isinstance(activity.value, dict) else {}
        if value.get("verb") == CONFIRM_VERB:  # the Action.Submit fallback of "👍 Correct"
            await turn_context.send_activity(self._confirm(value))
            return
        if value.get("verb") == NOT_USEFUL_VERB:  # the Action.Submit fallback of "Not useful"
            thanks = self._not_useful(turn_context, value)
            if thanks is None:
                log.info("a Not useful click naming no known alert was ignored")
            else:
                await turn_context.send_activity(MessageFactory.text(thanks))
            return
        text = _question_text(turn_context)
        lang = language_of(text)
        self._remember(turn_context, lang)
        if not text:
            await self._send_reply(turn_context, answer_help(lang))
            return
        await turn_context.send_activity(Activity(type=ActivityTypes.typing))
        await self._answer_within_budget(turn_context, text, lang)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        """Action.Execute ("adaptiveCard/action"): an "ask" button sends a question; the
        answer comes as a new message and the clicked card stays as it was. A 👍/👎 on an
        answer ("message/submitAction") is stored with the answer (bot/teams_ai.py)."""
        if is_feedback(turn_context.activity):
            response, _answer = take_feedback(
                turn_context.activity, self.state.answers, self._keep_example
            )
            return response
        if turn_context.activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        value = turn_context.activity.value if isinstance(turn_context.activity.value, dict) else {}
        action = value.get("action") if isinstance(value.get("action"), dict) else {}
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        verb = action.get("verb")
        if verb in ALERT_VERBS:
            return await self._alert_action(turn_context, verb, data)
        if verb == CONFIRM_VERB:
            thanks = self._confirm(data)
            return _invoke_response(200, "application/vnd.microsoft.activity.message", thanks)
        text = str(data.get("text", ""))[:MAX_TEXT].strip()
        if verb != "ask" or not text:
            return _invoke_response(
                400,
                "application/vnd.microsoft.error",
                {"code": "BadRequest", "message": "unknown action"},
            )
        lang = language_of(text)
        self._remember(turn_context, lang)
        await self._answer_within_budget(turn_context, text, lang)
        # The message type leaves the card in place (Universal Actions); botbuilder's
        # AdaptiveCardInvokeResponse cannot carry a string value, so the body is built here.
        message = "아래에 답했어요." if lang == "ko" else "Answered below."
        return _invoke_response(200, "application/vnd.microsoft.activity.message", message)

    async def _alert_action(
        self, turn_context: TurnContext, verb: str, data: dict
    ) -> InvokeResponse:
        """Acknowledge (the card changes for everyone), Snooze 1 h, Why? (driver analysis),
        Not useful (recorded for `commercy alerts status`). Acknowledge and Why? also
        record the alert as useful to the person who clicked."""
        if verb == NOT_USEFUL_VERB:
            thanks = self._not_useful(turn_context, data)
            if thanks is None:
                problem = {"code": "BadRequest", "message": "unknown alert or rule"}
                return _invoke_response(400, "application/vnd.microsoft.error", problem)
            # Only the person who clicked sees it: a verdict is theirs, not news for the chat.
            return _invoke_response(200, "application/vnd.microsoft.activity.message", thanks)
        conversation_id = turn_context.activity.conversation.id
        stored = self.state.conversations.get(conversation_id)
        alert_id, rule, scope = (str(data.get(k, "")) for k in ("alert_id", "rule", "scope"))
        card = self.state.ledger.delivered_card(alert_id, conversation_id)
        # Replies speak the alert card's language, whoever clicks.
        lang = (card or {}).get("lang") or (stored.lang if stored else "ko")
        if verb == ACK_VERB:
            if card is None:
                problem = {"code": "NotFound", "message": "unknown alert"}
                return _invoke_response(404, "application/vnd.microsoft.error", problem)
            who = getattr(turn_context.activity.from_property, "name", None) or "?"
            self._mark(turn_context, data, USEFUL)  # acted on: the alert was worth a look
            when = self._now()
            updated = cards.acknowledged(card, name=who, when=when, lang=lang)
            # Kept before the card changes: a later escalation of this episode rewrites the
            # message and must show the same note (bot/delivery.py re-applies it).
            self.state.ledger.acknowledge(alert_id, conversation_id, who, when.isoformat())
            message = MessageFactory.attachment(CardFactory.adaptive_card(updated))
            message.id = turn_context.activity.reply_to_id
            if message.id:
                await turn_context.update_activity(message)
            return _invoke_response(200, "application/vnd.microsoft.card.adaptive", updated)
        if verb == SNOOZE_VERB:
            self.state.alerts.snooze(conversation_id, rule, scope, 3600)
            text = ("이 알림을 1시간 동안 미뤘어요." if lang == "ko"
                    else "Snoozed this alert for an hour.")  # fmt: skip
            await turn_context.send_activity(MessageFactory.text(text))
            return _invoke_response(200, "application/vnd.microsoft.activity.message", text)
        self._mark(turn_context, data, USEFUL)  # asking why is acting on it
        await self._explain_alert(turn_context, rule, lang)
        done = "아래에 답했어요." if lang == "ko" else "Answered below."
        return _invoke_response(200, "application/vnd.microsoft.activity.message", done)

    def _not_useful(self, turn_context: TurnContext, data: dict) -> str | None:
        """Record "Not useful" on an alert; the thanks to show, in the alert card's
        language, or None when the click names no alert or an unknown rule."""
        if not self._mark(turn_context, data, NOT_USEFUL):
            return None
        alert_id, rule = str(data["alert_id"]).strip(), str(data["rule"])
        conversation_id = turn_context.activity.conversation.id
        card = self.state.ledger.delivered_card(alert_id, conversation_id)
        stored = self.state.conversations.get(conversation_id)
        lang = (card or {}).get("lang") or (stored.lang if stored else "ko")
        if lang == "ko":
            return (f"알려 주셔서 고마워요. 이 규칙({rule})이 자주 도움이 안 되면 관리자가 "
                    "민감도를 낮출 수 있어요.")  # fmt: skip
        return (f"Thanks for telling me. If this rule ({rule}) is often not useful, an admin "
                "can make it less sensitive.")  # fmt: skip

    def _mark(self, turn_context: TurnContext, data: dict, verdict: str) -> bool:
        """Store one person's verdict on the alert `data` names; False when the click
        names no alert, an unknown rule, or comes from no one."""
        click = _alert_click(data)
        activity = turn_context.activity
        person = activity.from_property
        # aadObjectId is the person across chats and channels; the channel id otherwise
        # (the Agents Playground, other channels).
        user_id = getattr(person, "aad_object_id", None) or getattr(person, "id", None) or ""
        if click is None or not user_id or not activity.conversation:
            return False
        alert_id, rule, scope = click
        self.state.feedback.mark(
            alert_id,
            rule=rule,
            scope=scope,
            conversation_id=activity.conversation.id,
            user_id=str(user_id)[:250],
            user_name=str(getattr(person, "name", None) or ""),
            verdict=verdict,
        )
        return True

    async def _explain_alert(self, turn_context: TurnContext, rule: str, lang: str) -> None:
        from cards.alert import RULE_METRIC

        context = AskContext(warehouse=self.warehouse, zone=self.zone, as_of=self.today())
        metric = RULE_METRIC.get(rule, "revenue")
        if metric == "cart_abandonment_rate":  # a hit-grain metric: explain conversion instead
            metric = "conversion_rate"
        reply = await asyncio.to_thread(why_reply, metric, context, lang)
        await self._send_reply(turn_context, reply)

    def _confirm(self, data: dict) -> str:
        """ "👍 Correct" on an answer: its question and query become a few-shot example."""
        question = str(data.get("question", ""))[:MAX_TEXT]
        lang = language_of(question)
        query = data.get("query") if isinstance(data.get("query"), dict) else {}
        kept = self._keep_example(question, query)
        if lang == "ko":
            return "고마워요! 비슷한 질문에 참고할게요." if kept else "고마워요!"
        return "Thanks! I'll use it for similar questions." if kept else "Thanks!"

    def _keep_example(self, question: str, query: dict) -> bool:
        """The one way a confirmed answer becomes a few-shot example: the card's
        "👍 Correct" and Teams' own 👍 on a numeric answer both come here."""
        return self.assistant is not None and self.assistant.confirm(question, query)

    def _now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    async def _answer_within_budget(self, turn_context: TurnContext, text: str, lang: str) -> None:
        """Answer inside the reply budget, or acknowledge and finish proactively. In a
        personal chat an answer slower than `stream_after_seconds` is streamed: its
        progress line at once, the answer as the stream's final message (bot/streaming.py)."""
        conversation_id = turn_context.activity.conversation.id
        loop = asyncio.get_running_loop()
        personal = streaming.can_stream(turn_context.activity)
        words = streaming.Words(loop) if personal else None
        work = asyncio.create_task(asyncio.to_thread(self._answer, conversation_id, text, words))
        deadline = loop.time() + self.reply_budget_seconds
        stream, chunks = None, None
        sender = streaming.Sender(turn_context.send_activity)
        if personal:
            wait = min(self.stream_after_seconds, self.reply_budget_seconds)
            done, _ = await asyncio.wait({work}, timeout=wait)
            if work not in done:
                line = self._progress_line(conversation_id, text)
                stream = await streaming.Stream.open(turn_context, line)
            if stream is not None and words is not None:
                chunks = asyncio.create_task(streaming.pump(stream, words, sender, work))
        left = max(deadline - loop.time(), 0)
        done, _ = await asyncio.wait({work}, timeout=left)
        if work in done:
            if chunks is not None:
                await chunks  # the last chunk before the final message, never after it
            # A failure raises below and becomes the turn's apology, which then ends the stream.
            failed = work.exception() is not None
            streaming.dress(turn_context, None if failed else work.result(), stream)
            await self._send_reply(turn_context, work.result(), text)
            return
        if stream is None:  # an open stream already says the answer is on its way
            await turn_context.send_activity(MessageFactory.text(ACKNOWLEDGE[lang]))
        reference = TurnContext.get_conversation_reference(turn_context.activity)
        sender.send = self._proactive_send(reference)  # the turn is over; chunks go on
        task = asyncio.create_task(self._finish_later(reference, work, lang, stream, text, chunks))
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def _proactive_send(self, reference: Any) -> streaming.Send:
        """Send one activity to `reference`'s chat outside any turn; its resource response."""

        async def send(activity: Activity) -> Any:
            sent: dict[str, Any] = {}

            async def callback(turn_context: TurnContext) -> None:
                sent["response"] = await turn_context.send_activity(activity)

            if self.send_later is None:
                raise RuntimeError("no proactive sender configured")
            await self.send_later(reference, callback)
            return sent.get("response")

        return send

    def _progress_line(self, conversation_id: str, text: str) -> str:
        """What the stream's informative line says: the parser names the metric and
        period (cheap, never raises); the last query makes "그럼 모바일은?" readable."""
        previous = self.state.memory.last_query(conversation_id)
        query = _query_from_dict(previous) if previous else None
        return progress_line(text, as_of=self.today(), previous=query)

    async def _finish_later(
        self,
        reference: Any,
        work: asyncio.Task,
        lang: str,
        stream: streaming.Stream | None = None,
        question: str = "",
        chunks: asyncio.Task | None = None,
    ) -> None:
        try:
            reply = await work
        except Exception:
            correlation_id = uuid.uuid4().hex[:12]
            log.exception("answering failed after the acknowledgement [%s]", correlation_id)
            reply = Reply(
                "error",
                lang,
                _apology(lang, correlation_id),
                cards.error_card(lang=lang, correlation_id=correlation_id),
            )

        if chunks is not None:
            await chunks

        async def send(turn_context: TurnContext) -> None:
            streaming.dress(turn_context, reply, stream)
            await self._send_reply(turn_context, reply, question)

        if self.send_later is not None:
            await self.send_later(reference, send)

    def _answer(
        self, conversation_id: str, text: str, words: streaming.Words | None = None
    ) -> Reply:
        """The reply to `text` (in a worker thread); a model's words, as it writes them,
        go to `words` when the chat can show a stream."""
        previous = self.state.memory.last_query(conversation_id)
        context = AskContext(
            warehouse=self.warehouse,
            zone=self.zone,
            as_of=self.today(),
            previous=_query_from_dict(previous) if previous else None,
            previous_why=(previous or {}).get("why"),
            save_chart=self.chart_url,
            library=self.library,
            assistant=self.assistant,
            news_path=self.news_path,
        )
        with words_to(words) if words is not None else contextlib.nullcontext():
            reply = answer(text, context)
        if reply.command == "alerts_on":
            self.state.conversations.set_alerts(conversation_id, True)
        elif reply.command == "alerts_off":
            self.state.conversations.set_alerts(conversation_id, False)
        elif reply.command == "summary_time" and reply.argument:
            self.state.conversations.set_summary_time(conversation_id, reply.argument)
        if reply.query is not None:
            # A why answer's kind rides along, so "그럼 모바일은?" after it asks why again.
            why = {"why": reply.facts["kind"]} if reply.facts else {}
            self.state.memory.save_last_query(conversation_id, {**reply.query.to_dict(), **why})
        return reply

    async def _send_reply(
        self, turn_context: TurnContext, reply: Reply, question: str = ""
    ) -> None:
        # The labels, citations and feedback buttons, and the record a 👍/👎 finds.
        await send_answer(turn_context, reply, question=question, answers=self.state.answers,
                          presentation=self.presentation)  # fmt: skip

    # -- bookkeeping ----------------------------------------------------------------------
    def _first_time(self, activity: Activity) -> bool:
        if not activity.id or not activity.conversation:
            return True
        return self.state.memory.first_time(activity.conversation.id, activity.id)

    def _remember(self, turn_context: TurnContext, lang: str | None = None) -> None:
        activity = turn_context.activity
        if not activity.conversation or not activity.conversation.id:
            return
        reference = TurnContext.get_conversation_reference(activity)
        self.state.conversations.save(
            activity.conversation.id, reference.serialize(), scope=_scope(activity), lang=lang
        )


class _InvokeBody(Model):
    """An Adaptive Card invoke response whose value may be a string (botbuilder's own
    model types it as an object, and the adapter serialises bodies with msrest)."""

    _attribute_map: ClassVar[dict[str, dict[str, str]]] = {
        "status_code": {"key": "statusCode", "type": "int"},
        "type": {"key": "type", "type": "str"},
        "value": {"key": "value", "type": "object"},
    }

    def __init__(self, *, status_code: int, type: str, value: Any) -> None:
        super().__init__()
        self.status_code, self.type, self.value = status_code, type, value


ALERT_VERBS = (ACK_VERB, SNOOZE_VERB, WHY_VERB, NOT_USEFUL_VERB)
# Longest alert id and scope a click may carry (the state table's columns).
MAX_ALERT_ID, MAX_SCOPE = 200, 150


def _alert_click(data: dict) -> tuple[str, str, str] | None:
    """(alert id, rule, scope) of an alert button's data, or None when it is malformed:
    no alert id, a rule the risk check does not have, or values too long to be ours."""
    alert_id, rule, scope = (data.get(k) for k in ("alert_id", "rule", "scope"))
    if scope is None:
        scope = ""
    if not isinstance(alert_id, str) or not isinstance(rule, str) or not isinstance(scope, str):
        return None
    alert_id = alert_id.strip()
    if not alert_id or len(alert_id) > MAX_ALERT_ID or len(scope) > MAX_SCOPE:
        return None
    if rule not in RULES:
        return None
    return alert_id, rule, scope


def _invoke_response(status: int, kind: str, value: Any) -> InvokeResponse:
    return InvokeResponse(
        status=status, body=_InvokeBody(status_code=status, type=kind, value=value)
    )


def answer_help(lang: str) -> Reply:
    return Reply("help", lang, "", cards.help_card(lang=lang))


def _apology(lang: str, correlation_id: str) -> str:
    if lang == "ko":
        return (
            "죄송해요, 답을 만들지 못했어요. 잠시 후 다시 물어봐 주세요. "
            f"(오류 번호 {correlation_id})"
        )
    return f"Sorry, I couldn't answer that. Please try again shortly. (Error id {correlation_id})"


def _question_text(turn_context: TurnContext) -> str:
    """The question: the text without the bot's @mention, or an Action.Submit's data."""
    activity = turn_context.activity
    value = activity.value if isinstance(activity.value, dict) else {}
    if isinstance(value.get("text"), str):
        text = value["text"]
    else:
        text = (
            TurnContext.remove_recipient_mention(activity) if activity.entities else activity.text
        )
    text = (text or "").replace("\x00", "")
    return "".join(c for c in text if c.isprintable() or c in "\n\t").strip()[:MAX_TEXT]


def _scope(activity: Activity) -> str:
    conversation_type = (
        getattr(activity.conversation, "conversation_type", None) if activity.conversation else None
    )
    return {"channel": "team", "groupChat": "groupChat"}.get(conversation_type or "", "personal")


def _locale_lang(locale: str | None) -> str | None:
    if not locale:
        return None
    return "ko" if locale.lower().startswith("ko") else "en"


def _query_from_dict(data: dict[str, Any]) -> MetricQuery | None:
    try:
        return MetricQuery.from_dict(data)
    except Exception:  # an old or damaged record: no follow-up context, not a failure
        return None
