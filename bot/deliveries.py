"""Deliveries to the outside world (signed webhooks, emails) from the database outbox.

Whatever must leave the system is written as a `Delivery` in the same transaction as the
change it reports, and a background worker delivers it. A receiver that is down, or answers
with an error, gets the item again later with exponential backoff, for as long as it takes:
nothing is dropped. Delivery is at least once; receivers deduplicate with the
`X-Supportbot-Delivery` id.

Webhook signature: `X-Supportbot-Signature: sha256=<hex>` is HMAC-SHA256 with
`webhook_secret` over `"<timestamp>.<raw body>"`, where `<timestamp>` is the Unix time in
`X-Supportbot-Timestamp`. Signing the time stops an old delivery from being replayed:
receivers refuse a timestamp older than a few minutes (see `verify_signature`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any, Protocol

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.db import Database
from bot.models import Delivery, utcnow

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Supportbot-Signature"
TIMESTAMP_HEADER = "X-Supportbot-Timestamp"
EVENT_HEADER = "X-Supportbot-Event"
DELIVERY_HEADER = "X-Supportbot-Delivery"
LEASE_SECONDS = 60.0  # how long a picked item stays hidden from other workers
HTTP_TIMEOUT_SECONDS = 10.0

Clock = Callable[[], dt.datetime]


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand `message` to a mail server; raise if it was not accepted."""


class SmtpMailer:
    """Plain SMTP to the configured relay (a local MTA or the provider's submission host)."""

    def __init__(self, host: str, port: int, timeout: float = HTTP_TIMEOUT_SECONDS):
        self.host, self.port, self.timeout = host, port, timeout

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)


class DeliveryError(Exception):
    """One attempt failed; the item is retried later."""


# -- signing ---------------------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """The value of the signature header for `body` sent at `timestamp`."""
    digest = hmac.new(
        secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256
    ).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    *,
    secret: str,
    body: bytes,
    timestamp: str,
    signature: str,
    now: float,
    tolerance_seconds: float = 300.0,
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent."""
    try:
        sent = float(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), signature)


def backoff_seconds(attempts: int, *, base: float, cap: float) -> float:
    """Delay before attempt `attempts + 1`: base, 2×base, 4×base, ... up to `cap`."""
    return float(min(cap, base * 2 ** max(0, attempts - 1)))


# -- enqueueing ------------------------------------------------------------------------------


def enqueue_email(
    *,
    session: Session,
    settings: Settings,
    to: str,
    subject: str,
    text: str,
    conversation_id: str | None = None,
) -> bool:
    """Queue an email in the caller's transaction; False when no SMTP relay is configured."""
    if not settings.smtp_host:
        log.warning("no SUPPORTBOT_SMTP_HOST: an email to a visitor was not queued")
        return False
    session.add(
        Delivery(
            kind="email",
            payload={
                "to": to,
                "subject": subject,
                "text": text,
                "conversation_id": conversation_id,
            },
        )
    )
    return True


# -- the worker ------------------------------------------------------------------------------


