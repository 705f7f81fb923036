"""The reply text of an answer: the part of the article that answers (`bot.sections`: a
section, or the lead with the article's steps), cut at line and sentence ends, with its source.
Optionally a LangChain chat model rewrites it, grounded only in the retrieved sections; any
failure or timeout falls back to the extractive text.
"""

from __future__ import annotations

import concurrent.futures
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.redact import redact
from ingest.documents import Article, Chunk

log = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=[A-ZÄÖÜÆØÅ0-9\"„(])")
# Abbreviations a sentence goes on after ("DHL oder PostNord bzw. GLS"): a cut there would end
# the answer mid-sentence.
_ABBREVIATIONS = frozenset(
    {
        *("bzw.", "z.b.", "ca.", "inkl.", "evtl.", "ggf.", "usw.", "u.a.", "d.h.", "nr."),
        *("e.g.", "i.e.", "incl.", "approx.", "vs.", "no."),
        *("f.eks.", "fx.", "bl.a.", "dvs.", "evt.", "mht."),
    }
)
_TAG = re.compile(r"<[^>]{0,500}>")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


@dataclass(frozen=True)
class Passage:
    """A retrieved section handed to the composer, with the article it came from; `steps` is
    the article's procedure, shown after the lead when the question is about the main task."""

    article: Article
    chunk: Chunk | None
    steps: Chunk | None = None

    @property
    def text(self) -> str:
        if self.chunk is None:
            return self.article.body
        if self.steps is None:
            return self.chunk.text
        return f"{self.chunk.text}\n\n{_heading(self.steps)}{self.steps.text}"


@dataclass(frozen=True)
class Composed:
    text: str
    generated: bool = False  # True when a chat model wrote it


class AnswerComposer(Protocol):
    def compose(self, question: str, passages: Sequence[Passage], lang: str) -> Composed: ...


def safe_markdown(text: str) -> str:
    """Keep the Markdown editors use in answers (bold, lists, links) and drop what a chat
    bubble must not carry: raw HTML, images, links other than http(s) or site-relative."""
    text = _IMAGE.sub("", text)
    text = _TAG.sub("", text)

    def link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        return match.group(0) if re.match(r"^(https?://|/)", url) else label

    return _LINK.sub(link, text).strip()


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, ending at a line or sentence end (never mid-sentence unless
    a single sentence is longer than the limit)."""
    if len(text) <= limit:
        return text
    out: list[str] = []
    used = 0
    for line in text.split("\n"):
        if used + len(line) + 1 <= limit:
            out.append(line)
            used += len(line) + 1
            continue
        sentences = _sentences(line)
        kept = []
        for sentence in sentences:
            if used + len(sentence) + 1 > limit:
                break
            kept.append(sentence)
            used += len(sentence) + 1
        if kept:
            out.append(" ".join(kept))
        break
    result = "\n".join(out).strip()
    if not result:  # one enormous sentence: cut at a word boundary, the " …" within the limit
        head = text[: limit - 1]
        head = head.rsplit(" ", 1)[0] if " " in head else head[: limit - 2]
        result = head.rstrip() + " …"
    return result


def _heading(chunk: Chunk | None) -> str:
    """A section's heading in bold on its own line; nothing for the lead."""
    if chunk is None or len(chunk.heading_path) < 2:
        return ""
    return f"**{chunk.heading_path[-1]}**\n"


# With the steps, the lead keeps at most this share of the length budget: its first sentences
# carry the key facts (time limits, costs); the steps are what the visitor acts on.
LEAD_SHARE = 0.4


def _sentences(line: str) -> list[str]:
    """The sentences of one line; a piece ending in an abbreviation runs on into the next."""
    sentences: list[str] = []
    for piece in _SENTENCE_END.split(line):
        if sentences and sentences[-1].rsplit(" ", 1)[-1].lower() in _ABBREVIATIONS:
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
    return sentences


