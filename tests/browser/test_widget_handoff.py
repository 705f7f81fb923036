"""From the bot to a person and back: handoff, live agent replies, typing, unread, rating."""

from __future__ import annotations

import json
import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CONVERSATION = re.compile(r"/api/v1/conversations/[^/]+$")  # GET: the conversation's status


def test_person_joins_replies_live_and_chat_is_rated(widget, host, bot):
    widget.page.goto(host.page())
    widget.open()
    widget.panel.get_by_role("button", name="Talk to a person").click()

    # Waiting, with the promised time (or, with nobody online, the time the team answers by).
    handoff = widget.log.locator(".from-bot.kind-handoff")
    expect(handoff).to_be_visible()
    status = widget.panel.locator("#status")
    expect(status).to_have_text(re.compile(r"Waiting for a person|answer here by"))
    messages = widget.api("/messages")["messages"]
    promised = next(m["handoff"] for m in messages if m["kind"] == "handoff")
    if promised["mode"] == "live" and promised["wait_minutes"] is not None:
        expect(status).to_contain_text(f"about {max(1, promised['wait_minutes'])} min")
    expect(widget.panel.get_by_role("button", name="Talk to a person")).to_be_hidden()
    widget.screenshot("desktop-waiting")

    conversation_id = widget.conversation()["id"]
    bot.agent_reply(conversation_id, "Hi, I am looking at your order now.")
    agent_row = widget.log.locator(".from-agent").last
    expect(agent_row).to_contain_text("Hi, I am looking at your order now.")
    agent_name = widget.api()["agent"]["name"]
    expect(agent_row.locator(".who")).to_have_text(agent_name)
    expect(status).to_have_text(f"You are chatting with {agent_name}")

    bot.agent_typing(conversation_id, True)
    expect(widget.panel.locator("#typing")).to_have_text(f"{agent_name} is typing…")
    bot.agent_typing(conversation_id, False)
    expect(widget.panel.locator("#typing")).to_have_text("")

    # Agent text is rendered, never parsed as HTML; only http(s) links become links.
    bot.agent_reply(
        conversation_id,
        "**Good news**\n- it ships today\n- <img src=x onerror=alert(1)>\n"
        "[tracking](https://track.example/123) [bad](javascript:alert(1))",
    )
    last = widget.log.locator(".from-agent").last
    expect(last.locator("strong")).to_have_text("Good news")
    expect(last.locator("li")).to_have_count(2)
    expect(last.locator("li").nth(1)).to_have_text("<img src=x onerror=alert(1)>")
    expect(last.locator("img")).to_have_count(0)
    expect(last.locator("a")).to_have_count(1)
    expect(last.locator("a")).to_have_attribute("href", "https://track.example/123")
    expect(last.locator("a")).to_have_attribute("rel", "noopener noreferrer")
    expect(last).not_to_contain_text("javascript")
    widget.screenshot("desktop-agent")

    # While the panel is closed, a reply shows as an unread badge on the launcher.
    widget.input.press("Escape")
    expect(widget.iframe).to_be_hidden()
    bot.agent_reply(conversation_id, "Your parcel left our warehouse.")
    badge = widget.page.locator("supportbot-widget .badge")
    expect(badge).to_have_text("1")
    expect(widget.launcher).to_have_attribute("aria-label", "Open chat (1 unread)")
    widget.open()
    expect(badge).to_be_hidden()
    expect(widget.log.locator(".from-agent").last).to_contain_text("left our warehouse")

    # The agent resolves: the visitor is asked for a 1-5 rating.
    bot.agent_resolve(conversation_id)
    form = widget.panel.locator("#rating")
    expect(form).to_be_visible()
    expect(form.locator("legend")).to_have_text(f"How did {agent_name} do?")
    form.get_by_label("4 of 5 stars").check()
    form.locator("textarea").fill("Quick and friendly.")
    form.get_by_role("button", name="Send rating").click()
    expect(form).to_contain_text("Thank you for your rating!")
    assert widget.api()["rating"] == 4
    expect(widget.panel.get_by_role("button", name="Talk to a person")).to_be_visible()


def test_feedback_on_an_answer(widget, host):
    widget.page.goto(host.page())
    widget.open()
    answer = widget.answer("How do I return an item?")
    helpful = answer.get_by_role("button", name="Helpful", exact=True)
    helpful.click()
    expect(helpful).to_have_attribute("aria-pressed", "true")
    expect(answer.locator(".thanks")).to_have_text("Thanks for your feedback!")
    # Remembered after a reload.
    widget.page.reload()
    widget.open()
    again = widget.log.locator(".kind-answer").last.get_by_role(
        "button", name="Helpful", exact=True
    )
    expect(again).to_have_attribute("aria-pressed", "true")


def test_a_status_read_before_the_handoff_does_not_undo_it(widget, host):
    """Under load the status a sync asked for before the turn committed can arrive after the
    live event of the handoff. It is older by `updated_at` and must not put the panel back to
    "Virtual assistant" with "Talk to a person" showing (seen on a busy machine)."""
    created: dict = {}
    held: list = []

    def on_api(route):
        request = route.request
        path = urlparse(request.url).path
        if request.method == "POST" and path.endswith("/api/v1/conversations"):
            response = route.fetch()
            created.update(response.json())
            route.fulfill(response=response)
        elif request.method == "GET" and CONVERSATION.search(path) and not held:
            held.append(route)  # the first status read: answered below, after the handoff
        else:
            route.continue_()

    widget.page.context.route(re.compile(r".*/api/v1/conversations.*"), on_api)
    widget.page.goto(host.page())
    widget.open()
    widget.panel.get_by_role("button", name="Talk to a person").click()

    expect(widget.log.locator(".from-bot.kind-handoff")).to_be_visible()
    status = widget.panel.locator("#status")
    waiting = re.compile(r"Waiting for a person|answer here by")
    expect(status).to_have_text(waiting)  # from the live event: the read is still held
    assert held, "the panel never read the conversation's status"
    stale = {key: created[key] for key in ("id", "status", "lang", "updated_at")}
    held[0].fulfill(status=200, content_type="application/json",
                    body=json.dumps({**stale, "agent": None, "rating": None, "handoff": None}))

    widget.page.wait_for_timeout(1000)
    expect(status).to_have_text(waiting)
    expect(widget.panel.get_by_role("button", name="Talk to a person")).to_be_hidden()
    assert widget.frame().evaluate("document.body.dataset.status") == "waiting"
