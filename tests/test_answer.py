"""The reply text: trimmed at sentence ends, safe Markdown, and an optional chat model that
must cite the retrieved sections or make way for the extractive answer."""

from __future__ import annotations

import time
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage

from bot.answer import (
    ChatModelComposer,
    Composed,
    ExtractiveComposer,
    Passage,
    cut,
    make_composer,
    safe_markdown,
)
from ingest.documents import Article, Chunk

RETURNS = Article(
    id="en/returns", lang="en", title="Returning an item", source="en/returns.md",
    url="https://shop.example/help/returns", group="returns",
    body="# Returning an item\nYou can return items within 30 days.",
)
CONDITIONS = Chunk(
    article_id="en/returns", kind="section",
    heading_path=("Returning an item", "Return conditions"),
    text="- Items must be **unworn**.\n- Boots may only be tried on indoors.\n"
         "See [the policy](https://shop.example/help/returns) <b>now</b>.",
)
PASSAGES = [Passage(RETURNS, CONDITIONS), Passage(RETURNS, None)]


# -- cut ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Short enough.", 100, "Short enough."),
        ("One two. Three four. Five six.", 21, "One two. Three four."),
        ("One two. Three four. Five six.", 19, "One two."),
        ("Is it? Yes! It is.", 12, "Is it? Yes!"),
        ("Line one.\nLine two is here.\nLine three.", 30, "Line one.\nLine two is here."),
        ("Line one.\nA. B. C.", 14, "Line one.\nA."),
        ("Erste Zeile. Über alles.", 15, "Erste Zeile."),
        ("aaaa bbbb cccc dddd eeee", 12, "aaaa bbbb …"),
        ("x" * 50, 10, "xxxxxxxx …"),
    ],
)
def test_cut(text: str, limit: int, expected: str) -> None:
    assert cut(text, limit) == expected


@pytest.mark.parametrize("limit", [10, 25, 40, 80, 200])
def test_cut_never_passes_the_limit_or_splits_a_sentence(limit: int) -> None:
    text = ("You can return items within 30 days. Members have 60 days. "
            "The label is free.\nBoots must be clean. Gift cards cannot be returned.")

    result = cut(text, limit)

    assert len(result) <= limit
    assert result.endswith((".", "…"))


# -- safe_markdown ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("**bold** stays", "**bold** stays"),
        ("- one\n- two", "- one\n- two"),
        ("see [returns](https://shop.example/r)", "see [returns](https://shop.example/r)"),
        ("see [returns](http://shop.example/r)", "see [returns](http://shop.example/r)"),
        ("see [returns](/help/returns)", "see [returns](/help/returns)"),
        ("<b>bold</b> <i>it</i>", "bold it"),
        ('<a href="https://evil.example">click</a>', "click"),
        ('<img src=x onerror="alert(1)">hi', "hi"),
        ("![logo](https://shop.example/logo.png) text", "text"),
        ("[click](javascript:void0)", "click"),
        ("[click](JavaScript:void0)", "click"),
        ("[data](data:text/html;base64,AAAA)", "data"),
        ("[mail](mailto:a@b.c)", "mail"),
    ],
)
def test_safe_markdown(text: str, expected: str) -> None:
    assert safe_markdown(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "[x](javascript:alert(document.cookie))",
        '<iframe src="javascript:alert(1)"></iframe>',
        "<svg onload=alert(1)>",
    ],
)
def test_safe_markdown_leaves_nothing_executable(text: str) -> None:
    result = safe_markdown(text)

    assert "<" not in result
    assert "javascript:" not in result.lower()


# -- the extractive composer ------------------------------------------------------------------

def test_extractive_answer_is_the_section_with_its_heading() -> None:
    composed = ExtractiveComposer(700).compose("can i return boots", PASSAGES, "en")

    assert composed.generated is False
    assert composed.text == (
        "**Return conditions**\n- Items must be **unworn**.\n"
        "- Boots may only be tried on indoors.\n"
        "See [the policy](https://shop.example/help/returns) now."
    )


def test_extractive_answer_without_a_section_uses_the_body() -> None:
    composed = ExtractiveComposer(700).compose("returns?", [Passage(RETURNS, None)], "en")

    assert composed.text == "# Returning an item\nYou can return items within 30 days."


def test_extractive_answer_respects_the_length() -> None:
    composed = ExtractiveComposer(60).compose("returns?", PASSAGES, "en")

    assert len(composed.text) <= 60
    assert composed.text.startswith("**Return conditions**\n")


# -- a chat model, grounded or not used at all ------------------------------------------------

EXTRACTIVE = ExtractiveComposer(700).compose("q", PASSAGES, "en").text


def composer(*responses: str, timeout: float = 5.0, sleep: float | None = None
             ) -> ChatModelComposer:
    model = FakeListChatModel(responses=list(responses), sleep=sleep)
    return ChatModelComposer(model, timeout=timeout, fallback=ExtractiveComposer(700))


def test_a_grounded_answer_with_a_citation_is_used() -> None:
    composed = composer("You can return unworn items within 30 days [1].").compose(
        "can i return my jacket", PASSAGES, "en")

    assert composed == Composed("You can return unworn items within 30 days [1].", generated=True)


