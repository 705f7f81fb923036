"""`supportbot eval`: ask a labelled question file through the same code path as the API and
report how often the bot answers right, answers wrong, and hands off when it should.

Each question is a new conversation in a throw-away database, so the numbers measure exactly
what a visitor would get (language detection, small-talk rules, policy, answer composition).
"""

from __future__ import annotations

import csv
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.answer import ExtractiveComposer
from bot.config import Settings
from bot.conversation import ChatService
from bot.db import Database, create_schema
from bot.events import InProcessBus
from bot.models import Message
from bot.retrieval import Retriever
from bot.schemas import ConversationCreate, MessageCreate
from bot.serving import IndexHolder
from ingest.embed import Embedder


class EvalInputError(Exception):
    """The question file is unreadable or names articles the index does not have."""


@dataclass(frozen=True)
class Question:
    text: str
    expected: str  # article id ("a|b": either); "" means the right outcome is a handoff
    lang: str
    line: int
    conversation: str = ""  # a turn of this conversation (`bot.eval_conversations`)
    # The heading the answer must come from ("a|b": either; "" the lead); None: not labelled.
    expected_section: str | None = None

    @property
    def expected_ids(self) -> list[str]:
        return [e.strip() for e in self.expected.split("|") if e.strip()]

    @property
    def expected_sections(self) -> list[str] | None:
        """The accepted headings, normalised ("" for the lead); None when not labelled."""
        if self.expected_section is None or not self.expected:
            return None
        return [normalise_heading(h) for h in self.expected_section.split("|")] or [""]


def normalise_heading(heading: str) -> str:
    """A heading as compared: case, spacing and a "Title › " or "## " prefix do not count."""
    heading = re.split(r"\s[›>]\s", heading)[-1]
    return " ".join(heading.strip().lstrip("#").split()).casefold()


def section_matches(expected: Sequence[str], shown: Sequence[str], title: str = "") -> bool:
    """Whether a shown part is one of the accepted headings; the article's title names the lead
    too. Lead plus steps counts as both."""
    lead = {"", normalise_heading(title)} if title else {""}
    accepted = {"" if h in lead else h for h in expected}
    return any(normalise_heading(s) in accepted for s in shown)


@dataclass
class Outcome:
    """What happened to one question (one line of `--details`)."""

    question: str
    expected: str
    lang: str
    kind: str
    article_id: str | None
    confidence: float | None
    top_articles: list[str]
    latency_ms: float
    features: dict[str, float] = field(default_factory=dict)
    correct_top1: bool = False
    correct_top3: bool = False
    answered_right: bool = False
    answered_wrong: bool = False
    reason: str | None = None
    conversation: str = ""
    turn: int = 0  # 1, 2, ... within `conversation`
    rewritten_from: str | None = None  # searched with the previous question as context
    expected_section: str | None = None  # as labelled; None: the question file has no label
    shown_sections: list[str] = field(default_factory=list)  # "" for the lead
    section_correct: bool | None = None  # None: not labelled, or not the right article

    def to_json(self) -> dict[str, Any]:
        turn = {"conversation": self.conversation, "turn": self.turn} if self.turn else {}
        if self.rewritten_from is not None:
            turn["rewritten_from"] = self.rewritten_from
        return {
            **turn,
            "question": self.question,
            "expected": self.expected,
            "lang": self.lang,
            "kind": self.kind,
            "article_id": self.article_id,
            "confidence": self.confidence,
            "top_articles": self.top_articles,
            "latency_ms": round(self.latency_ms, 2),
            "reason": self.reason,
            "correct_top1": self.correct_top1,
            **(
                {
                    "expected_section": self.expected_section,
                    "shown_sections": self.shown_sections,
                    "section_correct": self.section_correct,
                }
                if self.expected_section is not None
                else {}
            ),
            "features": self.features,
        }


