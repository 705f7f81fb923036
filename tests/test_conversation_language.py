"""The rule for the conversation's language: it starts from the locale and changes only when
the visitor clearly writes in another language; names never change it."""

from __future__ import annotations

import pytest

from bot.conversation_language import LONG_MESSAGE_WORDS, LanguageChoice, next_language, read
from bot.language import detect_language
from bot.names import kb_names, without_names
from ingest.load import load_knowledge_base
from tests.conftest import SAMPLE_KB

LANGUAGES = ("en", "de", "da")
# The sample knowledge base's own names, as the chat service passes them (`Serving.names`).
SAMPLE_NAMES = kb_names(load_knowledge_base(SAMPLE_KB, languages=LANGUAGES, default_language="en"))


def chat(start: str, *messages: str) -> list[LanguageChoice]:
    """The choices over a run of visitor messages, as the chat service makes them."""
    current, previous, choices = start, None, []
    for text in messages:
        choice = next_language(
            text, current=current, previous=previous, languages=LANGUAGES, names=SAMPLE_NAMES
        )
        current, previous = choice.lang, choice.reading.detected
        choices.append(choice)
    return choices


@pytest.mark.parametrize(
    "text",
    [
        "Can I pick up my order in the Copenhagen store?",
        "Where is the Aarhus store?",
        "Is Fjeld Club free?",
        "Where is the store in København?",
        "Can I pay with PayPal, Klarna or MobilePay?",
        "Do you ship with DHL, GLS or PostNord?",
        "Is the Hamburg store open on Saturday?",
        "Where is the store in Nørregade?",  # a name with ø: the Danish letters must not fire
        "is there a store in lübeck",  # an unknown name, in lower case, with ü
        "ship to münchen please",
    ],
)
def test_names_never_switch_an_english_chat(text: str) -> None:
    [choice] = chat("en", text)

    assert choice.lang == "en"


@pytest.mark.parametrize("text", ["Where is the Aarhus store?", "Copenhagen", "Aarhus store"])
def test_a_name_twice_in_a_row_does_not_switch_either(text: str) -> None:
    assert [c.lang for c in chat("en", text, text)] == ["en", "en"]


@pytest.mark.parametrize("text", ["ok", "PayPal", "tak", "Mange tak", "MobilePay?"])
def test_a_danish_chat_stays_danish_on_short_words_and_names(text: str) -> None:
    assert [c.lang for c in chat("da", text, text)] == ["da", "da"]


def test_one_short_german_message_does_not_switch_an_english_chat() -> None:
    [choice] = chat("en", "Wo bleibt es?")

    assert choice.reading.detected == "de"  # it does read as German ...
    assert choice.reading.words < LONG_MESSAGE_WORDS  # ... but is too short to tell alone
    assert (choice.lang, choice.rule) == ("en", "once")


def test_a_long_confident_german_message_switches() -> None:
    [choice] = chat("en", "Kann ich meine Bestellung im Laden abholen?")

    assert (choice.lang, choice.rule) == ("de", "long_message")


def test_two_short_german_messages_in_a_row_switch() -> None:
    first, second = chat("en", "Danke schön", "Wo bleibt es?")

    assert (first.lang, second.lang, second.rule) == ("en", "de", "two_in_a_row")


def test_two_in_a_row_means_in_a_row() -> None:
    choices = chat("en", "Danke schön", "Where is my order?", "Wo bleibt es?")

    assert [c.lang for c in choices] == ["en", "en", "en"]


def test_a_long_message_in_the_chats_language_keeps_it() -> None:
    [choice] = chat("de", "Wie lange dauert die Lieferung nach Dänemark?")

    assert (choice.lang, choice.rule) == ("de", "same")


def test_a_danish_visitor_on_a_german_page_moves_the_chat_to_danish() -> None:
    [choice] = chat("de", "Hvor lang tid tager levering til Tyskland?")

    assert choice.lang == "da"


def test_capitalised_words_may_be_german_nouns_and_still_count() -> None:
    # "Paket" in mid-sentence might be a name; the message reads German without it too.
    [choice] = chat("en", "Wo ist mein Paket?")

    assert (choice.lang, choice.reading.words) == ("de", 4)


def test_a_reading_that_hangs_on_a_possible_name_does_not_count() -> None:
    # Read whole, "Odense Vandrerhjem" tips the detector; without the capitalised words the
    # rest is English. The message must not count as Danish evidence.
    reading = read("Can I go to Odense Vandrerhjem", languages=LANGUAGES)

    assert reading.detected in (None, "en")


def test_names_are_taken_out_whole_and_case_insensitively() -> None:
    words, strict = without_names(
        "is fjeld club free with paypal? Der Laden in aarhus", frozenset({"fjeld club", "aarhus"})
    )

    assert words == ["is", "free", "with", "Der", "Laden", "in"]
    assert strict == ["is", "free", "with", "Der", "in"]  # "Laden" follows a name mid-sentence


def test_the_choice_carries_its_evidence() -> None:
    [choice] = chat("en", "Kann ich meine Bestellung im Laden abholen?")

    details = choice.details()
    assert details["lang"] == "de" and details["detected"] == "de"
    assert details["rule"] == "long_message"
    assert details["words"] == 7 and details["confidence"] >= 0.7


def test_one_language_only_never_switches() -> None:
    choice = next_language(
        "Kann ich meine Bestellung im Laden abholen?",
        current="en",
        previous="de",
        languages=("en",),
    )

    assert choice.lang == "en"


@pytest.mark.parametrize(
    "text", ["Is the store in København open on Sunday?", "Do you ship to Nørregade 12?"]
)
def test_the_letters_shortcut_never_fires_on_a_name(text: str) -> None:
    assert detect_language(text, languages=LANGUAGES, fallback="en") == "en"


def test_the_knowledge_bases_own_names_never_switch_it() -> None:
    # "esbjerg" is in no built-in list; written in lower case, the detector reads Danish.
    assert chat("en", "do you deliver to esbjerg")[0].lang == "da"

    choice = next_language(
        "do you deliver to esbjerg",
        current="en",
        previous=None,
        languages=LANGUAGES,
        names=frozenset({"esbjerg"}),
    )

    assert choice.lang == "en"


def test_the_knowledge_bases_names_are_its_capitalised_tags_shared_by_languages() -> None:
    articles = load_knowledge_base(SAMPLE_KB, languages=LANGUAGES, default_language="en")

    names = kb_names(articles)

    assert {"flensburg", "klarna", "fjeld club", "google pay", "aarhus", "hamburg"} <= names
    assert not names & {"login", "merino", "chat"}  # words, not names
    assert not any(name.startswith("rücksend") for name in names)  # only German writes it
