"""The widget and the host page leave each other alone: CSS, and postMessage origins."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

HOSTILE_CSS = """
* { all: unset; }
html { font-size: 40px; }
* { all: unset !important; }
div, button, iframe, span { display: none !important; width: 3px !important; }
body { font: 40px/3 serif !important; color: red !important; }
"""


def test_hostile_host_css_does_not_break_the_widget(widget, host):
    url = host.page("/hostile.html", css=HOSTILE_CSS, attrs={"data-color": "#ffd400"})
    widget.page.goto(url)
    expect(widget.launcher).to_be_visible()
    box = widget.launcher.bounding_box()
    assert (round(box["width"]), round(box["height"])) == (56, 56)
    assert box["x"] + box["width"] == pytest.approx(1280 - 20, abs=1)
    # A light brand colour gets a dark icon (contrast), not white on yellow.
    assert widget.launcher.evaluate("el => getComputedStyle(el).color") == "rgb(0, 0, 0)"

    widget.open()
    panel = widget.iframe.bounding_box()
    assert (panel["width"], panel["height"]) == (380, 640)
    widget.answer("How do I return an item?")
    font = widget.input.evaluate("el => getComputedStyle(el).fontSize")
    assert font == "15px"
    widget.screenshot("desktop-hostile-css")
    # ...and the widget did not restyle the host page.
    assert widget.page.evaluate("getComputedStyle(document.body).color") == "rgb(255, 0, 0)"


def test_widget_does_not_restyle_the_host_page(widget, host):
    url = host.page("/plain.html", body='<button id="own">Host button</button>')
    widget.page.goto(url)
    expect(widget.launcher).to_be_visible()
    before = widget.page.evaluate("""() => {
        const b = document.getElementById('own');
        return [getComputedStyle(b).backgroundColor, getComputedStyle(b).borderRadius,
                getComputedStyle(document.body).margin, document.styleSheets.length];
    }""")
    assert before == ["rgb(239, 239, 239)", "0px", "8px", 1]


def test_loader_ignores_messages_from_other_origins(widget, host):
    evil_frame = f'<iframe id="evil" src="{host.evil_url}/evil.html" title="ad"></iframe>'
    host.raw("/evil.html", "<!doctype html><title>evil</title><p>an ad</p>")
    widget.page.goto(host.page("/with-ad.html", body=evil_frame))
    expect(widget.launcher).to_be_visible()
    widget.frame()
    evil = next(f for f in widget.page.frames if f.url.startswith(host.evil_url))
    badge = widget.page.locator("supportbot-widget .badge")

    # A third-party frame, and the host page itself, pretend to be the panel.
    forged = "{type: 'supportbot:unread', data: {count: 7}}"
    evil.evaluate(f"parent.postMessage({forged}, '*')")
    widget.page.evaluate(f"window.postMessage({forged}, '*')")
    widget.page.wait_for_timeout(300)
    expect(badge).to_be_hidden()

    widget.open()
    evil.evaluate("parent.postMessage({type: 'supportbot:close', data: {}}, '*')")
    widget.page.wait_for_timeout(300)
    expect(widget.iframe).to_be_visible()

    # The real panel's messages do work: its close button closes.
    widget.panel.locator("#close").click()
    expect(widget.iframe).to_be_hidden()


def test_panel_ignores_messages_from_other_origins(page, host, bot):
    """The host embeds the panel next to a third-party frame; only the host may drive it."""
    panel_src = f"{bot.url}/widget/panel.html?origin={host.url}&lang=en"
    host.raw("/evil2.html", "<!doctype html><title>evil</title>")
    host.raw(
        "/embed.html",
        f"""<!doctype html><title>embed</title>
        <iframe id="panel" src="{panel_src}"></iframe>
        <iframe id="evil" src="{host.evil_url}/evil2.html"></iframe>""",
    )
    page.goto(host.url + "/embed.html")
    panel = page.frame_locator("#panel").locator("body")
    expect(panel).to_have_attribute("data-status", "bot")
    evil = next(f for f in page.frames if f.url.startswith(host.evil_url))

    evil.evaluate("parent.frames[0].postMessage({type: 'supportbot:open', data: {}}, '*')")
    page.wait_for_timeout(300)
    expect(panel).to_have_attribute("data-open", "false")

    page.evaluate(f"""document.getElementById('panel').contentWindow.postMessage(
        {{type: 'supportbot:open', data: {{}}}}, '{bot.url}')""")
    expect(panel).to_have_attribute("data-open", "true")


def test_panel_framed_by_a_stranger_stays_silent(page, host, bot):
    """A page that frames the panel claiming to be another site gets nothing from it."""
    panel_src = f"{bot.url}/widget/panel.html?origin={host.url}"
    host.raw(
        "/framer.html",
        f"""<!doctype html><title>framer</title>
        <iframe id="panel" src="{panel_src}"></iframe>""",
    )
    page.goto(host.evil_url + "/framer.html")
    page.evaluate("""() => {
        window.received = [];
        window.addEventListener('message', e => window.received.push(e.data));
    }""")
    panel = page.frame_locator("#panel").locator("body")
    expect(panel).to_have_attribute("data-status", "bot")
    page.evaluate(f"""document.getElementById('panel').contentWindow.postMessage(
        {{type: 'supportbot:open', data: {{}}}}, '{bot.url}')""")
    page.wait_for_timeout(300)
    expect(panel).to_have_attribute("data-open", "false")
    assert page.evaluate("window.received") == []
