"""What an agent (and a webhook) reads of a handoff, case first: the question that caused it
and why, then what the bot answered earlier (with the customer's thumbs) and what else it
tried; then the transcript, the customer and their earlier chats.

The case is computed from the messages up to the bot's handoff message, so it reads the same
whenever it is built; what came after is counted by `new_messages`. The queue, the console
page, the agent API and the webhook all build it here: their numbers agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot import queries
from bot.models import Conversation, Handoff, Message

REASONS = {
    "low_confidence": "the bot found no answer it was confident in",
    "visitor_request": "the customer asked for a person",
    "repeated_miss": "the bot's answers did not help twice in a row",
    "negative_feedback": "the customer said an answer did not help",
    "no_index": "the knowledge base was not available",
}
LABELS = {"answer": "answered", "clarify": "asked back", "handoff": "handed off"}
FEEDBACK = {"helpful": "customer: helpful", "not_helpful": "customer: not helpful"}


@dataclass(frozen=True)
class Case:
    """Why a chat is with the team, in the order an agent needs it."""

    question: str | None  # what the customer needed help with when the bot gave up
    request: str | None  # their words asking for a person, if that was the reason
    reason: str
    answered: list[dict[str, Any]]  # answers the bot gave before, with the customer's thumbs
    tried: list[dict[str, Any]]  # clarifications and the candidates it did not trust
    new_messages: int  # from the customer since the handoff
    summary: str

    def as_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "request": self.request,
            "reason": self.reason,
            "reason_text": REASONS.get(self.reason, self.reason),
            "answered": self.answered,
            "tried": self.tried,
            "new_messages": self.new_messages,
        }


def split_at_handoff(
    messages: Sequence[Message], handoff_id: str
) -> tuple[list[Message], list[Message]]:
    """The messages up to and including the bot's message for this handoff, and the rest."""
    marks = [i for i, m in enumerate(messages) if m.role == "bot" and m.kind == "handoff"]
    named = [i for i in marks if (messages[i].details or {}).get("handoff_id") == handoff_id]
    # A handoff recorded before messages named theirs: the latest handoff message.
    cut = named[0] if named else (marks[-1] if marks else len(messages) - 1)
    return list(messages[: cut + 1]), list(messages[cut + 1 :])


