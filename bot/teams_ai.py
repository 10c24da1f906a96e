"""What makes an answer look and behave like a Teams AI app's (issue 20): the "AI generated"
label, the sensitivity label, citation pills and the native 👍/👎 feedback buttons.

Each is an activity field, so this module turns a `Reply` into the activities to send
(`answer_activities`), sends and records them (`send_answer`), and takes a feedback click
(`take_feedback`). The dialogs know nothing of Teams; all of it is here.

The limits are Teams' own: a message over any of them is refused with HTTP 400 as a
whole, so they are enforced by truncating, never by hoping.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.schema import Activity, Entity
from msrest.serialization import Model

from bot.state.answers import REACTIONS, Answers, SentAnswer
from dialogs.context import Reply
from rag_indexer.index import Hit

# Teams' limits on the Message entity (a message past one is refused with 400).
MAX_NAME, MAX_ABSTRACT = 80, 160
MAX_KEYWORDS, MAX_KEYWORD = 3, 28
MAX_CITATIONS = 10
FEEDBACK_INVOKE = "message/submitAction"
FEEDBACK_CHANNEL_DATA = {"feedbackLoop": {"type": "default"}}
# Answers computed from the store's data carry the sensitivity label.
STORE_ROUTES = {"sql", "reasoning", "summary"}
# No feedback buttons on what is not an answer to a question.
NO_FEEDBACK_ROUTES = {"help", "greeting", "command", "error"}
_MARKER = re.compile(r"\[(\d{1,2})\]")
log = logging.getLogger(__name__)


class MessageEntity(Entity):
    """The root `https://schema.org/Message` entity. botbuilder 4.17's `Entity` serialises
    only `type`; the empty-key `additional_properties` map makes msrest write every other
    field at the entity's top level."""

    _attribute_map: ClassVar[dict[str, dict[str, str]]] = {
        **Entity._attribute_map,
        "additional_properties": {"key": "", "type": "{object}"},
    }

    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__(type="https://schema.org/Message")
        self.additional_properties = fields


@dataclass(frozen=True)
class Presentation:
    """What the bot adds to answers: the sensitivity label's name and description (empty
    name: none), and the link to a passage's page (None: no link)."""

    label: str = "Internal: store analytics"
    label_description: str = ""
    link: Callable[[Hit], str | None] = lambda _hit: None


def clip(value: str, limit: int) -> str:
    """`value` on one line, at most `limit` characters, an ellipsis where it was cut."""
    flat = " ".join(value.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def citation(position: int, hit: Hit, link: str | None) -> dict[str, Any]:
    """One Teams citation (a Claim whose appearance is the passage), within the limits."""
    name = clip(f"{hit.file} p.{hit.page}", MAX_NAME)
    # The abstract is required: a passage with no text shows its name.
    abstract = clip(hit.text, MAX_ABSTRACT) or name[:MAX_ABSTRACT]
    keywords = []
    for word in (*hit.matched, hit.section, hit.title):
        word = clip(str(word or ""), MAX_KEYWORD)
        if word and word not in keywords:
            keywords.append(word)
    appearance: dict[str, Any] = {
        "@type": "DigitalDocument",
        "name": name,
        "abstract": abstract,
        "keywords": keywords[:MAX_KEYWORDS],
    }
    if link:
        appearance["url"] = link
    return {"@type": "Claim", "position": position, "appearance": appearance}


def message_entity(
    *, ai_written: bool, citations: Sequence[dict[str, Any]] = (), label: str = "",
    label_description: str = "",
) -> MessageEntity | None:  # fmt: skip
    """The root Message entity, or None when the message needs none of its fields."""
    fields: dict[str, Any] = {"@type": "Message", "@context": "https://schema.org"}
    if ai_written:
        fields["additionalType"] = ["AIGeneratedContent"]
    if citations:
        fields["citation"] = list(citations[:MAX_CITATIONS])
    if label:
        fields["usageInfo"] = {
            "@type": "CreativeWork",
            "name": label,
            "description": label_description or label,
        }
    return MessageEntity(fields) if len(fields) > 2 else None


def cited_text(reply: Reply) -> str:
    """The reply's text with [n] markers only for passages that are cited (1..10); a
    quoting answer that names no passage cites its first, where its lead comes from."""
    kept = min(len(reply.hits), MAX_CITATIONS)
    text = _MARKER.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= kept else "", reply.text)
    if kept and not _MARKER.search(text):
        text = f"{text} [1]"
    return text


def citations_of(reply: Reply, link: Callable[[Hit], str | None]) -> list[dict[str, Any]]:
    """The Teams citations of the passages the text cites, numbered as its markers."""
    text = cited_text(reply)
    used = sorted({int(n) for n in _MARKER.findall(text)})
    return [citation(n, reply.hits[n - 1], link(reply.hits[n - 1])) for n in used]


