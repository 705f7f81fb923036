"""Which sites may show the chat panel: `allowed_origins` becomes the panel's CSP
`frame-ancestors`, so a browser refuses to render it inside any other site's page."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from bot.app import create_app
from bot.context import AppContext
from ingest.embed import HashEmbedder
from tests.conftest import make_settings


def get(tmp_path: Path, sample_index: Path, path: str, **overrides: object) -> dict[str, str]:
    settings = make_settings(tmp_path, index_dir=sample_index, **overrides)
    context = AppContext.build(settings, embedder=HashEmbedder(64))
    with TestClient(create_app(context=context)) as client:
        response = client.get(path)
        assert response.status_code == 200
        return dict(response.headers)


def test_the_panel_may_be_framed_only_by_the_allowed_sites(
    tmp_path: Path, sample_index: Path
) -> None:
    headers = get(
        tmp_path,
        sample_index,
        "/widget/panel.html?origin=https%3A%2F%2Fshop.example",
        allowed_origins=("https://shop.example", "https://www.shop.example"),
    )
    assert headers["content-security-policy"].endswith(
        "; frame-ancestors 'self' https://shop.example https://www.shop.example"
    )


def test_the_loader_itself_is_not_restricted(tmp_path: Path, sample_index: Path) -> None:
    # The host page loads loader.js with a <script> tag; CSP on it would mean nothing.
    headers = get(
        tmp_path, sample_index, "/widget/loader.js", allowed_origins=("https://shop.example",)
    )
    assert "content-security-policy" not in headers


def test_without_allowed_origins_any_site_may_embed(tmp_path: Path, sample_index: Path) -> None:
    headers = get(tmp_path, sample_index, "/widget/panel.html")
    assert "frame-ancestors" not in headers["content-security-policy"]
    assert "x-frame-options" not in headers
