"""Settings read from the environment say what is wrong and accept the forms people type."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.config import Settings


@pytest.mark.parametrize("value", ["en,de", " en , de ", '["en", "de"]'])
def test_languages_from_a_comma_list_or_json(monkeypatch: pytest.MonkeyPatch, value: str
                                             ) -> None:
    monkeypatch.setenv("SUPPORTBOT_LANGUAGES", value)
    monkeypatch.setenv("SUPPORTBOT_DEFAULT_LANGUAGE", "en")
    assert Settings(_env_file=None).languages == ("en", "de")  # type: ignore[call-arg]


def test_unknown_language_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTBOT_LANGUAGES", "en,fr")
    with pytest.raises(ValidationError, match="not supported"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_placeholder_secrets_are_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTBOT_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_business_hours_must_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTBOT_BUSINESS_HOURS", "Mon-Fri 18:00-08:00")
    with pytest.raises(ValidationError, match="closes before it opens"):
        Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("https://shop.example", ("https://shop.example",)),
        (" https://Shop.example/ , http://localhost:3000", ("https://shop.example",
                                                             "http://localhost:3000")),
        ("https://*.shop.example", ("https://*.shop.example",)),
    ],
)
def test_allowed_origins_from_a_comma_list(
    monkeypatch: pytest.MonkeyPatch, value: str, origins: tuple[str, ...]
) -> None:
    monkeypatch.setenv("SUPPORTBOT_ALLOWED_ORIGINS", value)
    assert Settings(_env_file=None).allowed_origins == origins  # type: ignore[call-arg]


@pytest.mark.parametrize("value", ["shop.example", "https://shop.example/help", "*", "ftp://x.y"])
def test_an_allowed_origin_must_be_an_origin(monkeypatch: pytest.MonkeyPatch, value: str
                                             ) -> None:
    monkeypatch.setenv("SUPPORTBOT_ALLOWED_ORIGINS", value)
    with pytest.raises(ValidationError, match=r"is not an origin like https://shop\.example"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_the_default_model_is_multilingual_e5(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUPPORTBOT_EMBEDDING_MODEL", raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.embedding_model == "multilingual-e5-small"
    # left unset, an index built with the previous default keeps serving until re-ingested
    assert settings.legacy_embedding_model == "all-MiniLM-L6-v2"


@pytest.mark.parametrize("value", ["multilingual-e5-small", "all-MiniLM-L6-v2", "/models/mine"])
def test_a_chosen_model_is_held_to_strictly(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SUPPORTBOT_EMBEDDING_MODEL", value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.embedding_model == value
    assert settings.legacy_embedding_model is None