def read_questions(path: Path, *, default_lang: str = "") -> list[Question]:
    """Read `question,expected[,lang][,expected_section]`; say which line is wrong. Without
    the `expected_section` column no question is labelled with a section (no figure)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"{path}: cannot read: {exc}") from exc
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or not {"question", "expected"} <= set(reader.fieldnames):
        raise EvalInputError(f"{path}:1: needs the columns question,expected[,lang]")
    labelled = "expected_section" in reader.fieldnames
    questions = []
    for line, row in enumerate(reader, start=2):
        question = (row.get("question") or "").strip()
        if not question:
            raise EvalInputError(f"{path}:{line}: empty question")
        questions.append(
            Question(
                question,
                (row.get("expected") or "").strip(),
                (row.get("lang") or default_lang).strip(),
                line,
                expected_section=(row.get("expected_section") or "").strip() if labelled else None,
            )
        )
    if not questions:
        raise EvalInputError(f"{path}: no questions")
    return questions


def _group_of(retriever: Retriever, article_id: str | None) -> str | None:
    if article_id is None:
        return None
    article = retriever.index.articles.get(article_id)
    return article.group_id if article else article_id


def check_expected(questions: Sequence[Question], retriever: Retriever, path: Path) -> None:
    articles = retriever.index.articles
    missing = [(q, e) for q in questions for e in q.expected_ids if e not in articles]
    if missing:
        lines = "\n".join(f"{path}:{q.line}: unknown article id {e!r}" for q, e in missing[:20])
        raise EvalInputError(f"{len(missing)} expected id(s) are not in the index:\n{lines}")


class Evaluator:
    """Runs questions through a `ChatService` on a temporary SQLite database."""

    def __init__(self, settings: Settings, embedder: Embedder, index_dir: Path):
        self._tmp = tempfile.TemporaryDirectory(prefix="supportbot-eval-")
        eval_settings = settings.model_copy(
            update={
                "database_url": f"sqlite:///{self._tmp.name}/eval.sqlite3",
                "index_dir": index_dir,
                "llm_provider": "none",
            }
        )
        self.db = Database(eval_settings.database_url)
        create_schema(self.db.engine)
        self.holder = IndexHolder(
            index_dir,
            embedder,
            languages=settings.languages,
            default_language=settings.default_language,
        )
        self.holder.refresh()
        if self.holder.current is None:
            raise EvalInputError(f"no index in {index_dir}: {self.holder.last_error}")
        self.chat, self._chat_without_context = (
            ChatService(
                db=self.db,
                index=self.holder,
                composer=ExtractiveComposer(settings.answer_max_chars),
                bus=InProcessBus(),
                settings=eval_settings.model_copy(update={"follow_up_context": context}),
            )
            for context in (True, False)
        )

    @property
    def retriever(self) -> Retriever:
        assert self.holder.current is not None
        return self.holder.current.retriever

    def reload(self) -> None:
        """Pick up a calibration written after construction (`--tune`)."""
        self.holder.refresh()

    def ask(self, question: Question) -> Outcome:
        """One question as a new conversation."""
        return self.ask_turns([question])[0]

    def ask_turns(self, questions: Sequence[Question], *, context: bool = True) -> list[Outcome]:
        """`questions` in order as the turns of one conversation (in the first one's
        language); `context=False` reads every turn on its own, as before follow-ups were."""
        chat = self.chat if context else self._chat_without_context
        conversation, token, _ = chat.start(ConversationCreate(locale=questions[0].lang or None))
        outcomes = []
        for n, question in enumerate(questions, start=1):
            started = time.perf_counter()
            turn = chat.visitor_message(
                conversation.id,
                token,
                MessageCreate(client_id=uuid.uuid4().hex, text=question.text),
            )
            outcome = self._outcome(question, turn.reply, (time.perf_counter() - started) * 1000)
            if question.conversation:
                outcome.conversation, outcome.turn = question.conversation, n
            outcomes.append(outcome)
        return outcomes

    def _outcome(self, question: Question, reply: Message | None, latency: float) -> Outcome:
        if reply is None:  # a person has the chat (an earlier turn handed off): no bot reply
            return Outcome(
                question.text, question.expected, question.lang, "none", None, None, [], latency
            )
        details = reply.details or {}
        retrieval = details.get("retrieval", {})
        ranked = [c["article_id"] for c in retrieval.get("candidates", [])]
        sources = (reply.sources or {}).get("items", [])
        top = ranked[0] if ranked else (sources[0]["article_id"] if sources else None)
        outcome = Outcome(
            question.text,
            question.expected,
            question.lang,
            reply.kind,
            top,
            reply.confidence,
            ranked[:5],
            latency,
            features=retrieval.get("features", {}),
            reason=details.get("reason"),
            rewritten_from=retrieval.get("rewritten_from"),
        )
        expected = {_group_of(self.retriever, e) for e in question.expected_ids}
        groups = [_group_of(self.retriever, a) for a in ranked]
        if expected:
            outcome.correct_top1 = bool(groups) and groups[0] in expected
            outcome.correct_top3 = bool(expected & set(groups[:3]))
        answered = sources[0]["article_id"] if reply.kind == "answer" and sources else None
        if answered is not None:
            right = _group_of(self.retriever, answered) in expected
            outcome.answered_right, outcome.answered_wrong = right, not right
        outcome.expected_section = question.expected_section
        if "section" in details:
            outcome.shown_sections = [details["section"]]
            if "steps_section" in details:
                outcome.shown_sections.append(details["steps_section"])
        accepted = question.expected_sections
        if accepted is not None and outcome.answered_right:
            title = sources[0].get("title", "")
            outcome.section_correct = section_matches(accepted, outcome.shown_sections, title)
        return outcome

    def close(self) -> None:
        self.db.dispose()
        self._tmp.cleanup()


def summarise(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The headline figures, overall and per language."""
    summary = _figures(outcomes)
    langs = sorted({o.lang for o in outcomes if o.lang})
    summary["by_lang"] = {lang: _figures([o for o in outcomes if o.lang == lang]) for lang in langs}
    return summary


