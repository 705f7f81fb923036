"""Which language a visitor writes in, with a bundled detector (no downloads).

Short messages are often ambiguous ("ok", "paypal"); then the conversation's language wins.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from lingua import Language, LanguageDetectorBuilder

from bot.names import without_names

_LINGUA = {"en": Language.ENGLISH, "de": Language.GERMAN, "da": Language.DANISH}
_CODES = {v: k for k, v in _LINGUA.items()}
# Letters that settle it at once, whatever the detector says about a two-word message (unless
# they are a name's: bot.names).
_DANISH_LETTERS = re.compile(r"[æøå]", re.IGNORECASE)
_GERMAN_LETTERS = re.compile(r"[äöüß]", re.IGNORECASE)


@lru_cache(maxsize=4)
def _detector(languages: tuple[str, ...]) -> Any:
    chosen = [_LINGUA[code] for code in languages if code in _LINGUA]
    return LanguageDetectorBuilder.from_languages(*chosen).with_preloaded_language_models().build()


def warm_up(languages: Sequence[str]) -> None:
    """Load the detector's models now rather than on the first visitor's message."""
    _detector(tuple(languages))


def confidences(text: str, *, languages: Sequence[str]) -> list[tuple[str, float]]:
    """The detector's confidence in each of `languages` for `text`, likeliest first (they sum
    to 1); empty when it has nothing to go on."""
    values = _detector(tuple(languages)).compute_language_confidence_values(text)
    return [(_CODES[v.language], float(v.value)) for v in values if v.language in _CODES]


def letters_say(text: str, languages: Sequence[str]) -> str | None:
    """The language letters settle at once (æøå only in Danish, äöüß only in German), or
    None: neither, or both. Give it text without names (`bot.names.without_names`)."""
    danish = "da" in languages and _DANISH_LETTERS.search(text) is not None
    german = "de" in languages and _GERMAN_LETTERS.search(text) is not None
    if danish == german:
        return None
    return "da" if danish else "de"


def detect_language(
    text: str, *, languages: Sequence[str], fallback: str, min_confidence: float = 0.6
) -> str:
    """The language of `text` among `languages`, or `fallback` when the text does not say."""
    letters = re.sub(r"[^\w]", "", text)
    if len(languages) == 1 or len(letters) < 3:
        return fallback
    # Names are not the visitor's language ("Where is the Aarhus store?"): leave them out, and
    # take no letter shortcut from a capitalised word in mid-sentence ("Nørregade").
    kept, plain = without_names(text)
    if not kept:
        return fallback
    shortcut = letters_say(" ".join(plain), languages)
    if shortcut is not None:
        return shortcut
    # A capitalised word in mid-sentence may be a name the knowledge base does not list
    # ("Is the store in København open?"): read the message without them when anything is left.
    read = plain or kept
    values = _detector(tuple(languages)).compute_language_confidence_values(" ".join(read))
    if not values:
        return fallback
    best = values[0]
    code = _CODES.get(best.language, fallback)
    words = len(read)
    needed = 0.95 if words == 1 else min_confidence  # one word is rarely proof ("paypal")
    if best.value < needed and words < 4:
        return fallback
    return code
