"""What the widget promises when the bot hands off while the team is away: the same time, in
the business time zone, in the message and in the header; an email field only where a mail
channel exists, one that validates; and a reply to whatever else the visitor types meanwhile.

These run on servers of their own (nobody online, a business time zone that is not the
browser's), so the promise is never live."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from bot.context import AppContext
from bot.phrases import PHRASES
from ingest.embed import HashEmbedder
from tests.conftest import LiveServer, free_port, make_settings

pytestmark = pytest.mark.browser

ZONE = "Europe/Copenhagen"  # not the browser's (UTC), and not the default (Berlin)
ZONE_NAMES = {"en": "Copenhagen time", "de": "dänische Zeit", "da": "dansk tid"}
TALK = {"en": "Talk to a person", "de": "Mit einem Menschen sprechen", "da": "Tal med et menneske"}


def _server(tmp: Path, sample_index: Path, **overrides: Any) -> Iterator[LiveServer]:
    settings = make_settings(
        tmp,
        index_dir=sample_index,
        rate_limit_per_minute=10_000,
        business_timezone=ZONE,
        business_hours="Mon-Fri 08:00-18:00, Sat 09:00-14:00",
        **overrides,
    )
    server = LiveServer(AppContext.build(settings, embedder=HashEmbedder(64)))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chat_only(tmp_path_factory: pytest.TempPathFactory, sample_index: Path) -> Iterator[Any]:
    """No SMTP, no webhook: the `make run` default."""
    yield from _server(tmp_path_factory.mktemp("chat-only"), sample_index)


@pytest.fixture(scope="module")
def with_mail(tmp_path_factory: pytest.TempPathFactory, sample_index: Path) -> Iterator[Any]:
    """An SMTP relay configured (nothing is sent here: no agent replies)."""
    yield from _server(
        tmp_path_factory.mktemp("with-mail"), sample_index, smtp_host="127.0.0.1",
        smtp_port=free_port(),
    )


def on(server: Any, widget: Any, host: Any, *, lang: str = "en") -> Any:
    """The widget of `server` on a host page in `lang`, opened."""
    own_host = dataclasses.replace(host, bot_url=server.url)  # same pages, same origins
    own = type(widget)(widget.page, server.url)
    own.page.goto(own_host.page(f"/promise-{lang}-{free_port()}.html", lang=lang))
    own.open()
    return own


def hand_off(widget: Any, lang: str = "en") -> Any:
    widget.panel.get_by_role("button", name=TALK[lang]).click()
    message = widget.log.locator(".from-bot.kind-handoff").last
    expect(message).to_be_visible()
    return message


@pytest.mark.parametrize("lang", ["en", "de", "da"])
def test_the_handoff_message_and_the_header_name_the_same_time_and_zone(
    chat_only, widget, host, lang
):
    own = on(chat_only, widget, host, lang=lang)
    message = hand_off(own, lang)

    text = message.locator(".bubble").inner_text()
    assert text.startswith(PHRASES[lang]["why_visitor_request"])
    when = re.search(rf"\S+ \S+ \d\d[:.]\d\d(?: Uhr)? \({ZONE_NAMES[lang]}\)", text)
    assert when, text
    # "i morgen kl. 10.00 (dansk tid)", "tomorrow at 10:00 (Copenhagen time)": the header
    # says the same, although the browser's clock runs on UTC.
    status = own.panel.locator("#status")
    expect(status).to_contain_text(when.group(0))
    assert own.page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "UTC"
    assert "mail" not in text.lower()  # no mail channel: nothing about email
    expect(own.panel.locator("#email")).to_be_hidden()
    own.screenshot(f"promise-chat-only-{lang}")


def test_email_field_appears_with_a_mail_channel_and_validates(with_mail, widget, host):
    own = on(with_mail, widget, host)
    message = hand_off(own)
    expect(message).to_contain_text(PHRASES["en"]["email_offer"])

    field = own.panel.get_by_label("Your email address, for the answer by email too")
    expect(field).to_be_visible()
    expect(field).to_have_attribute("type", "email")
    expect(field).to_have_attribute("autocomplete", "email")
    send = own.panel.get_by_role("button", name="Send address")

    field.fill("jana@example")  # no top-level domain: the server would not take it either
    send.click()
    error = own.panel.locator("#email-error")
    expect(error).to_have_text("Please enter an email address like name@example.com.")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    own.screenshot("promise-email-invalid")
    assert [m["kind"] for m in own.api("/messages")["messages"]][-1] == "handoff"  # not sent

    field.fill("jana@example.com")
    send.click()
    thanks = own.log.locator(".from-bot").last
    expect(thanks).to_contain_text("Thank you! We'll answer by")
    expect(thanks).to_contain_text("by email to jana@example.com")
    expect(own.panel.locator("#email")).to_be_hidden()
    expect(own.panel.locator("#status")).to_contain_text("jana@example.com")
    assert own.api()["handoff"]["ask_email"] is False
    own.screenshot("promise-email-taken")


@pytest.mark.parametrize("lang", ["en", "de", "da"])
def test_the_email_field_in_every_language(with_mail, widget, host, lang):
    own = on(with_mail, widget, host, lang=lang)
    hand_off(own, lang)
    form = own.panel.locator("#email")
    expect(form).to_be_visible()
    expect(form.locator("label")).not_to_have_text("Your email address")  # translated
    own.screenshot(f"promise-email-field-{lang}")
    form.get_by_role("button", name={"en": "No thanks", "de": "Nein danke",
                                     "da": "Nej tak"}[lang]).click()
    expect(form).to_be_hidden()


def test_what_the_visitor_types_during_the_email_step_gets_a_reply(with_mail, widget, host):
    own = on(with_mail, widget, host)
    hand_off(own)
    bot_rows = own.log.locator(".from-bot")

    def reply_to(text: str) -> Any:
        before = bot_rows.count()
        own.ask(text)
        expect(bot_rows).to_have_count(before + 1)
        return bot_rows.last

    person = reply_to("I want to talk to a human")
    expect(person).to_contain_text("You're already in the queue for our support team")
    expect(person).to_contain_text(f"({ZONE_NAMES['en']})")

    answer = reply_to("How do I return an item?")
    expect(answer).to_have_class(re.compile(r"\bkind-answer\b"))
    expect(answer.locator(".sources a")).to_have_count(1)

    detail = reply_to("my order number is 4711")
    expect(detail).to_contain_text(PHRASES["en"]["queue_ack"])
    expect(detail).to_contain_text(PHRASES["en"]["email_offer"])  # the field is still there
    expect(own.panel.locator("#email")).to_be_visible()
    assert own.api()["status"] == "waiting"
    own.screenshot("promise-email-step-replies")
