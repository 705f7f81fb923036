"""The visitor's main path: ask, get an answer with its source, keep the history."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

RETURNS_URL = "https://shop.fjeldfels.example/help/returns"


def test_question_gets_answer_with_source(widget, host):
    widget.page.goto(host.page())
    widget.open()
    answer = widget.answer("How do I return an item?")
    link = answer.locator(".sources a").first
    expect(link).to_have_attribute("href", RETURNS_URL)
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(answer.locator(".feedback button")).to_have_count(2)
    widget.screenshot("desktop-answer")


def test_phone_panel_is_full_screen(phone_widget, host):
    widget = phone_widget
    widget.page.goto(host.page())
    widget.open()
    box = widget.iframe.bounding_box()
    assert box == {"x": 0, "y": 0, "width": 360, "height": 740}
    expect(widget.launcher).to_be_hidden()  # the panel's own close button takes over
    widget.answer("How do I return an item?")
    widget.screenshot("phone-answer")
    widget.panel.locator("#close").click()
    expect(widget.iframe).to_be_hidden()
    expect(widget.launcher).to_be_visible()
    expect(widget.launcher).to_be_focused()


def test_history_survives_reload_and_page_change(widget, host):
    widget.page.goto(host.page())
    widget.open()
    widget.answer("How do I return an item?")
    conversation = widget.conversation()

    widget.page.reload()
    widget.open()  # still open: the open state is remembered too
    expect(widget.log.get_by_text("How do I return an item?")).to_be_visible()
    expect(widget.log.locator(f'.sources a[href="{RETURNS_URL}"]')).to_be_visible()

    widget.page.goto(host.url + "/other.html")
    widget.open()
    expect(widget.log.get_by_text("How do I return an item?")).to_be_visible()
    assert widget.conversation() == conversation
    # The conversation goes on where it was.
    widget.answer("How long does delivery take?")
    texts = [m["text"] for m in widget.api("/messages")["messages"] if m["role"] == "visitor"]
    assert texts[:2] == ["How do I return an item?", "How long does delivery take?"]


def test_history_resumes_with_messages_after_cursor(widget, host):
    """Messages that arrived while no page was open are fetched with ?after= on return."""
    widget.page.goto(host.page())
    widget.open()
    widget.answer("How do I return an item?")
    cached = widget.stored("messages")
    assert cached["cursor"] > 0
    assert {m["text"] for m in cached["items"]} >= {"How do I return an item?"}

    requests = []
    widget.page.on(
        "request", lambda r: requests.append(r.url) if "/messages?after=" in r.url else None
    )
    widget.page.reload()
    widget.open()
    widget.page.wait_for_timeout(300)
    assert any(f"after={cached['cursor']}" in url for url in requests), requests


def test_demo_shop_page(widget, phone_widget, bot):
    """The demo page embeds the widget with one plain script tag, from the bot's own origin."""
    for w, name in ((widget, "desktop-demo"), (phone_widget, "phone-demo")):
        w.page.goto(f"{bot.url}/demo")
        expect(w.page).to_have_title(re.compile("Fjeld & Fels Outdoor"))
        assert w.page.locator('script[src="/widget/loader.js"]').count() == 1
        w.screenshot(f"{name}-closed")
        w.open()
        w.answer("How do I return an item?")
        w.screenshot(name)