class DeliveryWorker:
    """Delivers due outbox items. `client` (and its transport) and `mailer` are injected, so
    tests use a transport or a real local receiver instead of patching."""

    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        client: httpx.Client,
        mailer: Mailer | None = None,
        clock: Clock | None = None,
    ):
        self.db = db
        self.settings = settings
        self.client = client
        self.mailer = mailer
        self.clock: Clock = clock or utcnow

    def deliver_due(self, *, limit: int = 20) -> int:
        """Try every item that is due now (up to `limit`); returns how many were delivered."""
        delivered = 0
        for item_id in self._lease(limit):
            with self.db.session() as session:
                item = session.get(Delivery, item_id)
                if item is None or item.delivered_at is not None:
                    continue
                kind, payload, created = item.kind, dict(item.payload), item.created_at
            error = self._attempt(item_id, kind, payload, created)
            self._record(item_id, error)
            delivered += error is None
        return delivered

    async def run(self) -> None:
        """Deliver forever; the app's lifespan starts this as a background task
        (`AppContext.start_workers`)."""
        while True:
            current = asyncio.ensure_future(asyncio.to_thread(self.deliver_due))
            try:
                await asyncio.shield(current)
            except asyncio.CancelledError:
                # Shutting down: let the round in flight finish, so its database connection
                # is back in the pool before the app disposes of the engine.
                with contextlib.suppress(Exception):
                    await current
                raise
            except Exception:  # keep the loop alive; the items stay in the table
                log.exception("outbox delivery round failed")
            await asyncio.sleep(self.settings.delivery_poll_seconds)

    def _lease(self, limit: int) -> list[str]:
        """Pick due items and push their next attempt out by a lease, so another worker
        (or process) does not deliver them at the same time. The conditional UPDATE makes the
        pick atomic on SQLite and PostgreSQL alike."""
        now = self.clock()
        leased: list[str] = []
        with self.db.session() as session:
            due = session.execute(
                select(Delivery.id, Delivery.attempts)
                .where(Delivery.delivered_at.is_(None), Delivery.next_attempt_at <= now)
                .order_by(Delivery.next_attempt_at)
                .limit(limit)
            ).all()
            for item_id, attempts in due:
                result = session.execute(
                    update(Delivery)
                    .where(
                        Delivery.id == item_id,
                        Delivery.attempts == attempts,
                        Delivery.delivered_at.is_(None),
                        Delivery.next_attempt_at <= now,
                    )
                    .values(next_attempt_at=now + dt.timedelta(seconds=LEASE_SECONDS))
                    .execution_options(synchronize_session=False)
                )
                if getattr(result, "rowcount", 0) == 1:
                    leased.append(item_id)
        return leased

    def _attempt(
        self, item_id: str, kind: str, payload: dict[str, Any], created: dt.datetime
    ) -> str | None:
        """One delivery attempt; the error text, or None when it landed."""
        try:
            if kind == "webhook":
                self._post_webhook(item_id, payload, created)
            elif kind == "email":
                self._send_email(payload)
            else:
                raise DeliveryError(f"unknown outbox kind {kind!r}")
        except (DeliveryError, httpx.HTTPError, smtplib.SMTPException, OSError) as exc:
            log.warning("outbox %s (%s) failed: %s", item_id, kind, exc)
            return f"{type(exc).__name__}: {exc}"[:2000]
        return None

    def _record(self, item_id: str, error: str | None) -> None:
        now = self.clock()
        with self.db.session() as session:
            item = session.get(Delivery, item_id)
            if item is None:
                return
            item.attempts += 1
            item.last_error = error
            if error is None:
                item.delivered_at = now
            else:
                item.next_attempt_at = now + dt.timedelta(
                    seconds=backoff_seconds(
                        item.attempts,
                        base=self.settings.delivery_backoff_seconds,
                        cap=self.settings.delivery_backoff_max_seconds,
                    )
                )

    def _post_webhook(self, item_id: str, payload: dict[str, Any], created: dt.datetime) -> None:
        url = self.settings.webhook_url
        if not url:
            raise DeliveryError("SUPPORTBOT_WEBHOOK_URL is not set")
        body = json.dumps(
            {
                "id": item_id,
                "event": payload.get("event"),
                "created_at": created.isoformat(),
                "data": payload.get("data"),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        timestamp = str(int(self.clock().timestamp()))
        response = self.client.post(
            url,
            content=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "supportbot-webhook/1",
                EVENT_HEADER: str(payload.get("event")),
                DELIVERY_HEADER: item_id,
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: sign(self.settings.webhook_secret, body, timestamp),
            },
            timeout=HTTP_TIMEOUT_SECONDS,
        )
        if not response.is_success:
            raise DeliveryError(f"receiver answered {response.status_code}")

    def _send_email(self, payload: dict[str, Any]) -> None:
        if self.mailer is None:
            raise DeliveryError("no mailer configured (SUPPORTBOT_SMTP_HOST)")
        message = EmailMessage()
        message["From"] = self.settings.smtp_sender
        message["To"] = payload["to"]
        message["Subject"] = payload["subject"]
        message["Reply-To"] = self.settings.support_email
        message.set_content(payload["text"])
        self.mailer.send(message)
