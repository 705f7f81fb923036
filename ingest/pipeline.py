"""Incremental ingestion: load and validate the knowledge base, re-embed only what changed,
write a new index version and publish it.

Unchanged files are not even re-parsed (their bytes hash the same), unchanged articles keep
their chunks and vectors, deleted ones simply are not carried over.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.chunk import chunk_article
from ingest.classifier import TopicClassifier, fingerprint, train, worth_training
from ingest.documents import Article, Chunk, untranslated
from ingest.embed import Embedder, Vectors
from ingest.lexical import TOKENIZER
from ingest.load import KnowledgeBaseInvalid, Problem, check_unique, discover, load_file
from ingest.store import (
    IndexStoreError,
    IndexVersion,
    current_version,
    ingest_lock,
    load_version,
    prune,
    publish,
    remove_leftovers,
    version_tokens,
    write_version,
)

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as work advances, for a progress bar."""

EMBED_BLOCK = 512


@dataclass
class IngestOptions:
    kb_dir: Path
    index_dir: Path
    languages: Sequence[str] = ("en", "de", "da")
    default_language: str = "en"
    chunk_size: int = 900
    keep_versions: int = 5
    batch_size: int = 64
    check_only: bool = False


@dataclass
class IngestReport:
    """What one run did, for the summary table and for scripts (`--json`)."""

    version: str | None = None
    previous: str | None = None
    published: bool = False
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    articles: int = 0
    chunks: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    files_parsed: int = 0
    files_reused: int = 0
    skipped_files: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    classifier_seconds: float = 0.0  # 0 when reused or skipped
    classifier_skipped: str | None = None  # why no classifier was trained
    # Why every chunk was embedded afresh although a version was published (another model,
    # chunk size or languages), or None.
    rebuilt: str | None = None
    # Per language, the topics (groups) with no version in it: the bot answers their questions
    # from another language's version, which it ranks and trusts less than a translation.
    untranslated: dict[str, list[str]] = field(default_factory=dict)

    @property
    def up_to_date(self) -> bool:
        return not (self.added or self.changed or self.removed)


def ingest(
    options: IngestOptions, embedder: Embedder, progress: Progress | None = None
) -> IngestReport:
    """Run one ingestion under the index lock. Raises `KnowledgeBaseInvalid` (nothing published)
    or an `IndexStoreError`."""
    started = time.perf_counter()
    report = IngestReport()
    with ingest_lock(options.index_dir):
        remove_leftovers(options.index_dir)
        previous, report.rebuilt = _previous(options, embedder)
        # The published version, even when it cannot be built on (another model): it is what
        # this run replaces.
        report.previous = current_version(options.index_dir)
        articles, files = _load_articles(options, previous, report, progress)
        plan = _Plan.make(articles, previous)
        report.added, report.changed, report.removed = plan.added, plan.changed, plan.removed
        report.unchanged = len(plan.reused)
        report.articles = len(articles)
        report.untranslated = untranslated(articles, options.languages)
        content_hash = _content_hash(articles, embedder.name, options.chunk_size)
        same = previous is not None and previous.manifest.get("content_hash") == content_hash
        if options.check_only or same:
            report.version = report.previous
            if same and previous is not None:
                report.chunks = len(previous.chunks)
            report.seconds = time.perf_counter() - started
            return report
        chunks, vectors, reuse_from = _chunks_and_vectors(
            options, embedder, articles, plan, previous, report, progress
        )
        old_tokens = version_tokens(previous) if previous is not None else None
        known_tokens = (
            [old_tokens[r] if r >= 0 else None for r in reuse_from] if old_tokens else None
        )
        manifest = {
            "model": embedder.name,
            "backend": embedder.backend,
            "dimension": embedder.dimension,
            "content_hash": content_hash,
            "chunk_size": options.chunk_size,
            "languages": list(options.languages),
            "default_language": options.default_language,
            "files": files,
        }
        topics = _topic_classifier(articles, chunks, vectors, embedder.name, previous, report)
        manifest["classifier"] = topics.info if topics else {"skipped": report.classifier_skipped}
        if progress:
            progress("write", 0, 1)
        report.version = write_version(
            options.index_dir,
            articles=articles,
            chunks=chunks,
            vectors=vectors,
            manifest=manifest,
            known_tokens=known_tokens,
            classifier=topics,
            previous=previous,
            reuse_from=reuse_from,
        )
        publish(options.index_dir, report.version)
        report.published = True
        report.pruned = prune(options.index_dir, options.keep_versions)
        if progress:
            progress("write", 1, 1)
    report.chunks = len(chunks)
    report.seconds = time.perf_counter() - started
    return report


