"""`allowed_origins` in a real browser: the panel shows on an allowed site, and Chromium
refuses to render it inside any other site's page (CSP `frame-ancestors`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.context import AppContext
from ingest.embed import HashEmbedder
from tests.browser.conftest import PAGE, Widget, _serve
from tests.conftest import LiveServer, make_settings

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory, sample_index: Path) -> Iterator[Any]:
    """An allowed and a foreign host site, and a bot that lets only the first embed it."""
    pages: dict[str, bytes] = {}
    servers = [_serve(pages) for _ in range(2)]
    allowed, foreign = (url for _, url in servers)
    settings = make_settings(
        tmp_path_factory.mktemp("origins"), index_dir=sample_index, allowed_origins=(allowed,)
    )
    bot = LiveServer(AppContext.build(settings, embedder=HashEmbedder(64)))
    bot.start()
    pages["/shop.html"] = PAGE.format(
        lang="en", title="Shop", css="", body="", bot=bot.url, attrs=""
    ).encode()
    yield bot, allowed, foreign
    bot.stop()
    for server, _ in servers:
        server.shutdown()
        server.server_close()


def test_the_panel_works_on_an_allowed_site(page: Any, sites: Any) -> None:
    bot, allowed, _ = sites
    page.goto(f"{allowed}/shop.html")
    widget = Widget(page, bot.url)
    widget.open()
    widget.answer("How do I return an item?")


def test_another_site_gets_no_panel(browser_context: Any, sites: Any) -> None:
    bot, _, foreign = sites
    page = browser_context.new_page()  # not `page`: that one fails on the console error
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "frame-ancestors" in m.text else None)
    page.goto(f"{foreign}/shop.html")
    widget = Widget(page, bot.url)
    widget.launcher.wait_for()
    page.wait_for_function(
        "() => document.querySelector('supportbot-widget')?.shadowRoot?.querySelector('iframe')"
    )
    page.wait_for_timeout(1500)
    panels = [f for f in page.frames if f is not page.main_frame]
    assert panels, "the loader did not add the iframe"
    for frame in panels:  # Chromium swaps a refused frame for its own error page
        assert frame.locator("#input").count() == 0
    assert blocked, "Chromium did not report the frame-ancestors refusal"
