"""`supportbot eval` on conversations: several turns each, where a later turn may lean on an
earlier one ("and to Denmark?"). Every conversation is asked twice, with follow-ups read in
context and without, so the figure shows what the context is worth.

A conversation file is a CSV with `conversation,question,expected[,lang]`: consecutive rows
with the same `conversation` are its turns, in order. `expected` is as in a question file
(an article id, `a|b` when either answers it, empty where a handoff is right).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.evaluate import EvalInputError, Evaluator, Outcome, Question, read_questions


@dataclass(frozen=True)
class Dialogue:
    id: str
    turns: list[Question]

    @property
    def lang(self) -> str:
        return self.turns[0].lang


def is_conversation_file(path: Path) -> bool:
    """True when `path`'s header has a `conversation` column."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            header = next(csv.reader(file), [])
    except (OSError, UnicodeDecodeError):
        return False  # read_questions says what is wrong with it
    return "conversation" in (h.strip() for h in header)


def read_conversations(path: Path) -> list[Dialogue]:
    """The conversations of `path`, each with its turns in file order; say which line is
    wrong. A conversation id must not come back after another conversation started."""
    text = path.read_text(encoding="utf-8-sig")
    ids = [(row.get("conversation") or "").strip() for row in csv.DictReader(text.splitlines())]
    turns = read_questions(path, default_lang="")
    dialogues: list[Dialogue] = []
    for question, conversation in zip(turns, ids, strict=True):
        if not conversation:
            raise EvalInputError(f"{path}:{question.line}: empty conversation id")
        turn = Question(
            question.text, question.expected, question.lang, question.line, conversation
        )
        if dialogues and dialogues[-1].id == conversation:
            dialogues[-1].turns.append(turn)
        elif any(d.id == conversation for d in dialogues):
            raise EvalInputError(
                f"{path}:{question.line}: conversation {conversation!r} continues after "
                "another one started; keep its turns together"
            )
        else:
            dialogues.append(Dialogue(conversation, [turn]))
    return dialogues


def ask_conversations(
    evaluator: Evaluator, dialogues: Sequence[Dialogue]
) -> dict[str, list[Outcome]]:
    """Every conversation with follow-ups read in context, and again without."""
    return {
        mode: [o for d in dialogues for o in evaluator.ask_turns(d.turns, context=context)]
        for mode, context in (("with_context", True), ("without_context", False))
    }


def summarise_conversations(outcomes: dict[str, list[Outcome]]) -> dict[str, Any]:
    """Per mode: the figures over all turns, follow-up turns and last turns, overall and per
    language."""
    any_mode = next(iter(outcomes.values()))
    summary: dict[str, Any] = {
        "n_conversations": len({o.conversation for o in any_mode}),
        "n_turns": len(any_mode),
    }
    for mode, items in outcomes.items():
        langs = sorted({o.lang for o in items if o.lang})
        summary[mode] = {
            **_figures(items),
            "by_lang": {lang: _figures([o for o in items if o.lang == lang]) for lang in langs},
        }
    return summary


def _right(outcome: Outcome) -> bool:
    """Answered with an expected article, or handed off where nothing answers it."""
    return outcome.answered_right if outcome.expected else outcome.kind == "handoff"


def _figures(turns: Sequence[Outcome]) -> dict[str, Any]:
    last_turn = {o.conversation: o.turn for o in turns}
    last = [o for o in turns if o.turn == last_turn[o.conversation]]
    follow_ups = [o for o in turns if o.turn > 1]
    in_scope = [o for o in turns if o.expected]
    conversations = {o.conversation for o in turns}
    wrong_conversations = {o.conversation for o in turns if not _right(o)}
    return {
        "n_conversations": len(conversations),
        "n_turns": len(turns),
        "answered_correct": _share(o.answered_right for o in in_scope),
        "follow_up_answered_correct": _share(o.answered_right for o in follow_ups if o.expected),
        "last_turn_answered_correct": _share(o.answered_right for o in last if o.expected),
        "last_turn_right": _share(_right(o) for o in last),
        "conversation_right": _share(c not in wrong_conversations for c in conversations),
        "wrong_answer": _share(o.answered_wrong for o in turns),
        "oos_handoff_recall": _share(o.kind == "handoff" for o in turns if not o.expected),
        "rewritten": _share(o.rewritten_from is not None for o in follow_ups),
    }


def _share(items: Iterable[bool]) -> float:
    values = list(items)
    return round(sum(values) / len(values), 4) if values else 0.0
