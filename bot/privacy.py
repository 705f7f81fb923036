"""A customer's data on request, and nothing kept longer than the retention period.

`find` gathers everything about one person (by e-mail address or the site's external id):
their customer row, their conversations with messages, handoff packets, feedback and ratings,
and the outbox rows (webhooks, e-mails) that carried any of it. `export` returns that as JSON,
`delete` removes all of it, `purge` removes conversations untouched for `retention_days`.
Keyword-only, session first, never committing: the caller's unit of work decides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, cast, delete, func, or_, select
from sqlalchemy.orm import Session

from bot.models import Conversation, Customer, Delivery, Feedback, Handoff, Message


@dataclass
class Found:
    """Everything stored about one person."""

    customers: list[Customer] = field(default_factory=list)
    conversations: list[Conversation] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.customers or self.conversations or self.deliveries)


def find(*, session: Session, email: str | None = None, external_id: str | None = None) -> Found:
    """The customer rows, conversations and outbox rows of whoever has this e-mail address
    (typed into the widget or vouched for by the site) or this external id."""
    if not email and not external_id:
        raise ValueError("give an e-mail address or an external id")
    email = email.strip().lower() if email else None
    customer_match = []
    conversation_match = []
    if email:
        customer_match.append(func.lower(Customer.email) == email)
        conversation_match.append(func.lower(Conversation.visitor_email) == email)
    if external_id:
        customer_match.append(Customer.external_id == external_id)
        conversation_match.append(Conversation.claimed_external_id == external_id)
    customers = list(session.scalars(select(Customer).where(or_(*customer_match))))
    if customers:  # their chats, signed in or not (the address they typed is theirs too)
        conversation_match.append(Conversation.customer_id.in_([c.id for c in customers]))
        known = [c.email.lower() for c in customers if c.email]
        if known:
            conversation_match.append(func.lower(Conversation.visitor_email).in_(known))
    conversations = list(
        session.scalars(
            select(Conversation).where(or_(*conversation_match)).order_by(Conversation.created_at)
        )
    )
    emails = {email} if email else set()
    emails |= {c.email.lower() for c in customers if c.email}
    emails |= {c.visitor_email.lower() for c in conversations if c.visitor_email}
    needles = [c.id for c in conversations] + sorted(emails)
    return Found(customers, conversations, _deliveries_mentioning(session, needles))


def _deliveries_mentioning(session: Session, needles: Sequence[str]) -> list[Delivery]:
    found: dict[str, Delivery] = {}
    payload = func.lower(cast(Delivery.payload, Text))
    for start in range(0, len(needles), 50):
        chunk = needles[start : start + 50]
        query = select(Delivery).where(or_(*(payload.contains(n.lower()) for n in chunk)))
        found.update((d.id, d) for d in session.scalars(query))
    return list(found.values())


def export(found: Found) -> dict[str, Any]:
    """What we hold about the person, as JSON-ready data."""
    return {
        "customers": [
            {"id": c.id, "external_id": c.external_id, "name": c.name, "email": c.email}
            for c in found.customers
        ],
        "conversations": [_conversation(c) for c in found.conversations],
        "deliveries": [
            {"id": d.id, "kind": d.kind, "payload": d.payload, "created_at": _iso(d.created_at)}
            for d in found.deliveries
        ],
    }


def _conversation(c: Conversation) -> dict[str, Any]:
    return {
        "id": c.id,
        "created_at": _iso(c.created_at),
        "status": c.status,
        "locale": c.locale,
        "page_url": c.page_url,
        "name": c.visitor_name,
        "email": c.visitor_email,
        "attributes": c.attributes,
        "rating": c.rating,
        "rating_comment": c.rating_comment,
        "messages": [
            {"seq": m.seq, "role": m.role, "text": m.text, "created_at": _iso(m.created_at)}
            for m in c.messages
        ],
        "handoffs": [
            {"reason": h.reason, "summary": h.summary, "packet": h.packet} for h in c.handoffs
        ],
    }


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def delete_found(*, session: Session, found: Found) -> dict[str, int]:
    """Remove everything in `found`; returns how many rows of each kind went."""
    ids = [c.id for c in found.conversations]
    counts = _delete_conversations(session, ids)
    for item in found.deliveries:
        session.delete(item)
    counts["deliveries"] = len(found.deliveries)
    session.flush()
    for customer in found.customers:
        session.delete(customer)
    counts["customers"] = len(found.customers)
    session.flush()
    return counts


def _delete_conversations(session: Session, ids: Sequence[str]) -> dict[str, int]:
    counts = {"conversations": 0, "messages": 0, "handoffs": 0, "feedback": 0}
    for start in range(0, len(ids), 200):
        chunk = list(ids[start : start + 200])
        for name, model in (("feedback", Feedback), ("messages", Message), ("handoffs", Handoff)):
            result = session.execute(delete(model).where(model.conversation_id.in_(chunk)))
            counts[name] += int(getattr(result, "rowcount", 0) or 0)
        result = session.execute(delete(Conversation).where(Conversation.id.in_(chunk)))
        counts["conversations"] += int(getattr(result, "rowcount", 0) or 0)
    session.expire_all()
    return counts


def purge(*, session: Session, now: dt.datetime, days: int) -> dict[str, int]:
    """Delete conversations untouched for `days` (with their messages, packets, feedback),
    outbox rows as old, and customers left without a conversation who are as old."""
    cutoff = now - dt.timedelta(days=days)
    ids = list(session.scalars(select(Conversation.id).where(Conversation.updated_at < cutoff)))
    counts = _delete_conversations(session, ids)
    result = session.execute(delete(Delivery).where(Delivery.created_at < cutoff))
    counts["deliveries"] = int(getattr(result, "rowcount", 0) or 0)
    still_talking = select(Conversation.customer_id).where(Conversation.customer_id.is_not(None))
    result = session.execute(
        delete(Customer).where(Customer.created_at < cutoff, Customer.id.not_in(still_talking))
    )
    counts["customers"] = int(getattr(result, "rowcount", 0) or 0)
    return counts
