"""The two records ingestion produces: an `Article` per knowledge-base entry and a `Chunk` per
searchable passage of it. Ids derive from content so unchanged articles keep theirs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from ingest.embed.protocol import TextKind

ChunkKind = Literal["title", "question", "section"]


@dataclass(frozen=True)
class Article:
    """One help article in one language, as an editor wrote it."""

    id: str
    lang: str
    title: str
    body: str
    source: str
    url: str | None = None
    group: str = ""
    tags: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()

    @property
    def group_id(self) -> str:
        """The topic this article belongs to; its own id when it stands alone."""
        return self.group or self.id

    @cached_property  # asked several times per ingestion for every article
    def sha256(self) -> str:
        """Hash of everything that changes what the index holds for this article."""
        payload = json.dumps(
            [
                self.id,
                self.lang,
                self.title,
                self.body,
                self.url,
                self.group_id,
                list(self.tags),
                list(self.questions),
            ],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        # Spelled out: dataclasses.asdict deep-copies and costs ~60 µs an article.
        return {
            "id": self.id,
            "lang": self.lang,
            "title": self.title,
            "body": self.body,
            "source": self.source,
            "url": self.url,
            "group": self.group,
            "tags": list(self.tags),
            "questions": list(self.questions),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        return cls(**{**data, "tags": tuple(data["tags"]), "questions": tuple(data["questions"])})


@dataclass(frozen=True)
class Chunk:
    """A searchable passage: the title, one alternate question, or one section of the body."""

    article_id: str
    kind: ChunkKind
    text: str
    heading_path: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        digest = hashlib.sha256(
            json.dumps(
                [self.article_id, self.kind, self.heading_path, self.text], ensure_ascii=False
            ).encode("utf-8")
        ).hexdigest()
        return digest[:20]

    @property
    def embed_text(self) -> str:
        """What the embedding model sees: a section carries its headings for context."""
        if self.kind == "section" and self.heading_path:
            return " > ".join(self.heading_path) + "\n" + self.text
        return self.text

    @property
    def embed_kind(self) -> TextKind:
        """Which side of a search the model reads this chunk as.

        A title or an alternate question is a phrasing of what visitors ask: it is matched
        against their questions (a symmetric task, for which e5's model card says to use
        `query: ` on both sides), and it trains the topic classifier that then reads visitors'
        questions, so it is embedded exactly as they are. A body section is what answers:
        a passage."""
        return "passage" if self.kind == "section" else "query"

    def to_dict(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "kind": self.kind,
            "text": self.text,
            "heading_path": list(self.heading_path),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(
            article_id=data["article_id"],
            kind=data["kind"],
            text=data["text"],
            heading_path=tuple(data["heading_path"]),
        )


def untranslated(articles: Iterable[Article], languages: Sequence[str]) -> dict[str, list[str]]:
    """Per language, the topics (groups) that have a version in some language but not in this
    one; languages every topic has are left out. Ingestion reports them, retrieval ranks them
    (`bot.cross_language`)."""
    versions: dict[str, set[str]] = {}
    for article in articles:
        versions.setdefault(article.group_id, set()).add(article.lang)
    missing = {
        lang: sorted(group for group, langs in versions.items() if lang not in langs)
        for lang in languages
    }
    return {lang: groups for lang, groups in missing.items() if groups}
