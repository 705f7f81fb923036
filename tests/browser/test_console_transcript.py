"""The agent console in Chromium: the bot's Markdown is rendered (bold, list, link); markup in
visitor or bot text is shown as text and never runs."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from bot import queries
from bot.models import Conversation

pytestmark = pytest.mark.browser

VISITOR_TEXT = "<img src=x onerror=\"window.__pwned='visitor'\"> talk to a human"
BOT_TEXT = (
    "**Return conditions**\n\n- unused and complete\n- within 30 days\n\n"
    "Read [the returns page](https://shop.example/returns).\n\n"
    "<script>window.__pwned='bot'</script><img src=y onerror=\"window.__pwned='img'\">"
)


def _log_in(page, bot) -> None:
    agent = bot.agent  # creates the agent the driver logs in as
    page.goto(f"{bot.url}/console/login")
    page.get_by_label("Email").fill(agent.email)
    page.get_by_label("Password").fill(agent.password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/console$"))


def test_console_transcript_renders_markdown_and_shows_markup_as_text(page, bot):
    if not hasattr(bot, "context"):
        pytest.skip("needs the real server (the fake API has no console)")
    created = httpx.post(f"{bot.url}/api/v1/conversations", json={"locale": "en"}).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    said = httpx.post(
        f"{bot.url}/api/v1/conversations/{created['id']}/messages",
        headers=headers,
        json={"client_id": "console-markdown-1", "text": VISITOR_TEXT},
    )
    assert said.status_code == 200, said.text
    with bot.context.db.session() as session:
        conversation = session.get(Conversation, created["id"])
        queries.append_message(
            session=session, conversation=conversation, role="bot", kind="answer", text=BOT_TEXT
        )

    _log_in(page, bot)
    page.goto(f"{bot.url}/console/conversations/{created['id']}")

    answer = page.locator(".msg.role-bot .text.markdown").last
    expect(answer.locator("strong")).to_have_text("Return conditions")
    expect(answer.locator("ul > li")).to_have_text(["unused and complete", "within 30 days"])
    link = answer.get_by_role("link", name="the returns page")
    expect(link).to_have_attribute("href", "https://shop.example/returns")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(answer).to_contain_text("<script>window.__pwned='bot'</script>")
    expect(answer).not_to_contain_text("**")

    visitor = page.locator(".msg.role-visitor .text").first
    expect(visitor).to_have_text(VISITOR_TEXT)
    expect(page.locator(".transcript img")).to_have_count(0)
    expect(page.locator(".transcript script")).to_have_count(0)
    assert page.evaluate("() => window.__pwned") is None
    # times say their zone
    expect(page.locator(".transcript time").first).to_have_text(re.compile(r"\d\d:\d\d:\d\d \S+"))
