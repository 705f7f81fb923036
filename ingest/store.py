"""Index versions on disk: write one atomically, switch `CURRENT`, list, roll back, prune, lock.

Layout:  <index_dir>/<version>/{manifest.json, articles.jsonl, chunks.jsonl, index.faiss,
lexical/, [classifier/], [calibration.json]}  and  <index_dir>/CURRENT  (the published version's
name). A version is built in a hidden temporary folder and renamed into place whole; `CURRENT` is
replaced with one atomic rename. Killing ingestion at any moment therefore leaves the published
version serving. `supportbot eval --tune` adds (or replaces) the calibration of a published
version later, also with one atomic rename.

This module is the only one that knows these file names; everything else goes through it.
That is also why it is a little over 400 lines: splitting writing from loading would give the
file layout two owners again (building the dense index lives in `ingest.dense`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import faiss
import numpy as np

from ingest.classifier import CLASSIFIER_DIR, TopicClassifier
from ingest.dense import build_dense, dense_type_for, tune_dense
from ingest.documents import Article, Chunk
from ingest.embed import Vectors
from ingest.lexical import (
    TOKENS_FILE,
    LexicalIndex,
    TermCounts,
    build_lexical,
    chunk_tokens,
    load_counts,
    load_lexical,
    read_tokens,
    save_lexical,
    write_tokens,
)

FORMAT = 1
CURRENT = "CURRENT"
_MANIFEST = "manifest.json"
_CALIBRATION = "calibration.json"
# Names sort by build time; milliseconds keep two builds within one second in order (older
# indexes have whole seconds only).
_VERSION = re.compile(r"^\d{8}T\d{6}(\d{3})?Z-[0-9a-f]{8}(-\d+)?$")


class IndexStoreError(Exception):
    """Base of the index errors; `exit_code` is what the command line returns."""

    exit_code = 1


class IndexNotFound(IndexStoreError):
    exit_code = 3


class IndexCorrupt(IndexNotFound):
    """A version whose files cannot be read (truncated, edited by hand): as good as missing."""


class IndexMismatch(IndexStoreError):
    """The index was built with another model than the one configured."""

    exit_code = 4


class IngestLocked(IndexStoreError):
    exit_code = 5


@dataclass
class IndexVersion:
    """One published version, loaded: everything retrieval needs, read-only."""

    name: str
    path: Path
    manifest: dict[str, Any]
    articles: dict[str, Article]
    chunks: list[Chunk]
    dense: Any  # faiss.Index
    lexical: dict[str, LexicalIndex]
    classifier: TopicClassifier | None = None
    chunk_article_rows: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        ids = {article_id: i for i, article_id in enumerate(self.articles)}
        self.chunk_article_rows = np.asarray(
            [ids[c.article_id] for c in self.chunks], dtype=np.int64
        )

    @property
    def model(self) -> str:
        return str(self.manifest["model"])

    def vectors(self) -> Vectors:
        """All chunk vectors, row-aligned with `chunks` (both index types keep them whole)."""
        if not self.chunks:
            return np.zeros((0, int(self.manifest["dimension"])), dtype=np.float32)
        return np.asarray(self.dense.reconstruct_n(0, len(self.chunks)), dtype=np.float32)

    def calibration(self) -> dict[str, Any] | None:
        """Thresholds and calibration tuned for this version by `supportbot eval --tune`."""
        return read_calibration(self.path)


@dataclass(frozen=True)
class Published:
    """Which version `CURRENT` names, and a mark of that version's calibration file.

    Cheap to read, and different whenever a server should load again: a new version was
    published, or the published one was re-tuned. Compare two for equality; the mark means
    nothing else."""

    version: str
    calibration: tuple[int, int] | None  # (inode, mtime in ns); None without a calibration


def published(index_dir: Path) -> Published | None:
    """The published version and its calibration mark, or None when nothing is published."""
    name = current_version(index_dir)
    if name is None:
        return None
    try:
        stat = (index_dir / name / _CALIBRATION).stat()
    except FileNotFoundError:
        return Published(name, None)
    # Each write renames a new file into place, so the inode changes even when two writes
    # fall within one tick of the file system's clock.
    return Published(name, (stat.st_ino, stat.st_mtime_ns))


def read_calibration(version_dir: Path) -> dict[str, Any] | None:
    """The calibration stored in the version folder `version_dir`, or None if it has none."""
    try:
        text = (version_dir / _CALIBRATION).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    data: dict[str, Any] = json.loads(text)
    return data


def write_calibration(version_dir: Path, data: dict[str, Any]) -> None:
    """Store a calibration with the version it was tuned for. Servers of that version may
    read it at any moment, so it is renamed into place whole."""
    tmp = version_dir / f".{_CALIBRATION}.{os.getpid()}.tmp"
    _write_text(tmp, json.dumps(data, indent=2))
    os.replace(tmp, version_dir / _CALIBRATION)
    _fsync_dir(version_dir)


def remove_calibration(version_dir: Path) -> None:
    """Serve the version with the untuned defaults again."""
    (version_dir / _CALIBRATION).unlink(missing_ok=True)


def read_manifest(index_dir: Path, name: str) -> dict[str, Any]:
    """The manifest of version `name` (what it was built with, its counts), without loading it."""
    manifest: dict[str, Any] = json.loads(
        (index_dir / name / _MANIFEST).read_text(encoding="utf-8")
    )
    return manifest


def new_version_name(content_hash: str, index_dir: Path, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    stamp = f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z"
    name = f"{stamp}-{content_hash[:8]}"
    n = 1
    while (index_dir / name).exists():
        n += 1
        name = f"{stamp}-{content_hash[:8]}-{n}"
    return name


def list_versions(index_dir: Path) -> list[str]:
    """Published version names, oldest first (names sort by build time)."""
    if not index_dir.is_dir():
        return []
    return sorted(p.name for p in index_dir.iterdir() if p.is_dir() and _VERSION.match(p.name))


def current_version(index_dir: Path) -> str | None:
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def write_version(
    index_dir: Path,
    *,
    articles: Sequence[Article],
    chunks: Sequence[Chunk],
    vectors: Vectors,
    manifest: dict[str, Any],
    known_tokens: Sequence[list[str] | None] | None = None,
    classifier: TopicClassifier | None = None,
    dense_type: str | None = None,
    previous: IndexVersion | None = None,
    reuse_from: Sequence[int] | None = None,
) -> str:
    """Write a complete version next to the others (not yet published) and return its name.

    `dense_type` ("flat" or "ivf") overrides the choice by size (`dense_type_for`). With
    `previous` and `reuse_from` (per chunk, its row in `previous` or -1), the lexical index
    copies the word counts of unchanged chunks instead of counting them again."""
    if len(chunks) != len(vectors):
        raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
    index_dir.mkdir(parents=True, exist_ok=True)
    name = new_version_name(manifest["content_hash"], index_dir)
    tmp = index_dir / f".tmp-{name}-{os.getpid()}"
    tmp.mkdir()
    by_id = {a.id: a for a in articles}
    _write_jsonl(tmp / "articles.jsonl", ({**a.to_dict(), "sha256": a.sha256} for a in articles))
    _write_jsonl(tmp / "chunks.jsonl", (c.to_dict() for c in chunks))
    dense, dense_info = build_dense(
        vectors, int(manifest["dimension"]), dense_type or dense_type_for(len(vectors))
    )
    faiss.write_index(dense, str(tmp / "index.faiss"))
    langs = [by_id[c.article_id].lang for c in chunks]
    tokens = chunk_tokens([c.embed_text for c in chunks], langs, known_tokens)
    base = version_counts(previous) if previous is not None and reuse_from is not None else None
    lexical = build_lexical([], langs, tokens, base, reuse_from)
    save_lexical(lexical, tmp / "lexical")
    write_tokens(tmp / "lexical" / TOKENS_FILE, tokens)
    if classifier is not None:
        classifier.save(tmp / CLASSIFIER_DIR)
    full = {
        **manifest,
        "format": FORMAT,
        "version": name,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "counts": {"articles": len(articles), "chunks": len(chunks)},
        "dense": dense_info,
    }
    # The manifest goes last: a folder without one is by definition incomplete.
    _write_text(tmp / _MANIFEST, json.dumps(full, indent=2, ensure_ascii=False))
    _fsync_dir(tmp)
    os.rename(tmp, index_dir / name)
    _fsync_dir(index_dir)
    return name


def publish(index_dir: Path, name: str) -> None:
    """Point `CURRENT` at `name` with one atomic rename."""
    if name not in list_versions(index_dir) or not (index_dir / name / _MANIFEST).exists():
        raise IndexNotFound(f"no complete index version {name!r} in {index_dir}")
    tmp = index_dir / f".{CURRENT}.{os.getpid()}.tmp"
    _write_text(tmp, name + "\n")
    os.replace(tmp, index_dir / CURRENT)
    _fsync_dir(index_dir)


def rollback(index_dir: Path, name: str) -> None:
    """Serve an older (or newer) version again; it is checked to load first."""
    load_version(index_dir, name)
    publish(index_dir, name)


def previous_version(index_dir: Path) -> str:
    """The version built before the published one: what a rollback without a name goes to."""
    current = current_version(index_dir)
    versions = list_versions(index_dir)
    if current is None or current not in versions:
        raise IndexNotFound(f"no published index version in {index_dir}")
    position = versions.index(current)
    if position == 0:
        raise IndexNotFound(f"{current} is the oldest version in {index_dir}: nothing before it")
    return versions[position - 1]


def prune(index_dir: Path, keep: int) -> list[str]:
    """Delete all but the `keep` newest versions; the published one is always kept."""
    current = current_version(index_dir)
    versions = list_versions(index_dir)
    doomed = [v for v in versions[: max(0, len(versions) - keep)] if v != current]
    for name in doomed:
        shutil.rmtree(index_dir / name, ignore_errors=True)
    return doomed


def version_tokens(version: IndexVersion) -> list[list[str]] | None:
    """The words of each chunk of `version`, saved so unchanged chunks skip tokenizing."""
    tokens = read_tokens(version.path / "lexical" / TOKENS_FILE)
    return tokens if tokens is not None and len(tokens) == len(version.chunks) else None


def version_counts(
    version: IndexVersion,
) -> dict[str, tuple[TermCounts, np.ndarray]] | None:
    """Each language's word counts of `version`, with the chunk rows they belong to (None for
    a version written without them)."""
    return load_counts(version.path / "lexical")


def remove_leftovers(index_dir: Path) -> None:
    """Clear temporary folders of ingestions that were killed (call with the lock held)."""
    if index_dir.is_dir():
        for path in index_dir.glob(".tmp-*"):
            shutil.rmtree(path, ignore_errors=True)
        for path in index_dir.glob(f".{CURRENT}.*.tmp"):
            path.unlink(missing_ok=True)


def load_version(
    index_dir: Path,
    name: str | None = None,
    *,
    expect_model: str | None = None,
    with_lexical: bool = True,
) -> IndexVersion:
    """Load a version (default: the published one), refusing one built with another model.

    Ingestion builds on the previous version's vectors only and skips its BM25 indexes
    (`with_lexical=False`)."""
    name = name or current_version(index_dir)
    if name is None:
        raise IndexNotFound(f"no published index in {index_dir} (run `supportbot ingest`)")
    path = index_dir / name
    try:
        manifest = read_manifest(index_dir, name)
    except FileNotFoundError:
        raise IndexNotFound(f"index version {name!r} not found in {index_dir}") from None
    except ValueError as exc:
        raise IndexCorrupt(f"index {name} has an unreadable manifest: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise IndexMismatch(f"index {name} has format {manifest.get('format')}, need {FORMAT}")
    if expect_model is not None and manifest["model"] != expect_model:
        raise IndexMismatch(
            f"index {name} was built with {manifest['model']!r} but the configured model is "
            f"{expect_model!r}; re-run `supportbot ingest`"
        )
    try:
        articles = {}
        for row in _read_jsonl(path / "articles.jsonl"):
            row.pop("sha256", None)
            article = Article.from_dict(row)
            articles[article.id] = article
        chunks = [Chunk.from_dict(row) for row in _read_jsonl(path / "chunks.jsonl")]
        dense = faiss.read_index(str(path / "index.faiss"))
        # Versions written before the choice by size have no "dense" entry: flat.
        dense_info = manifest.get("dense", {"type": "flat"})
        if (dense_info["type"] == "ivf") != hasattr(dense, "nprobe"):
            raise IndexCorrupt(f"index {name}: index.faiss is not the {dense_info['type']} index")
        tune_dense(dense, dense_info)
        lexical = load_lexical(path / "lexical") if with_lexical else {}
        classifier = TopicClassifier.load(path / CLASSIFIER_DIR)
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        # faiss raises RuntimeError on a truncated file, json ValueError, a bad row KeyError
        raise IndexCorrupt(f"index {name} cannot be read: {exc}") from exc
    if dense.ntotal != len(chunks) or dense.d != manifest["dimension"]:
        raise IndexMismatch(
            f"index {name} is inconsistent: {dense.ntotal} vectors of "
            f"dimension {dense.d}, {len(chunks)} chunks"
        )
    return IndexVersion(name, path, manifest, articles, chunks, dense, lexical, classifier)


@contextlib.contextmanager
def ingest_lock(index_dir: Path) -> Iterator[None]:
    """Only one ingestion at a time per index folder. The OS drops the lock if the holder dies,
    so a killed ingestion never leaves a stale lock behind."""
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / ".lock"
    handle: IO[str] = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held across yield
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise IngestLocked(
                f"another ingestion is running on {index_dir} ({holder}); wait for it to finish"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(
            f"pid {os.getpid()} since {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}"
        )
        handle.flush()
        yield
    finally:
        handle.close()


def _write_jsonl(path: Path, rows: Any) -> None:
    encode = json.JSONEncoder(ensure_ascii=False).encode
    with open(path, "w", encoding="utf-8") as out:
        out.writelines(encode(row) + "\n" for row in rows)
        out.flush()
        os.fsync(out.fileno())


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as src:
        for line in src:
            if line.strip():
                yield json.loads(line)


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
