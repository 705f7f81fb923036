"""The bot's reply to one visitor message: small talk, a request for a person, or a question
for the knowledge base (retrieve, decide, then answer, offer choices, or hand off).

Runs inside the visitor's turn (`bot.conversation`), in its transaction; no HTTP, no events.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from bot import queries
from bot.answer import AnswerComposer, Passage
from bot.config import Settings
from bot.followup import FollowUp, follow_up, keep_unknown_words, prefer_rewrite
from bot.handoff import hand_off
from bot.intents import classify
from bot.models import Conversation, Message
from bot.phrases import language_name, say
from bot.policy import Decision, decide
from bot.retrieval import Retrieval, Retriever
from bot.sections import SectionChoice, section_heading
from bot.serving import IndexHolder, Serving
from ingest.documents import Article

Clock = Callable[[], dt.datetime]


class BotReplies:
    """Composes the bot's side of a turn from the served index and the answer composer."""

    def __init__(
        self, *, index: IndexHolder, composer: AnswerComposer, settings: Settings, clock: Clock
    ):
        self.index = index
        self.composer = composer
        self.settings = settings
        self.clock = clock

    def reply(
        self,
        session: Session,
        conversation: Conversation,
        message: Message,
        *,
        article_id: str | None = None,
    ) -> Message:
        """The bot's reply to `message`; `article_id` is a quick reply the visitor clicked."""
        serving = self.index.current  # one version's retriever and policy for the whole turn
        intent = classify(message.text)
        if intent == "human":
            return self._hand_off(session, conversation, "visitor_request", reply_to=message)
        if intent is not None:
            lang = conversation.lang  # decided for this message by bot.conversation_language
            kind = "prompt" if intent == "empty" else "smalltalk"
            return _bot_says(session, message, kind, lang, say(intent, lang))
        if serving is None:
            return self._hand_off(session, conversation, "no_index", reply_to=message)
        retriever = serving.retriever
        if article_id:
            picked = self._picked(session, conversation, message, retriever, article_id)
            if picked is not None:
                return picked
        retrieval = retriever.search(message.text, lang=conversation.lang)
        decision = self._decide(serving, retrieval, conversation.misses)
        context: dict[str, Any] = {}
        follow = self._follow_up(session, conversation, message)
        if follow is not None:
            # Read with the previous question: search both ways, keep what retrieves better.
            rewritten = retriever.search(follow.query, lang=conversation.lang)
            features = keep_unknown_words(retrieval.features, rewritten.features)
            rewritten = dataclasses.replace(rewritten, features=features)
            rewritten_decision = self._decide(serving, rewritten, conversation.misses)
            context["follow_up"] = {
                "cue": follow.cue,
                "bare_confidence": round(decision.confidence, 4),
                "rewritten_confidence": round(rewritten_decision.confidence, 4),
            }
            if prefer_rewrite(follow.cue, decision, rewritten_decision):
                retrieval, decision = rewritten, rewritten_decision
                context["rewritten_from"] = follow.previous
        details = {
            "reason": decision.reason,
            "retrieval": {**_retrieval_details(retrieval), **context},
            "decision": {"action": decision.action, "confidence": decision.confidence},
        }
        if decision.action == "handoff":
            return self._hand_off(
                session,
                conversation,
                decision.reason,
                reply_to=message,
                confidence=decision.confidence,
                details=details,
            )
        conversation.misses = decision.misses_after(conversation.misses)
        if decision.action == "clarify":
            return self._clarify(session, conversation, message, retrieval, decision, details)
        return self._answer(session, conversation, message, retrieval, decision, details)

    def _decide(self, serving: Serving, retrieval: Retrieval, misses: int) -> Decision:
        return decide(
            retrieval.features,
            scores=[c.score for c in retrieval.candidates],
            misses=misses,
            policy=serving.policy,  # tuned with this index version, built when it loaded
        )

    def _follow_up(
        self, session: Session, conversation: Conversation, message: Message
    ) -> FollowUp | None:
        """`message` read as a follow-up to the question the bot last answered or clarified
        here, or None (a question of its own, or nothing before it to lean on)."""
        if not self.settings.follow_up_context:
            return None
        return follow_up(message.text, _previous_question(session, conversation))

    def answer_if_sure(
        self,
        session: Session,
        conversation: Conversation,
        message: Message,
        *,
        article_id: str | None = None,
    ) -> Message | None:
        """An answer only if the knowledge base has a confident one (or the visitor clicked
        a quick reply), else None; small talk gets its reply. For a chat that waits for the
        team: nothing here hands off again or counts a miss, and a line without words (an
        order number) is detail for the team, not a question to ask back about."""
        serving = self.index.current
        intent = classify(message.text)
        if intent not in (None, "human", "empty"):
            lang = conversation.lang
            return _bot_says(session, message, "smalltalk", lang, say(intent, lang))
        if serving is None or intent is not None:
            return None
        if article_id:
            picked = self._picked(session, conversation, message, serving.retriever, article_id)
            if picked is not None:
                return picked
        retrieval = serving.retriever.search(message.text, lang=conversation.lang)
        decision = decide(
            retrieval.features,
            scores=[c.score for c in retrieval.candidates],
            misses=0,
            policy=serving.policy,
        )
        if decision.action != "answer":
            return None
        details = {
            "reason": decision.reason,
            "retrieval": _retrieval_details(retrieval),
            "decision": {"action": decision.action, "confidence": decision.confidence},
        }
        return self._answer(session, conversation, message, retrieval, decision, details)

    def _hand_off(
        self, session: Session, conversation: Conversation, reason: str, **kwargs: Any
    ) -> Message:
        return hand_off(
            session, conversation, reason, settings=self.settings, now=self.clock(), **kwargs
        )

    def _answer(
        self,
        session: Session,
        conversation: Conversation,
        message: Message,
        retrieval: Retrieval,
        decision: Decision,
        details: dict[str, Any],
    ) -> Message:
        top = retrieval.candidates[0]
        passages = [_passage(c.article, c.section) for c in retrieval.candidates[:3]]
        # The query searched with: a follow-up's answer is about what the visitor means.
        composed = self.composer.compose(retrieval.query, passages, top.article.lang)
        text = composed.text + _only_in(top.article.lang, retrieval.lang)
        details["generated"] = composed.generated
        details.update(_section_details(top.section))
        return queries.append_message(
            session=session,
            conversation=conversation,
            role="bot",
            kind="answer",
            lang=top.article.lang,
            reply_to_id=message.id,
            text=text,
            confidence=round(decision.confidence, 4),
            sources=[_source(top.article, top.score, top.section)],
            details=details,
        )

    def _clarify(
        self,
        session: Session,
        conversation: Conversation,
        message: Message,
        retrieval: Retrieval,
        decision: Decision,
        details: dict[str, Any],
    ) -> Message:
        options = retrieval.candidates[: decision.options]
        details["quick_replies"] = [
            {"article_id": c.article.id, "title": c.article.title} for c in options
        ]
        key = "clarify" if len(options) > 1 else "clarify_one"
        return queries.append_message(
            session=session,
            conversation=conversation,
            role="bot",
            kind="clarify",
            lang=retrieval.lang,
            reply_to_id=message.id,
            text=say(key, retrieval.lang),
            confidence=round(decision.confidence, 4),
            sources=[_source(c.article, c.score) for c in options],
            details=details,
        )

    def _picked(
        self,
        session: Session,
        conversation: Conversation,
        message: Message,
        retriever: Retriever,
        article_id: str,
    ) -> Message | None:
        """The visitor chose a quick reply: answer with exactly that article."""
        article = retriever.article_in(article_id, conversation.lang)
        if article is None:
            return None
        conversation.misses = 0
        query = retriever.embed_query(message.text)
        section = retriever.choose_section(article.id, message.text, query)
        composed = self.composer.compose(message.text, [_passage(article, section)], article.lang)
        return queries.append_message(
            session=session,
            conversation=conversation,
            role="bot",
            kind="answer",
            lang=article.lang,
            reply_to_id=message.id,
            text=composed.text + _only_in(article.lang, conversation.lang),
            confidence=1.0,
            sources=[_source(article, 1.0, section)],
            details={
                "reason": "picked",
                "retrieval": {
                    "candidates": [{"article_id": article.id, "title": article.title, "score": 1.0}]
                },
                **_section_details(section),
            },
        )


