"""The widget stays small: it loads on every page of every site that embeds it."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

WIDGET = Path(__file__).resolve().parents[2] / "widget"


def test_loader_under_10_kb():
    assert (WIDGET / "loader.js").stat().st_size < 10 * 1024


def test_panel_under_60_kb():
    files = [WIDGET / "panel.html", WIDGET / "panel.css", *WIDGET.glob("panel*.js")]
    # 60 KB until issue 13 added the email field and the header's time in the business time
    # zone (~4.6 KB); raised modestly rather than measured gzipped, as the server does not gzip.
    # 70 KB since issue 12: the panel's words follow the conversation's language (~4 KB).
    assert sum(f.stat().st_size for f in files) < 70 * 1024


def test_no_html_parsing_of_text_and_no_eval():
    for path in WIDGET.glob("*.js"):
        source = path.read_text(encoding="utf-8")
        for forbidden in (
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "eval(",
            "new Function",
            "document.write",
            "'*')",
        ):
            assert forbidden not in source, f"{path.name} uses {forbidden}"
