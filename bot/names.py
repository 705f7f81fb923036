"""Words that are names: places, brands, services. A visitor writes them the same in any
language, so they must never decide which language a message is in ("Where is the Aarhus
store?" reads as Danish to a detector; "Nørregade" has an ø).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from ingest.documents import Article

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
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_ACRONYM = re.compile(r"^[A-ZÆØÅÄÖÜ]{2,}$")  # DHL, GLS
_INNER_CAPITAL = re.compile(r"^.+[A-ZÆØÅÄÖÜ]")  # PayPal, MobilePay, PostNord
_SENTENCE_END = re.compile(r"[.!?:]\s*$")


def kb_names(articles: Iterable[Article]) -> frozenset[str]:
    """The knowledge base's own names: tags that start with a capital and that two or more
    language versions of one topic write the same ("Flensburg", "Klarna", "Fjeld Club";
    not "Rücksendung", which only German has, nor "login", which is a word)."""
    languages: dict[tuple[str, str], set[str]] = {}
    for article in articles:
        for tag in article.tags:
            if tag[:1].isupper():
                languages.setdefault((article.group_id, tag), set()).add(article.lang)
    return frozenset(tag.lower() for (_, tag), langs in languages.items() if len(langs) > 1)


@lru_cache(maxsize=8)
def _pattern(extra: frozenset[str]) -> re.Pattern[str]:
    names = sorted(NAMES | extra, key=len, reverse=True)  # the longest phrase first
    return re.compile(
        r"(?<!\w)(?:" + "|".join(re.escape(n) for n in names) + r")(?!\w)", re.IGNORECASE
    )


def without_names(text: str, names: frozenset[str] = frozenset()) -> tuple[list[str], list[str]]:
    """The words of `text` without the sure names (`NAMES` and `names`, lower case; acronyms;
    inner capitals), and those words without any capitalised one in mid-sentence either (it
    may be a name)."""
    words: list[str] = []
    strict: list[str] = []
    start = True
    for piece in re.split(r"(\s+)", _pattern(names).sub(" . ", text)):
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
