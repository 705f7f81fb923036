"""Nothing lost: a message typed without a connection is kept and delivered exactly once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

QUESTION = "Do you deliver to Norway?"


def visitor_texts(widget):
    return [m["text"] for m in widget.api("/messages")["messages"] if m["role"] == "visitor"]


def test_message_typed_offline_is_sent_once_when_back(widget, host, browser_context):
    widget.page.goto(host.page())
    widget.open()
    widget.answer("How do I return an item?")

    browser_context.set_offline(True)
    expect(widget.panel.locator("#conn")).to_be_visible()
    widget.ask(QUESTION)
    pending = widget.log.locator(".pending")
    expect(pending).to_have_attribute("data-state", "queued")
    expect(pending.locator(".state")).to_have_text(re.compile("will be sent automatically"))
    assert [item["text"] for item in widget.stored("outbox")] == [QUESTION]
    widget.screenshot("desktop-offline")

    browser_context.set_offline(False)
    expect(widget.log.locator(".pending")).to_have_count(0)
    expect(widget.log.locator(".from-visitor").last).to_have_text(re.compile(QUESTION))
    expect(widget.panel.locator("#conn")).to_be_hidden()
    assert widget.stored("outbox") == []
    # Give any duplicate a chance to arrive before counting.
    widget.page.wait_for_timeout(1000)
    assert visitor_texts(widget).count(QUESTION) == 1
    expect(widget.log.locator(".from-visitor", has_text=QUESTION)).to_have_count(1)


def test_first_message_offline_starts_the_conversation_later(widget, host, browser_context):
    widget.page.goto(host.page())
    widget.open()
    browser_context.set_offline(True)
    widget.ask("How do I return an item?")
    expect(widget.log.locator(".pending")).to_have_attribute("data-state", "queued")
    assert widget.stored("conversation") is None
    browser_context.set_offline(False)
    expect(widget.log.locator(".kind-answer, .kind-clarify")).to_have_count(1)
    assert visitor_texts(widget) == ["How do I return an item?"]


def test_queued_message_survives_a_reload(widget, host, browser_context):
    """The API refuses to answer (the request never arrives); the page is reloaded; the
    message still goes out once, from storage, with its original client_id."""
    widget.page.goto(host.page())
    widget.open()
    widget.answer("How do I return an item?")

    def drop_posts(route):
        if route.request.method == "POST":
            route.abort("internetdisconnected")
        else:
            route.continue_()

    pattern = re.compile(r"/api/v1/conversations/[^/]+/messages$")
    browser_context.route(pattern, drop_posts)
    widget.ask(QUESTION)
    expect(widget.log.locator(".pending")).to_have_attribute("data-state", "queued")
    client_id = widget.stored("outbox")[0]["client_id"]

    widget.page.reload()
    widget.open()
    expect(widget.log.locator(".pending")).to_have_count(1)  # shown while still queued
    assert widget.stored("outbox")[0]["client_id"] == client_id
    browser_context.unroute(pattern, drop_posts)  # the outbox retries with backoff
    expect(widget.log.locator(".pending")).to_have_count(0)
    widget.page.wait_for_timeout(500)
    assert visitor_texts(widget).count(QUESTION) == 1
