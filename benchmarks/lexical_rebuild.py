"""BM25 rebuild after one changed article: the whole-index rebuild (bm25s `index`, what every
publish did before) against counts built at array speed, from scratch and incrementally.

    python -m benchmarks.lexical_rebuild [--articles 2000] [--repeats 3]

On a generated knowledge base (`benchmarks.ingest_speed.generate_kb`): the chunks' words are
worked out once (ingestion already reuses the words of unchanged chunks); then per variant the
median seconds of `--repeats` runs of building every language's BM25 index. The incremental
variant copies the word counts of all chunks but the changed article's from the previous
version, as `ingest.store.write_version` does on a publish. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bm25s

from benchmarks.ingest_speed import generate_kb
from ingest.chunk import chunk_article
from ingest.lexical import build_lexical, chunk_tokens
from ingest.load import discover, load_file


def _chunks(kb: Path) -> tuple[list[Any], list[str]]:
    files, _ = discover(kb)
    articles = [
        a
        for f in files
        for a in load_file(f, kb, languages=("en", "de", "da"), default_language="en")[0]
    ]
    chunks = [c for a in articles for c in chunk_article(a, chunk_size=900)]
    lang = {a.id: a.lang for a in articles}
    return chunks, [lang[c.article_id] for c in chunks]


def _median(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _bm25s_whole(tokens: list[list[str]], langs: list[str]) -> None:
    for lang in sorted(set(langs)):
        bm25s.BM25().index(
            [t or [""] for t, g in zip(tokens, langs, strict=True) if g == lang],
            show_progress=False,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        chunks, langs = _chunks(generate_kb(Path(tmp) / "kb", args.articles))
    tokens = chunk_tokens([c.embed_text for c in chunks], langs)
    changed = chunks[len(chunks) // 2].article_id
    reuse_from = [-1 if c.article_id == changed else i for i, c in enumerate(chunks)]
    before = build_lexical([], langs, tokens)
    previous = {lang: (index.counts, index.rows) for lang, index in before.items()}
    fresh = sum(1 for r in reuse_from if r < 0)
    whole = _median(lambda: _bm25s_whole(tokens, langs), args.repeats)
    counts = _median(lambda: build_lexical([], langs, tokens), args.repeats)
    incremental = _median(
        lambda: build_lexical([], langs, tokens, previous, reuse_from),
        args.repeats,  # type: ignore[arg-type]
    )
    print(
        f"{args.articles:,} articles, {len(chunks):,} chunks; one article changed "
        f"({fresh} chunks); median of {args.repeats}\n"
    )
    print("| BM25 build | seconds |")
    print("|---|---:|")
    print(f"| bm25s index, whole (before) | {whole:.2f} |")
    print(f"| from counts, whole | {counts:.2f} |")
    print(f"| from counts, unchanged chunks copied | {incremental:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
