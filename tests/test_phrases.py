"""The bot's own words exist in every language, with the same blanks to fill in."""

from __future__ import annotations

import string

import pytest

from bot.phrases import LANGUAGE_NAMES, PHRASES, language_name, say
from ingest.settings import LANGUAGES


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_language_has_a_table() -> None:
    assert set(PHRASES) == set(LANGUAGES)
    assert set(LANGUAGE_NAMES) == set(LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_in_every_language(lang: str) -> None:
    assert PHRASES[lang].keys() == PHRASES["en"].keys()


@pytest.mark.parametrize("key", sorted(PHRASES["en"]))
def test_same_placeholders_in_every_language(key: str) -> None:
    expected = placeholders(PHRASES["en"][key])
    for lang in LANGUAGES:
        assert placeholders(PHRASES[lang][key]) == expected, f"{lang}:{key}"
        assert PHRASES[lang][key].strip(), f"{lang}:{key} is empty"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_say_fills_every_placeholder(lang: str) -> None:
    values = {"name": "Anna", "minutes": 3, "email": "a@example.com", "time": "12:00",
              "language": "English", "when": "by 12:00", "city": "Berlin", "day": "Monday",
              "clock": "12:00", "hour": "12", "minute": "00"}
    for key in PHRASES[lang]:
        text = say(key, lang, **values)
        assert "{" not in text and "}" not in text, f"{lang}:{key}"


def test_translations_differ_from_english() -> None:
    for lang in ("de", "da"):
        same = [k for k in PHRASES["en"] if PHRASES[lang][k] == PHRASES["en"][k]]
        assert same == [], f"{lang} keys left in English: {same}"


def test_unknown_language_falls_back_to_english() -> None:
    assert say("hello", "fr") == PHRASES["en"]["hello"]
    assert language_name("de", "fr") == "German"


@pytest.mark.parametrize(
    ("code", "in_lang", "name"),
    [("de", "en", "German"), ("en", "de", "Englisch"), ("da", "da", "dansk"), ("xx", "en", "xx")],
)
def test_language_name(code: str, in_lang: str, name: str) -> None:
    assert language_name(code, in_lang) == name