class ExtractiveComposer:
    """The section that matched best, verbatim (trimmed): never says what the article doesn't.
    The lead with steps shares `max_chars`: the lead cut to its first sentences, then the
    steps under their heading, each cut at a line or sentence end."""

    def __init__(self, max_chars: int = 700):
        self.max_chars = max_chars

    def compose(self, question: str, passages: Sequence[Passage], lang: str) -> Composed:
        passage = passages[0]
        heading = _heading(passage.chunk)
        if passage.chunk is None or passage.steps is None:
            body = safe_markdown(passage.text)
            return Composed(heading + cut(body, self.max_chars - len(heading)))
        steps_heading = _heading(passage.steps)
        steps = safe_markdown(passage.steps.text)
        room = self.max_chars - len(heading) - len(steps_heading) - 2
        lead = safe_markdown(passage.chunk.text)
        lead = cut(lead, max(room - len(steps), int(room * LEAD_SHARE)))
        steps = cut(steps, room - len(lead))
        return Composed(f"{heading}{lead}\n\n{steps_heading}{steps}")


_PROMPT = """You are the customer support assistant of an online shop. Answer the customer's \
question using ONLY the numbered help-centre sections below. Cite the sections you used as [1], \
[2]. If the sections do not answer the question, reply exactly NO_ANSWER. Answer in the \
language with code "{lang}", in at most 5 short sentences, without greeting.

{sections}

Customer question: {question}"""


class ChatModelComposer:
    """A LangChain chat model writes the answer from the retrieved sections only.

    The model call runs with a timeout; no citation, `NO_ANSWER`, an error or a timeout all mean
    the extractive answer is used instead, so the visitor always gets a grounded reply.
    """

    def __init__(
        self, model: Any, *, timeout: float, fallback: AnswerComposer, redact_input: bool = True
    ):
        self.model = model
        self.timeout = timeout
        self.fallback = fallback
        self.redact_input = redact_input  # the visitor's e-mail, phone, IBAN, card: not sent
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="llm")

    def compose(self, question: str, passages: Sequence[Passage], lang: str) -> Composed:
        sections = "\n\n".join(
            f"[{i}] {p.article.title}\n{safe_markdown(p.text)}"
            for i, p in enumerate(passages[:3], 1)
        )
        asked = redact(question) if self.redact_input else question
        prompt = _PROMPT.format(lang=lang, sections=sections, question=asked)
        future = self._pool.submit(self.model.invoke, prompt)
        try:
            result = future.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError:
            log.warning("chat model timed out after %.1f s; extractive answer used", self.timeout)
            return self.fallback.compose(question, passages, lang)
        except Exception:
            log.exception("chat model failed; extractive answer used")
            return self.fallback.compose(question, passages, lang)
        text = str(getattr(result, "content", result)).strip()
        if "NO_ANSWER" in text or not re.search(r"\[\d\]", text):
            return self.fallback.compose(question, passages, lang)
        return Composed(safe_markdown(text), generated=True)


def make_composer(
    provider: str,
    model_name: str,
    *,
    timeout: float,
    max_chars: int,
    fake_responses: Sequence[str] | None = None,
    redact_input: bool = True,
) -> AnswerComposer:
    """The composer the settings ask for; `none` (the default) is extractive only."""
    extractive = ExtractiveComposer(max_chars)
    if provider == "none":
        return extractive
    if provider == "fake":
        from langchain_core.language_models.fake_chat_models import FakeListChatModel

        model: Any = FakeListChatModel(responses=list(fake_responses or ["NO_ANSWER"]))
    elif provider == "openai":
        try:
            from langchain_openai import ChatOpenAI
        except ImportError as exc:
            raise RuntimeError(
                "SUPPORTBOT_LLM_PROVIDER=openai needs `pip install langchain-openai`"
            ) from exc
        model = ChatOpenAI(model=model_name, timeout=timeout)
    elif provider == "ollama":
        try:
            from langchain_ollama import ChatOllama
        except ImportError as exc:
            raise RuntimeError(
                "SUPPORTBOT_LLM_PROVIDER=ollama needs `pip install langchain-ollama`"
            ) from exc
        model = ChatOllama(model=model_name)
    else:
        raise RuntimeError(f"unknown LLM provider {provider!r}")
    return ChatModelComposer(model, timeout=timeout, fallback=extractive, redact_input=redact_input)
