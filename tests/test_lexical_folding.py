"""Words typed without umlauts or Danish letters meet the knowledge base's spelling."""

from __future__ import annotations

import pytest

from ingest.lexical import tokenize


@pytest.mark.parametrize(
    ("typed", "written", "lang"),
    [
        ("saelger", "sælger", "da"),
        ("aendre leveringsadresse", "ændre leveringsadresse", "da"),
        ("skistoevler", "skistøvler", "da"),
        ("returneringsfrist paa", "returneringsfrist på", "da"),
        ("Rueckgabe", "Rückgabe", "de"),
        ("Ruckgabe", "Rückgabe", "de"),
        ("Strasse", "Straße", "de"),
    ],
)
def test_spellings_without_special_letters_meet(typed: str, written: str, lang: str) -> None:
    assert tokenize(typed, lang) == tokenize(written, lang)


def test_danish_letters_are_folded_not_dropped() -> None:
    # Before: NFKD had no ASCII form for æ/ø, so "sælger" became "slg" and "fiskestænger"
    # "fiskestng", words no visitor types.
    assert tokenize("sælger", "da") == ["salg"]
    assert all(len(word) > 3 for word in tokenize("fiskestænger skistøvler", "da"))
