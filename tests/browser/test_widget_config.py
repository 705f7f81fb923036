"""Configuration by data attributes, the window.SupportBot API, and colour contrast."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# WCAG 2 contrast of every visible text in the panel against its effective background.
CONTRAST = """() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const worst = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el.checkVisibility() || el.closest('.sr-only')) continue;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) worst.push([node.textContent.trim().slice(0, 40), ratio.toFixed(2)]);
  }
  return worst;
}"""


@pytest.mark.parametrize("color", ["#1f5f4a", "#ffd400", "#7f7f7f"])
def test_text_contrast_meets_wcag_aa(widget, host, color):
    widget.page.goto(host.page(f"/contrast-{color[1:]}.html", attrs={"data-color": color}))
    widget.open()
    widget.answer("How do I return an item?")
    widget.panel.locator("#handoff").click()
    expect(widget.log.locator(".kind-handoff")).to_be_visible()
    widget.ask("Thank you, I will wait")  # a visitor bubble on the brand colour
    expect(widget.log.locator(".from-visitor:not(.pending)")).to_have_count(2)
    assert widget.frame().evaluate(CONTRAST) == []


def test_data_attributes_configure_the_widget(widget, host):
    attrs = {
        "data-position": "left",
        "data-title": "Fjeld & Fels help",
        "data-greeting": "Moin! Ask us about **sizes** and orders.",
        "data-color": "#123456",
    }
    widget.page.goto(host.page("/configured.html", attrs=attrs))
    box = widget.launcher.bounding_box()
    assert box["x"] == pytest.approx(20, abs=1)
    widget.open()
    assert widget.iframe.bounding_box()["x"] == pytest.approx(20, abs=1)
    expect(widget.iframe).to_have_attribute("title", "Fjeld & Fels help")
    expect(widget.panel.locator("#title")).to_have_text("Fjeld & Fels help")
    greeting = widget.log.locator(".kind-greeting .bubble")
    expect(greeting).to_have_text("Moin! Ask us about sizes and orders.")
    expect(greeting.locator("strong")).to_have_text("sizes")
    assert (
        widget.launcher.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(18, 52, 86)"
    )
    # The greeting stays the configured one once the server's conversation exists.
    widget.answer("How do I return an item?")
    expect(greeting).to_have_count(1)
    expect(greeting).to_have_text("Moin! Ask us about sizes and orders.")


def test_javascript_api_opens_closes_and_toggles(widget, host):
    widget.page.goto(host.page("/api.html"))
    expect(widget.launcher).to_be_visible()
    widget.frame()
    widget.page.evaluate("window.SupportBot.open()")
    expect(widget.iframe).to_be_visible()
    expect(widget.input).to_be_focused()
    widget.page.evaluate("window.SupportBot.close()")
    expect(widget.iframe).to_be_hidden()
    widget.page.evaluate("window.SupportBot.toggle()")
    expect(widget.iframe).to_be_visible()
    widget.page.evaluate("window.SupportBot.toggle()")
    expect(widget.iframe).to_be_hidden()


def test_identify_keeps_people_apart(widget, host):
    """A different signed-in customer on the same browser starts a fresh conversation."""
    queued = (
        "<script>window.SupportBot = {q: [['identify', {external_id: 'customer-1', "
        "name: 'Jonas Berg', email: 'jonas@example.com'}]]};</script>"
    )
    widget.page.goto(host.page("/account.html", body=queued))
    widget.open()
    widget.answer("How do I return an item?")
    first = widget.conversation()
    assert first["external_id"] == "customer-1"

    widget.page.reload()
    widget.page.evaluate("window.SupportBot.identify({external_id: 'customer-1'})")
    widget.open()
    expect(widget.log.locator(".from-visitor")).to_have_count(1)

    widget.page.evaluate("window.SupportBot.identify({external_id: 'customer-2'})")
    expect(widget.log.locator(".from-visitor")).to_have_count(0)
    assert widget.stored("conversation") is None
    widget.answer("How long does delivery take?")
    assert widget.conversation()["id"] != first["id"]


def test_signing_in_mid_chat_tells_the_agent_who_it_is(widget, host, bot):
    """Anonymous first, then the site calls identify(): same chat, now a verified customer."""
    context = getattr(bot, "context", None)
    if context is None:
        pytest.skip("needs the real server (SUPPORTBOT_WIDGET_FAKE_API is set)")
    from bot.models import Conversation
    from tests.console_helpers import user_hash

    widget.page.goto(host.page("/shop.html"))
    widget.open()
    widget.answer("How do I return an item?")
    chat = widget.conversation()
    assert chat["external_id"] is None

    proof = user_hash(context, "customer-9")
    widget.page.evaluate(
        "proof => window.SupportBot.identify({external_id: 'customer-9', user_hash: proof,"
        " name: 'Ida Holm'})",
        proof,
    )
    expect(widget.log.locator(".from-visitor")).to_have_count(1)  # the same conversation
    for _ in range(50):
        if (widget.stored("conversation") or {}).get("external_id") == "customer-9":
            break
        widget.page.wait_for_timeout(100)
    assert widget.conversation()["id"] == chat["id"]
    with context.db.session() as session:
        stored = session.get(Conversation, chat["id"])
        assert stored is not None and stored.verified
        assert stored.customer.external_id == "customer-9"
        assert stored.visitor_name == "Ida Holm"