def test_the_generated_answer_is_made_safe_too() -> None:
    composed = composer("Yes [1]. <script>alert(1)</script>").compose("q", PASSAGES, "en")

    assert composed.generated is True
    assert composed.text == "Yes [1]. alert(1)"


@pytest.mark.parametrize(
    "response",
    ["NO_ANSWER", "I am not sure. NO_ANSWER", "You can return items within 30 days.", ""],
)
def test_no_answer_or_no_citation_falls_back(response: str) -> None:
    composed = composer(response).compose("can i return my jacket", PASSAGES, "en")

    assert composed.generated is False
    assert composed.text == EXTRACTIVE


def test_a_slow_model_falls_back_in_time() -> None:
    slow = composer("Too late [1].", timeout=0.1, sleep=2.0)

    started = time.perf_counter()
    composed = slow.compose("can i return my jacket", PASSAGES, "en")

    assert time.perf_counter() - started < 1.5
    assert (composed.generated, composed.text) == (False, EXTRACTIVE)


class _Broken:
    def invoke(self, prompt: str) -> Any:
        raise ConnectionError("model server down")


class _Recording:
    def __init__(self) -> None:
        self.prompts: list[str] = []

    def invoke(self, prompt: str) -> AIMessage:
        self.prompts.append(prompt)
        return AIMessage(content="Ja [1].")


def test_a_failing_model_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    broken = ChatModelComposer(_Broken(), timeout=1.0, fallback=ExtractiveComposer(700))

    composed = broken.compose("q", PASSAGES, "en")

    assert (composed.generated, composed.text) == (False, EXTRACTIVE)
    assert "chat model failed" in caplog.text


def test_the_prompt_holds_only_the_numbered_sections_and_the_question() -> None:
    model = _Recording()
    ChatModelComposer(model, timeout=1.0, fallback=ExtractiveComposer(700)).compose(
        "kann ich stiefel zurückgeben", PASSAGES, "de")

    [prompt] = model.prompts
    assert "[1] Returning an item\n- Items must be **unworn**." in prompt
    assert "[2] Returning an item\n# Returning an item" in prompt
    assert "<b>" not in prompt
    assert 'language with code "de"' in prompt
    assert prompt.endswith("Customer question: kann ich stiefel zurückgeben")


def test_make_composer() -> None:
    assert isinstance(make_composer("none", "", timeout=1, max_chars=700), ExtractiveComposer)
    fake = make_composer("fake", "", timeout=1, max_chars=700, fake_responses=["Sure [1]."])
    assert isinstance(fake, ChatModelComposer)
    assert fake.compose("q", PASSAGES, "en").text == "Sure [1]."
    with pytest.raises(RuntimeError, match="unknown LLM provider"):
        make_composer("magic", "", timeout=1, max_chars=700)


# -- the lead with the steps -----------------------------------------------------------------------

LEAD = Chunk(
    article_id="en/returns", kind="section", heading_path=("Returning an item",),
    text="You can return items within 30 days of delivery. Fjeld Club members have 60 days. "
         "The return label is free in Germany and Denmark.\n\nMore about returns below.",
)
STEPS = Chunk(
    article_id="en/returns", kind="section",
    heading_path=("Returning an item", "Creating a return label"),
    text="\n".join(f"{n}. Step number {n} of the return, in \"My orders\"." for n in range(1, 7))
    + "\n\nKeep the receipt from the drop-off point until your refund has arrived.",
)


@pytest.mark.parametrize("limit", [700, 400, 250])
def test_the_lead_and_the_steps_share_the_budget(limit: int) -> None:
    text = ExtractiveComposer(limit).compose("how do I return?", [Passage(RETURNS, LEAD, STEPS)],
                                             "en").text

    assert len(text) <= limit
    lead, steps = text.split("\n\n**Creating a return label**\n")
    assert lead.startswith("You can return items within 30 days of delivery.")
    assert steps.startswith("1. Step number 1")
    assert all(line.endswith(".") for line in text.splitlines() if line and "**" not in line)


def test_a_lead_with_steps_keeps_both_whole_when_they_fit() -> None:
    text = ExtractiveComposer(2000).compose("q", [Passage(RETURNS, LEAD, STEPS)], "en").text

    assert text == (f"{LEAD.text}\n\n**Creating a return label**\n{STEPS.text}")


def test_a_chat_model_sees_the_lead_and_the_steps() -> None:
    assert Passage(RETURNS, LEAD, STEPS).text.endswith(STEPS.text)
    assert "**Creating a return label**" in Passage(RETURNS, LEAD, STEPS).text


def test_a_cut_never_ends_on_an_abbreviation() -> None:
    text = (
        "Sobald Ihr Paket unterwegs ist, erhalten Sie eine E-Mail. "
        "Je nach Lieferland stellt DHL oder PostNord bzw. GLS die Sendung zu. "
        "Danach sehen Sie den Status in Ihrem Kundenkonto."
    )

    shown = cut(text, 110)

    assert shown == "Sobald Ihr Paket unterwegs ist, erhalten Sie eine E-Mail."
    assert not shown.endswith("bzw.")
    assert cut(text, 130).endswith("bzw. GLS die Sendung zu.")
