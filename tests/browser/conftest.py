"""Fixtures for the widget tests in real Chromium (Playwright, sync API).

- `bot`: the server under test. The `live_server` fixture of tests/conftest.py (the real app);
  without it, or with SUPPORTBOT_WIDGET_FAKE_API=1, the in-memory stand-in in _fake_api.py.
- `host`: host pages on another origin than the bot (so the postMessage origin checks are
  exercised), plus a second, "evil" origin.
- `browser`: Debian's Chromium; the tests skip without it unless SUPPORTBOT_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parents[1] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


def _missing(reason: str) -> None:
    if os.environ.get("SUPPORTBOT_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if not path:
        _missing("Chromium not installed (apt-get install chromium)")
    return str(path)


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _missing("playwright not installed (pip install -e '.[dev]')")
    # Bot answers take longer on a busy CI machine than expect()'s default 5 s.
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _load_fake_api() -> Any:
    # Loaded by path: works whatever the import mode and whether tests/ is a package.
    spec = importlib.util.spec_from_file_location("supportbot_fake_api", HERE / "_fake_api.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def bot(request: pytest.FixtureRequest) -> Iterator[Any]:
    """An object with .url and agent_reply / agent_resolve / agent_typing."""
    if os.environ.get("SUPPORTBOT_WIDGET_FAKE_API") != "1":
        try:
            yield request.getfixturevalue("live_server")
            return
        except pytest.FixtureLookupError:
            pass
    server = _load_fake_api().FakeServer().start()
    yield server
    server.stop()


# ---- host pages ----------------------------------------------------------------------------

PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header><a href="/other.html" id="first-link">Other page</a></header>
<main>
<h1>{title}</h1>
<p>A host page of the widget tests. The chat launcher sits in the corner.</p>
{body}
</main>
<script src="{bot}/widget/loader.js"{attrs} async></script>
</body>
</html>
"""


@dataclass
class Host:
    """Serves registered pages on two origins: `url` (the host) and `evil_url`."""

    bot_url: str
    pages: dict[str, bytes] = field(default_factory=dict)
    url: str = ""
    evil_url: str = ""

    def page(
        self,
        path: str = "/index.html",
        *,
        lang: str = "en",
        attrs: dict[str, str] | None = None,
        css: str = "",
        body: str = "",
        title: str = "Host page",
        widget: bool = True,
    ) -> str:
        """Registers a host page with the widget's script tag; returns its URL."""
        attr_text = "".join(f' {name}="{escape(value)}"' for name, value in (attrs or {}).items())
        html = PAGE.format(
            lang=lang, title=title, css=css, body=body, bot=self.bot_url, attrs=attr_text
        )
        if not widget:
            html = html.replace(f'<script src="{self.bot_url}/widget/loader.js"', "<script")
        self.pages[path] = html.encode()
        return self.url + path

    def raw(self, path: str, html: str) -> None:
        self.pages[path] = html.encode()


def _serve(pages: dict[str, bytes]) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path.split("?")[0])
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="session")
def host(bot: Any) -> Iterator[Host]:
    result = Host(bot_url=bot.url.rstrip("/"))
    servers = []
    for attr in ("url", "evil_url"):
        server, url = _serve(result.pages)
        servers.append(server)
        setattr(result, attr, url)
    result.page("/other.html", title="Another page")
    yield result
    for server in servers:
        server.shutdown()
        server.server_close()


# ---- browser pages and the widget on them ---------------------------------------------------


class Widget:
    """The widget as a test sees it: launcher in the host page, panel in its iframe."""

    def __init__(self, page: Any, bot_url: str) -> None:
        self.page = page
        self.bot_url = bot_url.rstrip("/")
        # Playwright's CSS engine pierces open shadow roots.
        self.launcher = page.locator("supportbot-widget button.launcher")
        self.iframe = page.locator("supportbot-widget iframe")
        self.panel = page.frame_locator("supportbot-widget iframe")
        self.input = self.panel.locator("#input")
        self.log = self.panel.locator("#log")

    def frame(self) -> Any:
        """The panel's Frame (for evaluate), once it has loaded."""
        self.page.wait_for_function(
            "() => document.querySelector('supportbot-widget')?.shadowRoot"
            "?.querySelector('iframe')?.contentWindow"
        )
        for frame in self.page.frames:
            if "/widget/panel.html" in frame.url:
                frame.wait_for_function("() => document.body.dataset.status !== undefined")
                return frame
        raise AssertionError("panel frame not found")

    def open(self) -> None:
        """Opens the panel with the launcher (the open state survives reloads)."""
        from playwright.sync_api import expect

        expect(self.launcher).to_be_visible()
        self.frame()  # the panel has loaded and said hello
        if self.launcher.get_attribute("aria-expanded") != "true":
            self.launcher.click()
            expect(self.input).to_be_focused()
        expect(self.iframe).to_be_visible()

    def answer(self, question: str) -> Any:
        """Asks and returns the locator of the bot's answer (following a clarify question's
        first quick reply if the bot asks back)."""
        from playwright.sync_api import expect

        before = self.log.locator(".from-bot").count()
        self.ask(question)
        reply = self.log.locator(".from-bot").nth(before)
        expect(reply).to_be_visible()
        if "kind-clarify" in (reply.get_attribute("class") or ""):
            reply.locator(".quick button").first.click()
            reply = self.log.locator(".from-bot").nth(before + 1)
        expect(reply).to_have_class(re.compile(r"\bkind-answer\b"))
        return reply

    def ask(self, text: str) -> None:
        self.input.fill(text)
        self.input.press("Enter")

    def stored(self, key: str) -> Any:
        """A value the panel keeps in its storage (bot origin), decoded."""
        value = self.frame().evaluate("key => localStorage.getItem(key)", f"supportbot:{key}")
        return None if value is None else json.loads(value)

    def conversation(self) -> dict[str, str]:
        value = self.stored("conversation")
        assert value, "no conversation stored yet"
        return value

    def api(self, path: str = "") -> Any:
        """GET /api/v1/conversations/{id}{path} with the widget's own token."""
        conv = self.conversation()
        response = httpx.get(
            f"{self.bot_url}/api/v1/conversations/{conv['id']}{path}",
            headers={"Authorization": f"Bearer {conv['token']}"},
        )
        response.raise_for_status()
        return response.json()

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.fixture
def browser_context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport=DESKTOP, locale="en-US")
    ctx.set_default_timeout(15000)
    yield ctx
    ctx.close()


def _watch_errors(page: Any) -> list[str]:
    """Uncaught exceptions and CSP violations in the page or the panel iframe (those of the
    iframe only reach the console); a test fails on any. Failed requests are expected in the
    offline tests and are not errors of the widget."""
    errors: list[str] = []

    def on_console(message: Any) -> None:
        text = message.text
        if message.type == "error" and "net::" not in text and "Failed to load" not in text:
            errors.append(text)

    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", on_console)
    return errors


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    page = browser_context.new_page()
    errors = _watch_errors(page)
    yield page
    assert errors == [], errors


@pytest.fixture
def widget(page: Any, bot: Any) -> Widget:
    return Widget(page, bot.url)


@pytest.fixture
def phone_widget(browser: Any, bot: Any) -> Iterator[Widget]:
    """The widget on a 360 px wide phone screen."""
    ctx = browser.new_context(viewport=PHONE, locale="en-US", is_mobile=True, has_touch=True)
    ctx.set_default_timeout(15000)
    page = ctx.new_page()
    errors = _watch_errors(page)
    yield Widget(page, bot.url)
    ctx.close()
    assert errors == [], errors