def attempts(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Each bot reply with the question it answered, the articles it weighed, the thumbs."""
    by_id = {m.id: m for m in messages}
    found = []
    for m in messages:
        if m.role != "bot" or m.kind not in LABELS:
            continue
        details = m.details or {}
        retrieval = details.get("retrieval", {})
        if m.kind == "handoff" and not retrieval:
            continue  # handing off on request is not an attempt to answer
        question = by_id.get(m.reply_to_id or "")
        found.append(
            {
                "seq": m.seq,
                "question": question.text if question else None,
                "kind": m.kind,
                "label": LABELS[m.kind],
                "answer": m.text,
                "confidence": m.confidence,
                "reason": details.get("reason"),
                "articles": retrieval.get("candidates", []),
                "feedback": details.get("feedback"),
            }
        )
    return found


def case_of(messages: Sequence[Message], handoff: Handoff) -> Case:
    """The case of `handoff`, from the conversation's messages (internal notes left out)."""
    before, after = split_at_handoff(messages, handoff.id)
    tries = attempts(before)
    by_id = {m.id: m for m in before}
    marker = before[-1] if before and before[-1].kind == "handoff" else None
    trigger = by_id.get(marker.reply_to_id or "") if marker else None
    own = tries[-1] if tries and marker and tries[-1]["seq"] == marker.seq else None
    question, request = trigger.text if trigger else None, None
    if handoff.reason == "negative_feedback":
        disliked = [a for a in tries if a["feedback"] == "not_helpful"]
        question = disliked[-1]["question"] if disliked else question
    elif handoff.reason == "visitor_request" and own is None:
        request = question
        earlier = [a for a in tries if a["question"]]
        question = earlier[-1]["question"] if earlier else None
    answered = [a for a in tries if a["kind"] == "answer"]
    tried = [a for a in tries if a["kind"] == "clarify" or (a is own and a["articles"])]
    new = sum(1 for m in after if m.role == "visitor")
    return Case(
        question=question,
        request=request,
        reason=handoff.reason,
        answered=answered,
        tried=tried,
        new_messages=new,
        summary=_summary(question, request, handoff.reason, answered, tried),
    )


def _quote(text: str | None, limit: int = 120) -> str:
    text = " ".join((text or "").split())
    return "“" + (text if len(text) <= limit else text[: limit - 1] + "…") + "”"


def _titles(articles: Sequence[dict[str, Any]], *, scores: bool = False) -> str:
    names = [
        f"{a['title']} {a['score']:.2f}" if scores and "score" in a else str(a["title"])
        for a in articles[:3]
    ]
    return ", ".join(names)


def _summary(
    question: str | None,
    request: str | None,
    reason: str,
    answered: Sequence[dict[str, Any]],
    tried: Sequence[dict[str, Any]],
) -> str:
    """One paragraph for the queue: the question and why first, then the bot's history."""
    why = REASONS.get(reason, reason)
    if reason == "visitor_request":
        lead = "The customer asked for a person" + (f" ({_quote(request)})" if request else "")
        lead += f"; their question: {_quote(question)}." if question else "."
    elif question:
        lead = f"{_quote(question)}: {why}."
    else:
        lead = why[0].upper() + why[1:] + "."
    parts = [lead]
    if answered:
        items = []
        for a in answered[-3:]:
            item = _quote(a["question"], 60) + (
                f" with {_titles(a['articles'][:1])}" if a["articles"] else ""
            )
            if a["feedback"] in FEEDBACK:
                item += f" ({FEEDBACK[a['feedback']]})"
            items.append(item)
        parts.append("Answered earlier: " + "; ".join(items) + ".")
    for a in tried[-3:]:
        if a["kind"] == "clarify":
            parts.append(f"Asked back on {_quote(a['question'], 60)} ({_titles(a['articles'])}).")
        else:
            parts.append(f"Not confident in: {_titles(a['articles'], scores=True)}.")
    if not answered and not tried:
        parts.append("The bot had not answered anything.")
    return " ".join(parts)


def _customer(conversation: Conversation) -> dict[str, Any]:
    customer = conversation.customer
    return {
        "name": conversation.contact_name,
        "email": conversation.contact_email,
        "external_id": customer.external_id if customer else conversation.claimed_external_id,
        "verified": conversation.verified,
        "locale": conversation.locale,
        "lang": conversation.lang,
        "page_url": conversation.page_url,
        "attributes": conversation.attributes or {},
    }


def build_packet(
    *, session: Session, conversation: Conversation, handoff: Handoff, base_url: str
) -> dict[str, Any]:
    """Everything an agent needs to pick the chat up without asking anything again."""
    messages = queries.messages_after(session=session, conversation_id=conversation.id)
    case = case_of(messages, handoff)
    earlier = []
    if conversation.customer_id and conversation.verified:
        for other in queries.earlier_conversations(
            session=session, customer_id=conversation.customer_id, exclude=conversation.id
        ):
            first = next((m.text for m in other.messages if m.role == "visitor"), None)
            earlier.append(
                {
                    "id": other.id,
                    "created_at": other.created_at.isoformat(),
                    "status": other.status,
                    "first_message": first,
                    "handoffs": len(other.handoffs),
                }
            )
    return {
        "conversation_id": conversation.id,
        "handoff_id": handoff.id,
        "reason": handoff.reason,
        "created_at": handoff.created_at.isoformat(),
        "summary": case.summary,
        "case": case.as_json(),
        "transcript": [
            {
                "seq": m.seq,
                "role": m.role,
                "kind": m.kind,
                "text": m.text,
                "at": m.created_at.isoformat(),
                "agent": m.agent.name if m.agent else None,
            }
            for m in messages
        ],
        "attempts": attempts(messages),
        "customer": _customer(conversation),
        "earlier_conversations": earlier,
        "promise": {
            "mode": handoff.mode,
            "wait_minutes": handoff.wait_minutes,
            "answer_by": handoff.answer_by.isoformat() if handoff.answer_by else None,
        },
        "console_url": f"{base_url}/console/conversations/{conversation.id}",
    }