def _bot_says(session: Session, reply_to: Message, kind: str, lang: str, text: str) -> Message:
    """A reply in the bot's own words (no article, no confidence) to the visitor's message."""
    return queries.append_message(
        session=session,
        conversation=reply_to.conversation,
        role="bot",
        kind=kind,
        lang=lang,
        reply_to_id=reply_to.id,
        text=text,
    )


BACKGROUND_KINDS = ("greeting", "smalltalk", "prompt")  # said around questions, not to them


def _previous_question(session: Session, conversation: Conversation) -> str | None:
    """What the visitor meant by the last question the bot answered or clarified (the query
    it searched with, which for a follow-up already carries the question before it). None
    when the bot's last word on a question was a handoff: that context went to a person."""
    for reply in queries.recent_bot_messages(
        session=session, conversation_id=conversation.id, limit=6
    ):
        if reply.kind in BACKGROUND_KINDS:
            continue
        if reply.kind not in ("answer", "clarify") or not reply.reply_to_id:
            return None
        searched = ((reply.details or {}).get("retrieval") or {}).get("query")
        if searched:
            return str(searched)
        asked = queries.get_message(
            session=session, conversation_id=conversation.id, message_id=reply.reply_to_id
        )
        return asked.text if asked is not None else None
    return None


def _only_in(article_lang: str, lang: str) -> str:
    """The note (in the conversation's language) after an answer from an article that exists
    only in another language; empty when it is in the conversation's."""
    if article_lang == lang:
        return ""
    return "\n\n" + say("other_language", lang, language=language_name(article_lang, lang))


