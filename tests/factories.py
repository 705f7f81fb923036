"""Small builders for test data: knowledge-base files, ingestion runs, a counting embedder.

Add to this file rather than growing private helpers in test modules."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from ingest.embed import HashEmbedder, TextKind, Vectors
from ingest.pipeline import IngestOptions, IngestReport, ingest


def write_text(kb: Path, path: str, text: str | bytes) -> Path:
    """Write a raw file at `kb/path` (folders created); bytes are written as they are."""
    target = kb / path
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        target.write_bytes(text)
    else:
        target.write_text(text, encoding="utf-8")
    return target


def front_matter(**fields: Any) -> str:
    """A `---` block holding `fields` as YAML, in the given order."""
    return "---\n" + yaml.safe_dump(fields, allow_unicode=True, sort_keys=False) + "---\n"


def write_article(
    kb: Path, path: str, *, body: str = "Some text about this topic.\n", **fields: Any
) -> Path:
    """A Markdown article at `kb/path`; front matter only when `fields` are given.

    `write_article(kb, "en/returns.md", title="Returns", questions=["Can I send it back?"],
    body="Within 30 days.")`
    """
    return write_text(kb, path, (front_matter(**fields) if fields else "") + body)


def write_faq(
    kb: Path, path: str, rows: Sequence[Mapping[str, str]], *, columns: Sequence[str] = ()
) -> Path:
    """A FAQ table (`.csv`, or tab-separated for `.tsv`) with one row per mapping; the columns
    are `columns`, or every key in order of first appearance."""
    names = list(columns) or list(dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=names, delimiter="\t" if path.endswith(".tsv") else ",", lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    return write_text(kb, path, out.getvalue())


def run_ingest(
    kb: Path, index_dir: Path, embedder: Any | None = None, **options: Any
) -> IngestReport:
    """One ingestion of `kb` into `index_dir` (hash embedder unless given)."""
    return ingest(
        IngestOptions(kb_dir=kb, index_dir=index_dir, **options), embedder or HashEmbedder(64)
    )


class CountingEmbedder(HashEmbedder):
    """The hash embedder, remembering every text it was asked to embed, and as what."""

    def __init__(self, dimension: int = 64):
        super().__init__(dimension)
        self.texts: list[str] = []
        self.kinds: dict[str, set[TextKind]] = {}
        self.calls = 0

    def embed_queries(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors:
        self._seen(texts, "query")
        return super().embed_queries(texts, batch_size=batch_size)

    def embed_passages(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors:
        self._seen(texts, "passage")
        return super().embed_passages(texts, batch_size=batch_size)

    def _seen(self, texts: Sequence[str], kind: TextKind) -> None:
        self.calls += 1
        self.texts.extend(texts)
        for text in texts:
            self.kinds.setdefault(text, set()).add(kind)

    def reset(self) -> None:
        self.texts.clear()
        self.kinds.clear()
        self.calls = 0


def supportbot_env(**settings: Any) -> dict[str, str]:
    """The environment for a `supportbot` subprocess: this one without any SUPPORTBOT_* variable,
    plus `settings` as SUPPORTBOT_<NAME> (`supportbot_env(index_dir=..., embedding_model=...)`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    env.update({f"SUPPORTBOT_{key.upper()}": str(value) for key, value in settings.items()})
    return env


_HOLD_LOCK = """
import sys
from pathlib import Path
from ingest.store import ingest_lock
with ingest_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()
"""


@contextlib.contextmanager
def lock_held_by_subprocess(index_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the ingestion lock of `index_dir` until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(index_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield holder
    finally:
        if holder.stdin:
            holder.stdin.close()
        holder.wait(timeout=30)
        if holder.stdout:
            holder.stdout.close()