def _share(items: Iterable[bool]) -> float:
    values = list(items)
    return round(sum(values) / len(values), 4) if values else 0.0


def _figures(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    scope = [o for o in outcomes if o.expected]
    oos = [o for o in outcomes if not o.expected]
    latencies = sorted(o.latency_ms for o in outcomes)
    sections = [o.section_correct for o in outcomes if o.section_correct is not None]
    # Only with labels: a question file without the column has no section figure, not 0 %.
    labelled = any(o.expected_section is not None for o in scope)
    section = {"section_correct": _share(sections), "n_section": len(sections)} if labelled else {}
    return {
        "n": len(outcomes),
        "n_in_scope": len(scope),
        "n_out_of_scope": len(oos),
        "answered_correct": _share(o.answered_right for o in scope),
        "wrong_answer": _share(o.answered_wrong for o in outcomes),
        "wrong_answer_in_scope": _share(o.answered_wrong for o in scope),
        "oos_answered": _share(o.answered_wrong for o in oos),
        "oos_handoff_recall": _share(o.kind == "handoff" for o in oos),
        "top1": _share(o.correct_top1 for o in scope),
        "top3": _share(o.correct_top3 for o in scope),
        **section,
        "clarify_rate": _share(o.kind == "clarify" for o in outcomes),
        "handoff_rate": _share(o.kind == "handoff" for o in outcomes),
        "calibration_error": expected_calibration_error(outcomes),
        "latency_ms_p50": round(statistics.median(latencies), 2) if latencies else 0.0,
        "latency_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 2)
        if latencies
        else 0.0,
    }


def expected_calibration_error(outcomes: Sequence[Outcome], bins: int = 10) -> float:
    """Mean gap between stated confidence and how often the top article was right."""
    pairs = [(o.confidence, o.correct_top1) for o in outcomes if o.confidence is not None]
    if not pairs:
        return 0.0
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(c, ok) for c, ok in pairs if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        if inside:
            gap = abs(
                statistics.mean(c for c, _ in inside)
                - statistics.mean(1.0 if ok else 0.0 for _, ok in inside)
            )
            total += gap * len(inside) / len(pairs)
    return round(total, 4)
