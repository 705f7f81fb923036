"""Messages that are not questions for the knowledge base: asking for a person, greetings,
thanks, small talk, and input with nothing in it. Pure pattern matching, in three languages.

A request for a person must never be answered with an article: that is the fastest way to lose
a customer. So it is checked before retrieval, and matched generously.
"""

from __future__ import annotations

import re
from typing import Literal

Intent = Literal["human", "hello", "thanks", "bye", "how_are_you", "who_are_you", "ok", "empty"]

_HUMAN = re.compile(
    r"\b("
    # English
    r"(talk|speak|chat|connect)( me)? (to|with) (a |an |some)?(human|person|agent|someone|"
    r"somebody|people|representative|rep|operator|staff|employee|real person|customer service)"
    r"|human( being)?|real person|live (agent|chat|person)|customer service agent|"
    r"representative|operator|agent please|an agent|someone real"
    # German
    r"|mitarbeiter\w*|menschen?|mit (einer|einem) (person|menschen|mitarbeiter\w*)|"
    r"echte[nr]? person|kundendienst(mitarbeiter\w*)?|sachbearbeiter\w*|berater\w*|"
    r"jemand(en|em)? (sprechen|reden)|persönlich sprechen"
    # Danish
    r"|menneske|rigtig person|medarbejder\w*|kundeservice ?medarbejder\w*|"
    r"tale med (en|nogen)|snakke med (en|nogen)|agent"
    r")\b",
    re.IGNORECASE,
)

# "Connect me", as opposed to naming the support team: these always go to a person.
_CONNECT = re.compile(
    r"\b((talk|speak|chat|connect)( me)? (to|with)|(sprechen|reden)\b|verbinden|"
    r"(tale|snakke) med|please$|bitte$|tak$|want|need|möchte|brauche|ønsker|vil have|"
    r"human|real person|menschen?|echte[nr]? person|menneske|rigtig person)",
    re.IGNORECASE,
)
# A question about when or how the team can be reached ("bis wann ist der Kundendienst
# erreichbar") wants the contact article, not a handoff at 11 pm when nobody is there.
_ABOUT_SUPPORT = re.compile(
    r"\b(when|what time|hours|open|available|reachable|weekends?|saturdays?|sundays?|"
    r"wann|bis wann|ab wann|erreichbar|öffnungszeiten|geöffnet|wochenende|samstags?|"
    r"sonntags?|hvornår|åbent|åbningstider|tilgængelig|weekend(en)?|lørdag|søndag)\b",
    re.IGNORECASE,
)

_SMALL_TALK: list[tuple[Intent, re.Pattern[str]]] = [
    (
        "hello",
        re.compile(
            r"^(hi|hello|hey|hiya|good (morning|afternoon|evening)|hallo|"
            r"guten (morgen|tag|abend)|moin|servus|hej|hejsa|hallø|god(dag| morgen|"
            r" aften)|goddag)( there| zusammen| med dig)?$"
        ),
    ),
    (
        "thanks",
        re.compile(
            # "ok thanks", "vielen Dank für Ihre Hilfe": a polite goodbye, not a question
            r"^((ok(ay)?|great|perfect|super|prima|perfekt|fint|alright|cool) )?"
            r"(thanks?( you)?( so much| a lot| very much)?|thx|ty|cheers|many thanks|"
            r"danke( schön| sehr)?|vielen dank|dankeschön|tak( skal du have)?|mange tak|"
            r"tusind tak)( for (your|the) help| für (die|ihre|deine|eure) hilfe| for hjælpen)?$"
        ),
    ),
    (
        "bye",
        re.compile(
            r"^(bye|goodbye|see you|tschüss|tschüs|auf wiedersehen|ciao|farvel|"
            r"hej hej|vi ses)$"
        ),
    ),
    (
        "how_are_you",
        re.compile(
            r"^(how are you( doing)?|how's it going|wie geht('s| es)?( "
            r"(dir|ihnen))?|hvordan går det|hvordan har du det)$"
        ),
    ),
    (
        "who_are_you",
        re.compile(
            r"^(who are you|are you a (bot|robot|human)|wer bist du|"
            r"wer sind sie|bist du ein (bot|mensch)|sind sie ein (bot|"
            r"mensch)|hvem er du|er du en (bot|robot|person))$"
        ),
    ),
    (
        "ok",
        re.compile(
            r"^(ok(ay)?|alright|great|perfect|cool|super|prima|alles klar|gut|"
            r"fint|perfekt|okay tak|ok tak|ok danke)$"
        ),
    ),
]

_STRIP = re.compile(r"[^\w\s']+")


def classify(text: str) -> Intent | None:
    """The intent of a message that needs no article, or None for a real question."""
    plain = _STRIP.sub(" ", text.lower()).strip()
    plain = re.sub(r"\s+", " ", plain)
    letters = re.sub(r"[\W\d_]", "", plain)
    if len(letters) < 2:
        return "empty"
    if _HUMAN.search(plain) and (_CONNECT.search(plain) or not _ABOUT_SUPPORT.search(plain)):
        return "human"
    for intent, pattern in _SMALL_TALK:
        if pattern.match(plain):
            return intent
    return None


_EMAIL = re.compile(r"^[^@\s<>()]{1,64}@[^@\s<>()]{1,250}\.[A-Za-z]{2,24}$")


def find_email(text: str) -> str | None:
    """An email address the visitor typed (alone or within a sentence), if any."""
    for word in re.split(r"[\s,;]+", text.strip()):
        word = word.strip(".:!?\"'<>()")
        if _EMAIL.match(word):
            return word
    return None