def _topic_classifier(
    articles: Sequence[Article],
    chunks: Sequence[Chunk],
    vectors: Vectors,
    model: str,
    previous: IndexVersion | None,
    report: IngestReport,
) -> TopicClassifier | None:
    """The topic classifier over the phrasings (titles and alternate questions): the previous
    version's when they are unchanged, a new one when there are enough, else None."""
    group = {a.id: a.group_id for a in articles}
    rows = [i for i, c in enumerate(chunks) if c.kind != "section"]
    texts = [chunks[i].embed_text for i in rows]
    topics = [group[chunks[i].article_id] for i in rows]
    report.classifier_skipped = worth_training(topics)
    if report.classifier_skipped:
        return None
    wanted = fingerprint(texts, topics, model)
    old = previous.classifier if previous is not None else None
    if old is not None and old.fingerprint == wanted:
        return old
    t0 = time.perf_counter()
    trained = train(texts, vectors[rows], topics, model=model)
    report.classifier_seconds = time.perf_counter() - t0
    return trained


def _previous(options: IngestOptions, embedder: Embedder) -> tuple[IndexVersion | None, str | None]:
    """The published version to build on, or None and why not: a broken one, or one built
    with another model or setup, means a full build."""
    name = current_version(options.index_dir)
    if name is None:
        return None, None
    try:
        previous = load_version(options.index_dir, with_lexical=False)
    except IndexStoreError as exc:
        return None, f"the published version cannot be read ({exc})"
    manifest = previous.manifest
    if previous.model != embedder.name:
        return None, f"{name} was built with {previous.model}, the model now is {embedder.name}"
    for key, wanted in (
        ("chunk_size", options.chunk_size),
        ("languages", list(options.languages)),
        ("default_language", options.default_language),
    ):
        if manifest.get(key) != wanted:
            return None, f"{name} has {key} {manifest.get(key)!r}, the settings say {wanted!r}"
    return previous, None


def _load_articles(
    options: IngestOptions,
    previous: IndexVersion | None,
    report: IngestReport,
    progress: Progress | None,
) -> tuple[list[Article], dict[str, dict[str, str]]]:
    """The articles, and each file's byte hash (so the next run can skip unchanged files)."""
    files, skipped = discover(options.kb_dir)
    report.skipped_files = [p.relative_to(options.kb_dir).as_posix() for p in skipped]
    known = previous.manifest.get("files", {}) if previous else {}
    by_source: dict[str, list[Article]] = {}
    if previous:
        for article in previous.articles.values():
            by_source.setdefault(article.source, []).append(article)
    articles: list[Article] = []
    problems: list[Problem] = []
    hashes: dict[str, dict[str, str]] = {}
    for n, path in enumerate(files, 1):
        rel = path.relative_to(options.kb_dir).as_posix()
        entry = known.get(rel)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        hashes[rel] = {"sha256": digest}
        if entry and entry["sha256"] == digest:
            articles.extend(by_source.get(rel, []))
            report.files_reused += 1
        else:
            found, wrong = load_file(
                path,
                options.kb_dir,
                languages=options.languages,
                default_language=options.default_language,
            )
            articles.extend(found)
            problems.extend(wrong)
            report.files_parsed += 1
        if progress and (n % 200 == 0 or n == len(files)):
            progress("read", n, len(files))
    problems.extend(check_unique(articles))
    if problems:
        raise KnowledgeBaseInvalid(problems)
    return articles, hashes


