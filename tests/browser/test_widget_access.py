"""Keyboard use, focus, languages: the widget for everyone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

FOCUS_RING = """el => {
  const style = getComputedStyle(el);
  return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
}"""


def panel_focus(widget):
    """The id (or class) of the focused element inside the panel, '' when the panel has none."""
    return widget.frame().evaluate(
        "document.hasFocus() ? (document.activeElement.id || document.activeElement.className) : ''"
    )


def test_whole_flow_with_the_keyboard_only(widget, host):
    page = widget.page
    page.goto(host.page())
    expect(widget.launcher).to_be_visible()
    widget.frame()

    # Tab from the top of the page reaches the launcher, which shows its focus.
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "SUPPORTBOT-WIDGET":
            break
    expect(widget.launcher).to_be_focused()
    assert widget.launcher.evaluate(FOCUS_RING)

    # Enter opens and puts the cursor in the message field.
    page.keyboard.press("Enter")
    expect(widget.iframe).to_be_visible()
    expect(widget.input).to_be_focused()
    assert widget.input.evaluate(FOCUS_RING)

    page.keyboard.type("How do I return an item?")
    page.keyboard.press("Enter")
    answer = widget.log.locator(".kind-answer, .kind-clarify").last
    expect(answer).to_be_visible()
    if "kind-clarify" in answer.get_attribute("class"):
        for _ in range(10):  # Shift+Tab back to the first quick reply, Enter picks it
            page.keyboard.press("Shift+Tab")
            if panel_focus(widget) == "chip":
                break
        page.keyboard.press("Enter")
        answer = widget.log.locator(".kind-answer").last
        expect(answer).to_be_visible()
        expect(widget.input).to_be_focused()

    # Shift+Tab back from the input reaches the answer's thumbs; Enter votes.
    for _ in range(10):
        page.keyboard.press("Shift+Tab")
        if panel_focus(widget) == "thumb":
            break
    focused = widget.panel.locator(":focus")
    assert focused.evaluate(FOCUS_RING)
    page.keyboard.press("Enter")
    expect(focused).to_have_attribute("aria-pressed", "true")

    # ... and further back, "talk to a person".
    for _ in range(15):
        page.keyboard.press("Shift+Tab")
        if panel_focus(widget) == "handoff":
            break
    assert widget.panel.locator(":focus").evaluate(FOCUS_RING)
    page.keyboard.press("Enter")
    expect(widget.log.locator(".kind-handoff")).to_be_visible()
    expect(widget.input).to_be_focused()  # the button is gone; focus is not lost

    # Escape closes and gives focus back to the launcher; Enter opens again.
    page.keyboard.press("Escape")
    expect(widget.iframe).to_be_hidden()
    expect(widget.launcher).to_be_focused()
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(widget.input).to_be_focused()
    page.keyboard.press("Escape")
    expect(widget.launcher).to_be_focused()


def test_messages_are_announced(widget, host):
    widget.page.goto(host.page())
    widget.open()
    expect(widget.log).to_have_attribute("role", "log")
    expect(widget.log).to_have_attribute("aria-live", "polite")
    expect(widget.panel.locator("#status")).to_have_attribute("role", "status")
    expect(widget.input).to_have_accessible_name("Your message")


@pytest.mark.parametrize(
    ("lang", "attrs", "expected"),
    [
        (
            "de",
            {},
            {
                "open": "Chat öffnen",
                "title": "Kundenservice",
                "handoff": "Mit einem Menschen sprechen",
                "placeholder": "Nachricht schreiben…",
                "close": "Chat schließen",
            },
        ),
        (
            "da",
            {},
            {
                "open": "Åbn chat",
                "title": "Kundeservice",
                "handoff": "Tal med et menneske",
                "placeholder": "Skriv din besked…",
                "close": "Luk chat",
            },
        ),
        # data-lang wins over the page's language
        (
            "de",
            {"data-lang": "da"},
            {
                "open": "Åbn chat",
                "title": "Kundeservice",
                "handoff": "Tal med et menneske",
                "placeholder": "Skriv din besked…",
                "close": "Luk chat",
            },
        ),
    ],
)
def test_ui_text_follows_the_page_language(widget, host, lang, attrs, expected):
    widget.page.goto(host.page(f"/lang-{lang}-{len(attrs)}.html", lang=lang, attrs=attrs))
    expect(widget.launcher).to_have_attribute("aria-label", expected["open"])
    widget.open()
    expect(widget.panel.locator("#title")).to_have_text(expected["title"])
    expect(widget.panel.locator("#handoff")).to_have_text(expected["handoff"])
    expect(widget.input).to_have_attribute("placeholder", expected["placeholder"])
    expect(widget.panel.locator("#close")).to_have_attribute("aria-label", expected["close"])
    expect(widget.launcher).to_have_attribute("aria-label", expected["close"])
    ui_lang = attrs.get("data-lang", lang)
    assert widget.frame().evaluate("document.documentElement.lang") == ui_lang
    widget.screenshot(f"desktop-{lang}-{len(attrs)}")


def test_german_question_gets_a_german_answer(widget, host):
    widget.page.goto(host.page("/de.html", lang="de"))
    widget.open()
    answer = widget.answer("Wie kann ich einen Artikel zurücksenden?")
    expect(answer.locator(".sources")).to_contain_text("Quelle:")
