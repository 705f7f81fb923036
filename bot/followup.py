"""A follow-up that leans on the previous question ("and to Denmark?", "und was kostet das?",
"hvad med Sverige?"): whether a message is one, the query to search with instead, and which of
the two searches to trust. Pure functions, no I/O: `bot.replies` runs the searches.

The rewritten query is the previous question followed by the new message; hybrid retrieval then
weighs both ("how long does delivery to Germany take? and to Denmark?" still finds the delivery
article, and its best section names Denmark). Whether to use it is decided by what retrieval
saw: a message that carries its own topic ("and how do I return it?") retrieves better alone,
and words of its own that the knowledge base never uses ("and to the USA?") keep their weight.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from bot.policy import Decision

Cue = Literal["fragment", "connective", "reference", "short"]

# Words a follow-up starts with, in en/de/da (after any "ok", "thanks" in front).
_CONNECTIVES = tuple(
    tuple(phrase.split())
    for phrase in (
        # English
        "and",
        "also",
        "or",
        "what about",
        "how about",
        "same for",
        "same with",
        "and what about",
        "and how about",
        "what if",
        "and if",
        "but what about",
        # German
        "und",
        "oder",
        "auch",
        "was ist mit",
        "wie ist es mit",
        "wie sieht es mit",
        "wie sieht's mit",
        "und was ist mit",
        "und wie ist es mit",
        "gilt das auch",
        "aber was ist mit",
        "was ist wenn",
        "was wenn",
        "und wenn",
        # Danish
        "og",
        "eller",
        "også",
        "hvad med",
        "hvad så med",
        "hvordan med",
        "og hvad med",
        "gælder det også",
        "men hvad med",
        "hvad hvis",
        "og hvis",
    )
)
# Words that point back at something said before; not those that are also articles in
# another of the languages (German "der", "den", "dem"; Danish "der", "den", "dem").
_REFERENCES = frozenset(
    {"it", "that", "this", "those", "these", "there", "them"}
    | {"das", "dies", "dieses", "diese", "dort", "dafür", "davon", "dahin", "damit"}
    | {"det", "dette", "dertil", "derfra"}
)
# A fragment that swaps one thing of the previous question for another starts with one of
# these: "(and) to Denmark", "(und) bei PayPal", "(og) til Sverige", "(gælder det også) for sko".
_PREPOSITIONS = frozenset(
    {"to", "from", "in", "into", "for", "with", "on", "at", "by", "via"}
    | {"nach", "in", "für", "mit", "bei", "aus", "von", "zu", "an", "auf", "per", "über"}
    | {"til", "fra", "i", "for", "med", "på", "ved", "af", "over"}
)
# Politeness in front of a follow-up ("ok and to Denmark?", "danke, und in die Schweiz?").
_FILLERS = frozenset(
    {"ok", "okay", "alright", "great", "thanks", "cool", "perfect", "super"}
    | {"danke", "gut", "prima", "perfekt", "ah"}
    | {"tak", "fint", "godt"}
)
_WORD = re.compile(r"[\w']+", re.UNICODE)

MAX_FOLLOW_UP_WORDS = 8  # longer messages say enough on their own
MAX_FRAGMENT_WORDS = 3  # after the connective: "(and) to Denmark", "(und) was kostet das"
MAX_REFERENCE_WORDS = 6  # "what does it cost", "und was kostet das", "hvad koster det"
MAX_SHORT_WORDS = 2  # "Denmark?", "express?": short enough to be a fragment
MAX_PREVIOUS_CHARS = 300  # a chain of follow-ups keeps its most recent part


@dataclass(frozen=True)
class FollowUp:
    """A message read as a follow-up: what to search with, built from which question."""

    query: str
    previous: str
    cue: Cue


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def split_connective(text: str) -> tuple[list[str], list[str]]:
    """The words of `text` without the politeness in front, split into the connective it
    starts with (none: empty) and the rest: "ok und in die Schweiz?" gives (["und"],
    ["in", "die", "schweiz"])."""
    tokens = words(text)
    while tokens and tokens[0] in _FILLERS and len(tokens) > 1:
        tokens = tokens[1:]
    length = max(
        (len(p) for p in _CONNECTIVES if tuple(tokens[: len(p)]) == p),
        default=0,
    )
    return tokens[:length], tokens[length:]


def cue_of(text: str) -> Cue | None:
    """Why `text` looks like a follow-up rather than a question of its own, or None."""
    connective, rest = split_connective(text)
    tokens = connective + rest
    if not tokens or len(tokens) > MAX_FOLLOW_UP_WORDS:
        return None
    if connective:
        return "fragment" if _is_fragment(rest) else "connective"
    if len(tokens) <= MAX_REFERENCE_WORDS and _REFERENCES & set(tokens):
        return "reference"
    if len(tokens) <= MAX_SHORT_WORDS:
        return "short"
    return None


def _is_fragment(rest: list[str]) -> bool:
    """After a connective: a few words that swap one thing of the previous question for
    another ("to Denmark") or point back at it ("was kostet das"). Not a bare topic ("and
    returns?"): that may be a new question, and is left to retrieval to settle."""
    if not rest or len(rest) > MAX_FRAGMENT_WORDS:
        return False
    return rest[0] in _PREPOSITIONS or bool(_REFERENCES & set(rest))


def follow_up(text: str, previous: str | None) -> FollowUp | None:
    """The rewritten query for a follow-up to `previous` (the question the bot last answered
    or clarified in this conversation), or None when `text` stands on its own."""
    if not previous or not previous.strip():
        return None
    cue = cue_of(text)
    if cue is None:
        return None
    before = _tail(previous.strip(), MAX_PREVIOUS_CHARS)
    if not re.search(r"[.?!]$", before):
        before += "?"
    return FollowUp(f"{before} {text.strip()}", previous.strip(), cue)


def prefer_rewrite(cue: Cue, bare: Decision, rewritten: Decision) -> bool:
    """Search with the rewritten query when it retrieves better than the message alone.

    "Better" is the policy's confidence, with two exceptions. A connective and a few words
    ("und bei PayPal?" after a question about refunds) only make sense with the question
    before: when that reading can be answered, it wins even if the bare words match another
    article more closely. A bare fragment ("forgot password") that the bot would answer
    confidently on its own is a new question, not a follow-up: keep it.
    """
    if cue == "fragment" and rewritten.action == "answer":
        return True
    if rewritten.confidence <= bare.confidence:
        return False
    return not (cue == "short" and bare.action == "answer")


UNKNOWN_WORD_FEATURES = ("oov", "idf_oov")


def keep_unknown_words(
    bare: Mapping[str, float], rewritten: Mapping[str, float]
) -> dict[str, float]:
    """The rewritten query's retrieval features, with the follow-up's own unknown words
    counted as in the message alone. "and to the USA?" after a delivery question must not
    borrow the previous question's words to drown "usa", which the knowledge base never uses:
    the shop does not ship there, and that question belongs with a person."""
    merged = dict(rewritten)
    for name in UNKNOWN_WORD_FEATURES:
        if name in bare:
            merged[name] = max(bare[name], rewritten.get(name, 0.0))
    return merged


def _tail(text: str, limit: int) -> str:
    """The last `limit` characters of `text`, starting at a word."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    space = cut.find(" ")
    return cut[space + 1 :] if 0 <= space < len(cut) - 1 else cut