@dataclass
class _Plan:
    added: list[str]
    changed: list[str]
    removed: list[str]
    reused: set[str]

    @classmethod
    def make(cls, articles: Sequence[Article], previous: IndexVersion | None) -> _Plan:
        old = {a.id: a.sha256 for a in previous.articles.values()} if previous else {}
        new = {a.id: a.sha256 for a in articles}
        return cls(
            added=sorted(set(new) - set(old)),
            changed=sorted(i for i in new if i in old and old[i] != new[i]),
            removed=sorted(set(old) - set(new)),
            reused={i for i in new if old.get(i) == new[i]},
        )


def _chunks_and_vectors(
    options: IngestOptions,
    embedder: Embedder,
    articles: Sequence[Article],
    plan: _Plan,
    previous: IndexVersion | None,
    report: IngestReport,
    progress: Progress | None,
) -> tuple[list[Chunk], Vectors, list[int]]:
    """The new version's chunks and vectors, and for each chunk the previous version's row it
    was reused from (-1 for a chunk embedded now)."""
    old_rows: dict[str, list[int]] = {}
    if previous and plan.reused:
        for row, chunk in enumerate(previous.chunks):
            old_rows.setdefault(chunk.article_id, []).append(row)
        old_vectors = previous.vectors()
    chunks: list[Chunk] = []
    reuse_from: list[int] = []  # previous row, or -1 where the chunk needs embedding
    for article in articles:
        if article.id in plan.reused:
            rows = old_rows.get(article.id, [])
            chunks.extend(previous.chunks[r] for r in rows)  # type: ignore[union-attr]
            reuse_from.extend(rows)
        else:
            fresh = chunk_article(article, chunk_size=options.chunk_size)
            chunks.extend(fresh)
            reuse_from.extend([-1] * len(fresh))
    vectors = np.zeros((len(chunks), embedder.dimension), dtype=np.float32)
    source = np.asarray(reuse_from, dtype=np.int64)
    kept = np.flatnonzero(source >= 0)
    if len(kept):
        vectors[kept] = old_vectors[source[kept]]
    todo = np.flatnonzero(source < 0)
    report.chunks_reused, report.chunks_embedded = len(kept), len(todo)
    t0 = time.perf_counter()
    vectors[todo] = embed_chunks(
        embedder, [chunks[i] for i in todo], batch_size=options.batch_size, progress=progress
    )
    report.embed_seconds = time.perf_counter() - t0
    return chunks, vectors, reuse_from


def embed_chunks(
    embedder: Embedder,
    chunks: Sequence[Chunk],
    *,
    batch_size: int,
    progress: Progress | None = None,
) -> Vectors:
    """Embed each chunk as the side of a search it is on (`Chunk.embed_kind`: phrasings as
    queries, sections as passages), in length-sorted blocks: similar lengths pad less, and
    blocks let a progress bar move. The result is in the order of `chunks`."""
    texts = [chunk.embed_text for chunk in chunks]
    out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    done = 0
    for kind, embed in (("query", embedder.embed_queries), ("passage", embedder.embed_passages)):
        rows = [i for i, chunk in enumerate(chunks) if chunk.embed_kind == kind]
        order = sorted(rows, key=lambda i: len(texts[i]))
        for start in range(0, len(order), EMBED_BLOCK):
            block = order[start : start + EMBED_BLOCK]
            out[block] = embed([texts[i] for i in block], batch_size=batch_size)
            done += len(block)
            if progress:
                progress("embed", done, len(texts))
    return out


def _content_hash(articles: Sequence[Article], model: str, chunk_size: int) -> str:
    # The tokenizer's version too: a change to how words are folded is a change of content.
    payload = json.dumps([model, chunk_size, TOKENIZER, sorted((a.id, a.sha256) for a in articles)])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
