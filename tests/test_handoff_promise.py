"""The promise's words: a time the visitor can check (day, clock and the business time zone,
named as a German or Dane would), and email only through a channel that exists."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from bot.app import create_app
from bot.config import Settings
from bot.context import AppContext
from bot.handoff import format_time, make_promise, promised_when
from bot.models import Delivery, Handoff
from bot.phrases import PHRASES
from ingest.embed import HashEmbedder
from tests.conftest import Visitor, make_settings

NOW = dt.datetime(2026, 11, 30, 21, 0, tzinfo=dt.UTC)  # a Monday, 22:00 in Berlin


def settings(**overrides: Any) -> Settings:
    return make_settings(Path("/nonexistent"), **overrides)


@pytest.mark.parametrize(
    ("zone", "moment", "lang", "text"),
    [
        ("Europe/Berlin", "2026-12-01T09:00", "en", "tomorrow at 10:00 (Berlin time)"),
        ("Europe/Berlin", "2026-12-01T09:00", "de", "morgen um 10:00 Uhr (Berliner Zeit)"),
        ("Europe/Berlin", "2026-12-01T09:00", "da", "i morgen kl. 10.00 (tysk tid)"),
        ("Europe/Copenhagen", "2026-11-30T22:30", "da", "i dag kl. 23.30 (dansk tid)"),
        ("Europe/Copenhagen", "2026-12-03T09:00", "de", "Donnerstag um 10:00 Uhr (dänische Zeit)"),
        ("America/New_York", "2026-12-01T15:00", "en", "tomorrow at 10:00 (New York time)"),
        ("America/New_York", "2026-12-01T15:00", "de", "morgen um 10:00 Uhr (Ortszeit New York)"),
        ("America/New_York", "2026-12-01T15:00", "da", "i morgen kl. 10.00 (tid i New York)"),
        ("Europe/Berlin", "2026-12-07T09:00", "en", "Monday next week at 10:00 (Berlin time)"),
        ("UTC", "2026-12-02T08:15", "en", "Wednesday at 08:15 (UTC)"),
    ],
)
def test_a_promised_time_names_its_day_and_zone(zone: str, moment: str, lang: str,
                                                 text: str) -> None:
    when = dt.datetime.fromisoformat(moment).replace(tzinfo=dt.UTC)

    assert format_time(when, lang, settings(business_timezone=zone), NOW) == text


def test_email_is_promised_only_through_a_channel_that_exists() -> None:
    def mode(**overrides: Any) -> str:
        return make_promise(now=NOW, settings=settings(**overrides), agents_online=0, queue=0,
                            recent_seconds=[]).mode

    assert mode() == "later"  # the `make run` default: no SMTP, no webhook
    assert mode(webhook_url="https://desk.example/hook") == "later"  # a webhook alone: no
    assert mode(smtp_host="127.0.0.1") == "email"
    assert mode(webhook_url="https://desk.example/hook", webhook_replies_by_email=True) == "email"


def test_a_webhook_that_answers_by_email_needs_its_url_and_a_zone_must_exist() -> None:
    with pytest.raises(ValidationError, match="needs SUPPORTBOT_WEBHOOK_URL"):
        settings(webhook_replies_by_email=True)
    with pytest.raises(ValidationError, match="is not a time zone"):
        settings(business_timezone="Europe/Atlantis")


@pytest.mark.parametrize(
    ("minutes_ago", "text"),
    [(0, "in about 5 minutes"), (3.5, "in about 2 minutes"), (4.5, "in about a minute"),
     (9, "shortly")],
)
def test_a_live_promise_counts_down(minutes_ago: float, text: str) -> None:
    handoff = Handoff(mode="live", wait_minutes=5, created_at=NOW)
    later = NOW + dt.timedelta(minutes=minutes_ago)

    assert promised_when(handoff, "en", settings(), later) == text


def test_the_webhook_receiver_learns_the_address_it_is_to_write_to(
    tmp_path: Path, sample_index: Path
) -> None:
    config = make_settings(tmp_path, index_dir=sample_index, business_hours="Mon 00:00-00:01",
                           webhook_url="http://127.0.0.1:9/hook", webhook_replies_by_email=True,
                           delivery_poll_seconds=60)
    context = AppContext.build(config, embedder=HashEmbedder(64))
    with TestClient(create_app(context=context)) as client:
        visitor = Visitor(client)
        reply = visitor.say("talk to a human")["reply"]
        assert reply["handoff"]["ask_email"] is True
        assert PHRASES["en"]["email_offer"] in reply["text"]
        visitor.say("jana@example.com")
    with context.db.session() as session:
        events = [d.payload["event"] for d in session.query(Delivery).order_by(Delivery.id)]
        email = [d.payload["data"] for d in session.query(Delivery)
                 if d.payload["event"] == "handoff.email"]
    assert sorted(events) == ["handoff.created", "handoff.email"]
    assert email[0]["email"] == "jana@example.com"
    assert email[0]["conversation_id"] == visitor.id