def uses_store_data(reply: Reply) -> bool:
    return bool(STORE_ROUTES & set(reply.route.split("+"))) or reply.query is not None


def answer_activities(reply: Reply, presentation: Presentation) -> list[Activity]:
    """The messages one reply becomes. Citation pills do not render on a message with an
    attachment, so a card answer that cites passages is the card and then its cited text
    as a message of its own; each carries the labels and the feedback buttons."""
    label = presentation.label if uses_store_data(reply) else ""
    feedback = reply.route not in NO_FEEDBACK_ROUTES
    citations = citations_of(reply, presentation.link) if reply.hits else []
    messages = []
    if reply.card is not None:
        card = MessageFactory.attachment(CardFactory.adaptive_card(reply.card))
        card.summary = reply.text[:200]  # what notifications and old clients show
        messages.append((card, []))
    if reply.card is None or citations:
        text = cited_text(reply) if citations else reply.text
        messages.append((MessageFactory.text(text), citations))
    activities = []
    for message, cited in messages:
        entity = message_entity(ai_written=reply.ai_written, citations=cited, label=label,
                                label_description=presentation.label_description)  # fmt: skip
        if entity is not None:
            message.entities = [entity]
        if feedback:
            message.channel_data = dict(FEEDBACK_CHANNEL_DATA)
        activities.append(message)
    return activities


async def send_answer(
    turn_context: TurnContext,
    reply: Reply,
    *,
    question: str,
    answers: Answers,
    presentation: Presentation,
) -> list[str]:
    """Send the reply's messages and record each one sent with feedback buttons, so a
    later 👍/👎 finds its question and query. Returns the message ids."""
    answer_id = uuid.uuid4().hex
    conversation_id = turn_context.activity.conversation.id
    ids = []
    for activity in answer_activities(reply, presentation):
        sent = await turn_context.send_activity(activity)
        message_id = getattr(sent, "id", None)
        if message_id:
            ids.append(message_id)
        if not (message_id and activity.channel_data):
            continue
        try:
            answers.record(
                answer_id,
                conversation_id=conversation_id,
                message_id=message_id,
                question=question,
                route=reply.route,
                lang=reply.lang,
                query=reply.query.to_dict() if reply.query is not None else None,
                example=reply.example,
                answer_text=reply.text,
            )
        except Exception:  # the answer is out: a lost record must not become an apology
            log.exception("could not record answer message %s", message_id)
    return ids


class _EmptyBody(Model):
    """An invoke response body of `{}`: the adapter serialises bodies with msrest, which
    fails on a plain dict, and Teams refuses a null body for a feedback invoke."""

    _attribute_map: ClassVar[dict[str, dict[str, str]]] = {}


def is_feedback(activity: Activity) -> bool:
    value = activity.value if isinstance(activity.value, dict) else {}
    return activity.name == FEEDBACK_INVOKE and value.get("actionName") == "feedback"


def parse_feedback(value: Any) -> tuple[str, str] | None:
    """(reaction, comment) of a feedback invoke's value, or None when malformed. Teams
    sends the comment as a JSON string {"feedbackText": ...}; the Playground as text."""
    action = value.get("actionValue") if isinstance(value, dict) else None
    if not isinstance(action, dict) or action.get("reaction") not in REACTIONS:
        return None
    raw = action.get("feedback")
    comment = ""
    if isinstance(raw, dict):
        comment = str(raw.get("feedbackText") or "")
    elif isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw
        comment = str(parsed.get("feedbackText") or "") if isinstance(parsed, dict) else raw
    return action["reaction"], comment.strip()


def take_feedback(
    activity: Activity, answers: Answers, keep_example: Callable[[str, dict], bool]
) -> tuple[InvokeResponse, SentAnswer | None]:
    """Store a 👍/👎 click with the answer it is about; a 👍 on an answer the model read
    as a catalog query keeps it as a few-shot example, as the card's "👍 Correct" does.
    Answers 200 `{}` (a malformed click: 400)."""
    parsed = parse_feedback(activity.value)
    if parsed is None or not activity.conversation:
        return InvokeResponse(status=400, body=_EmptyBody()), None
    reaction, comment = parsed
    conversation_id = activity.conversation.id
    # The Agents Playground sends no replyToId: the click is then taken to be on the
    # conversation's latest answer (Teams always names the message).
    answer = answers.find(conversation_id, activity.reply_to_id)
    person = activity.from_property
    user_id = getattr(person, "aad_object_id", None) or getattr(person, "id", None) or ""
    answers.add_feedback(
        answer=answer,
        conversation_id=conversation_id,
        message_id=activity.reply_to_id,
        reaction=reaction,
        comment=comment,
        user_id=str(user_id),
        user_name=str(getattr(person, "name", None) or ""),
    )
    if reaction == "like" and answer is not None and answer.example:
        keep_example(answer.question, answer.example)
    return InvokeResponse(status=200, body=_EmptyBody()), answer
