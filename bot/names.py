"""Words that are names: places, brands, services. A visitor writes them the same in any
language, so they must never decide which language a message is in ("Where is the Aarhus
store?" reads as Danish to a detector; "Nørregade" has an ø).
"""

from __future__ import annotations

import re

# Places, brands and services a visitor writes in any language. Lower case; a phrase is
# matched as whole words, case-insensitively.
NAMES = frozenset(
    {
        "fjeld & fels",
        "fjeld og fels",
        "fjeld und fels",
        "fjeld club",
        "fjeld",
        "fels",
        "copenhagen",
        "københavn",
        "kobenhavn",
        "kopenhagen",
        "aarhus",
        "århus",
        "hamburg",
        "flensburg",
        "berlin",
        "nørregade",
        "mönckebergstraße",
        "paypal",
        "klarna",
        "mobilepay",
        "apple pay",
        "google pay",
        "visa",
        "mastercard",
        "dankort",
        "vipps",
        "dhl",
        "gls",
        "dpd",
        "ups",
        "postnord",
        "hermes",
    }
)
_NAMES = re.compile(
    r"(?<!\w)(?:"
    + "|".join(re.escape(n) for n in sorted(NAMES, key=len, reverse=True))
    + r")(?!\w)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_ACRONYM = re.compile(r"^[A-ZÆØÅÄÖÜ]{2,}$")  # DHL, GLS
_INNER_CAPITAL = re.compile(r"^.+[A-ZÆØÅÄÖÜ]")  # PayPal, MobilePay, PostNord
_SENTENCE_END = re.compile(r"[.!?:]\s*$")


def without_names(text: str) -> tuple[list[str], list[str]]:
    """The words of `text` without the sure names (`NAMES`, acronyms, inner capitals), and
    those words without any capitalised one in mid-sentence either (it may be a name)."""
    words: list[str] = []
    strict: list[str] = []
    start = True
    for piece in re.split(r"(\s+)", _NAMES.sub(" . ", text)):
        if not piece.strip():
            continue
        if piece == ".":
            start = False  # a name stood here: the next word is not a sentence's first
            continue
        for word in _WORD.findall(piece):
            if _ACRONYM.match(word) or _INNER_CAPITAL.match(word):
                start = False
                continue
            words.append(word)
            if start or not word[0].isupper():
                strict.append(word)
            start = False
        if _SENTENCE_END.search(piece):
            start = True
    return words, strict
