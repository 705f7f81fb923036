"""Words that are names: places, brands, services. A visitor writes them the same in any
language, so they must never decide which language a message is in ("Where is the Aarhus
store?" reads as Danish to a detector; "Nørregade" has an ø).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from ingest.documents import Article

# Brands and services a visitor writes the same in any language: payment methods and carriers
# of the shops this product is for. Lower case; a phrase is matched as whole words,
# case-insensitively. A shop's own names (its brand, its towns and streets) come from its
# knowledge base instead: `kb_names`.
NAMES = frozenset(
    {
        "paypal",
        "klarna",
        "mobilepay",
        "apple pay",
        "google pay",
        "visa",
        "mastercard",
        "american express",
        "amex",
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
# A capitalised word (or run of them) in mid-sentence, after a lower-case word or a comma: a
# sentence's first word is capitalised in every language and says nothing.
_CAPITALISED = re.compile(
    r"(?<=[a-zäöüßæøå,] )[A-ZÆØÅÄÖÜ][^\W\d_]{2,}(?:\s(?:&\s)?[A-ZÆØÅÄÖÜ][^\W\d_]+)*"
)


def kb_names(articles: Iterable[Article]) -> frozenset[str]:
    """The knowledge base's own names: capitalised words and tags that two or more language
    versions of one topic write the same ("Flensburg", "Aarhus", "Nørregade", "Fjeld Club";
    not "Rücksendung", which only German has, nor "login", which is a word). A word the
    knowledge base writes the same in two languages says nothing about which one a visitor
    writes in."""
    languages: dict[tuple[str, str], set[str]] = {}
    for article in articles:
        capitalised = {tag for tag in article.tags if tag[:1].isupper()}
        capitalised.update(_CAPITALISED.findall(f"{article.title}\n{article.body}"))
        for word in capitalised:
            languages.setdefault((article.group_id, word), set()).add(article.lang)
    return frozenset(word.lower() for (_, word), langs in languages.items() if len(langs) > 1)


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