def _passage(article: Article, section: SectionChoice | None) -> Passage:
    if section is None:
        return Passage(article, None)
    return Passage(article, section.chunk, section.steps)


def _section_details(section: SectionChoice | None) -> dict[str, Any]:
    """The shown part, for the console and `supportbot eval`: `section` is its heading ("" for
    the lead); `steps_section` the heading of the steps shown after the lead; `section_rule`
    why ("phrasing": the part the best-matching title or alternate question is about;
    "together": the lead and the part asked about, which scored alike)."""
    if section is None:
        return {}
    shown: dict[str, Any] = {"section": section.heading, "section_rule": section.rule}
    if section.steps is not None:
        shown["steps_section"] = section_heading(section.steps)
    return shown


def _source(article: Any, score: float, section: SectionChoice | None = None) -> dict[str, Any]:
    source = {
        "article_id": article.id,
        "title": article.title,
        "url": article.url,
        "score": round(float(score), 4),
    }
    if section is not None:  # "Returning an item › Creating a return label"; "" for the lead
        source["section"] = section.heading
    return source


def _retrieval_details(retrieval: Retrieval) -> dict[str, Any]:
    """What retrieval saw, kept with the reply: the console, the packet and insights use it."""
    return {
        "query": retrieval.query,
        "lang": retrieval.lang,
        "index_version": retrieval.index_version,
        "elapsed_ms": round(retrieval.elapsed_ms, 2),
        "features": {k: round(v, 4) for k, v in retrieval.features.items()},
        "candidates": [
            {
                "article_id": c.article.id,
                "title": c.article.title,
                "group": c.group,
                "score": round(c.score, 4),
                "dense": round(c.dense, 4),
                "lexical": round(c.lexical, 4),
            }
            for c in retrieval.candidates
        ],
    }
