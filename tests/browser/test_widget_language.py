"""The widget's own words follow the conversation's language: a German or Danish visitor on
the English demo page writes one clear question, and from then on the placeholder, the
"Source" label, the buttons and the header speak German or Danish, the header in one
language even where the server names the time zone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from bot.context import AppContext
from ingest.embed import HashEmbedder
from tests.browser.conftest import DESKTOP, Widget
from tests.conftest import LiveServer, make_settings

pytestmark = pytest.mark.browser

# lang: a clear question, then what the panel's own words must read.
CASES = {
    "en": {
        "question": "How long do I have to return an item?",
        "placeholder": "Type your message…",
        "source": "Source:",
        "talk": "Talk to a person",
        "close": "Close chat",
        "away": r"^Our team is away · they will answer here by .+ \(Copenhagen time\)$",
    },
    "de": {
        "question": "Wie lange habe ich Zeit für eine Rücksendung?",
        "placeholder": "Nachricht schreiben…",
        "source": "Quelle:",
        "talk": "Mit einem Menschen sprechen",
        "close": "Chat schließen",
        "away": r"^Unser Team ist nicht da · Antwort hier bis .+ Uhr \(dänische Zeit\)$",
    },
    "da": {
        "question": "Hvor lang tid har jeg til at returnere en vare?",
        "placeholder": "Skriv din besked…",
        "source": "Kilde:",
        "talk": "Tal med et menneske",
        "close": "Luk chat",
        "away": r"^Vores team er ikke til stede · svar her senest .+ kl\. .+ \(dansk tid\)$",
    },
}
ENGLISH_WORDS = re.compile(r"\b(our|away|they|will|answer|here|by|time|today|tomorrow)\b")


@pytest.fixture(scope="module")
def away(tmp_path_factory: pytest.TempPathFactory, sample_index: Path) -> Iterator[Any]:
    """A server whose team is never online, in a business time zone the browser is not in."""
    settings = make_settings(
        tmp_path_factory.mktemp("away"),
        index_dir=sample_index,
        rate_limit_per_minute=10_000,
        business_timezone="Europe/Copenhagen",
        business_hours="Mon-Fri 08:00-18:00, Sat 09:00-14:00",
    )
    server = LiveServer(AppContext.build(settings, embedder=HashEmbedder(64)))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def english_browser(browser: Any) -> Iterator[Any]:
    """A browser that says English too: only the visitor's writing says otherwise."""
    ctx = browser.new_context(viewport=DESKTOP, locale="en-US")
    ctx.set_default_timeout(15000)
    yield ctx
    ctx.close()


@pytest.mark.parametrize("lang", ["en", "de", "da"])
def test_the_widgets_words_follow_the_conversation(away, english_browser, lang):
    case = CASES[lang]
    page = english_browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    widget = Widget(page, away.url)
    page.goto(f"{away.url}/demo")  # <html lang="en">, no data-lang
    widget.open()
    expect(widget.input).to_have_attribute("placeholder", "Type your message…")

    answer = widget.answer(case["question"])

    assert widget.api()["lang"] == lang
    expect(widget.input).to_have_attribute("placeholder", case["placeholder"])
    expect(answer.locator(".sources")).to_contain_text(case["source"])
    assert widget.frame().evaluate("document.documentElement.lang") == lang
    expect(widget.launcher).to_have_attribute("aria-label", case["close"])  # on the host page
    talk = widget.panel.get_by_role("button", name=case["talk"])
    expect(talk).to_be_visible()

    talk.click()
    status = widget.panel.locator("#status")
    expect(status).to_have_text(re.compile(case["away"]))
    if lang != "en":
        assert not ENGLISH_WORDS.search(status.inner_text().lower()), status.inner_text()
    widget.screenshot(f"language-{lang}-away")

    page.reload()  # the language is kept with the conversation, not worked out again
    widget.open()
    expect(widget.input).to_have_attribute("placeholder", case["placeholder"])
    expect(status).to_have_text(re.compile(case["away"]))
    assert errors == [], errors


def test_a_name_does_not_turn_the_widget_danish(away, english_browser):
    page = english_browser.new_page()
    widget = Widget(page, away.url)
    page.goto(f"{away.url}/demo")
    widget.open()

    widget.ask("Where is the Aarhus store?")
    expect(widget.log.locator(".from-bot:not(.kind-greeting)")).not_to_have_count(0)

    assert widget.api()["lang"] == "en"
    expect(widget.input).to_have_attribute("placeholder", "Type your message…")
    expect(widget.panel.get_by_role("button", name="Talk to a person")).to_be_visible()
    widget.screenshot("language-en-name")
