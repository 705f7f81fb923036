"""The conversation's language: set when the chat starts, changed only when the visitor
clearly writes in another one.

One rule, `next_language`:

- The chat starts in the widget's locale (`bot.conversation.ChatService.start`).
- A message switches it when it is long enough to tell on its own (`LONG_MESSAGE_WORDS` words
  or more once names are left out) and the detector is sure (`SURE`), or when it is the second
  visitor message in a row that reads as the same other language (each with `EVIDENCE_WORDS`
  words and `LIKELY` confidence: "Danke schön", then "Wo bleibt es?").
- Names never switch it. Known names ("Aarhus", "PayPal", "Fjeld Club"), acronyms ("DHL") and
  words with a capital inside ("MobilePay") are left out before detection (`bot.names`), and a
  capitalised word in mid-sentence ("Nørregade") gives no æøå/äöüß shortcut. Such a word, or
  one with those letters ("lübeck"), may be a name but also a German noun, so it is not simply
  dropped: the language read without it must be the same, or the message does not count.

The choice carries its evidence (`LanguageChoice.details`), kept with the visitor's message:
the next message reads `detected` from there for "two in a row".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.language import confidences, letters_say
from bot.names import without_names

LONG_MESSAGE_WORDS = 4  # "wo ist mein paket": enough for the detector to be right alone
SURE = 0.7  # its confidence for that (en/de/da values sum to 1; "ok" reads 0.57 Danish)
EVIDENCE_WORDS = 2  # a single word ("ok", "tak", "Hallo") says nothing, even twice
LIKELY = 0.55  # a short message's confidence that still counts towards two in a row


@dataclass(frozen=True)
class Reading:
    """What one message says about its language. `detected` is None when it does not say
    (too few words, an unsure detector, or a reading that hangs on a possible name)."""

    detected: str | None
    confidence: float
    words: int


@dataclass(frozen=True)
class LanguageChoice:
    """The conversation's language after a message, and why."""

    lang: str
    rule: str  # start | same | unclear | long_message | two_in_a_row | once
    reading: Reading

    def details(self) -> dict[str, Any]:
        return {
            "lang": self.lang,
            "rule": self.rule,
            "detected": self.reading.detected,
            "confidence": round(self.reading.confidence, 4),
            "words": self.reading.words,
        }


def read(text: str, *, languages: Sequence[str], names: frozenset[str] = frozenset()) -> Reading:
    """The language `text` is written in, if it says, with names (and the knowledge base's
    own `names`, `bot.names.kb_names`) left out."""
    words, strict = without_names(text, names)
    count = len(words)
    if len(languages) < 2 or count < EVIDENCE_WORDS or not strict:
        return Reading(None, 0.0, count)
    shortcut = letters_say(" ".join(strict), languages)
    found = confidences(" ".join(words), languages=languages)
    if shortcut is not None:
        lang, confidence = shortcut, 1.0
    elif found:
        lang, confidence = found[0]
    else:
        return Reading(None, 0.0, count)
    # A word that may be a name (capitalised in mid-sentence, or with æøå/äöüß: "lübeck")
    # must not decide it: the words left without such ones must read the same.
    rest = [w for w in strict if letters_say(w, languages) is None]
    if len(rest) < count:
        without = confidences(" ".join(rest), languages=languages) if rest else []
        if not without or without[0][0] != lang:
            return Reading(None, confidence, count)
    if confidence < LIKELY:
        return Reading(None, confidence, count)
    return Reading(lang, confidence, count)


def next_language(
    text: str,
    *,
    current: str,
    previous: str | None,
    languages: Sequence[str],
    names: frozenset[str] = frozenset(),
) -> LanguageChoice:
    """The conversation's language after the visitor wrote `text`. `current` is its language
    now; `previous` what the visitor's message before this one read as (its `detected`);
    `names` the knowledge base's own names."""
    reading = read(text, languages=languages, names=names)
    detected = reading.detected
    if detected is None:
        return LanguageChoice(current, "unclear", reading)
    if detected == current:
        return LanguageChoice(current, "same", reading)
    if reading.words >= LONG_MESSAGE_WORDS and reading.confidence >= SURE:
        return LanguageChoice(detected, "long_message", reading)
    if previous == detected:
        return LanguageChoice(detected, "two_in_a_row", reading)
    return LanguageChoice(current, "once", reading)
