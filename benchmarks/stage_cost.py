"""What each retrieval stage adds to one question's time, on a built index.

    python -m benchmarks.stage_cost --index-dir var/index \
        [--questions benchmarks/questions/sample-kb.csv] [--n 300]

Each question goes through the stages the chat reply runs, one at a time and timed apart:
query encoding (the model), dense search (FAISS), lexical search (BM25), the topic classifier
(when the index has one), and fusion with the word-level features. Prints a Markdown table of
medians and p95 per stage and the share of the whole; the model runs on one thread, as in the
server. Run it on an index built with the real model (`supportbot ingest`).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.language import detect_language
from bot.retrieval import DENSE_K, Evidence, Retriever
from bot.serving import Serving
from ingest.embed import make_embedder
from ingest.store import load_version

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_QUESTIONS = PROJECT_ROOT / "benchmarks" / "questions" / "sample-kb.csv"
LANGUAGES = ("en", "de", "da")


def timed(call: Callable[[], Any], into: list[float]) -> Any:
    started = time.perf_counter()
    result = call()
    into.append((time.perf_counter() - started) * 1000)
    return result


def read_questions(path: Path, n: int) -> list[str]:
    with open(path, newline="", encoding="utf-8") as handle:
        texts = [row["question"] for row in csv.DictReader(handle) if row.get("question")]
    return (texts * (n // max(1, len(texts)) + 1))[:n]


def measure(retriever: Retriever, questions: Sequence[str]) -> dict[str, list[float]]:
    stages: dict[str, list[float]] = {
        name: [] for name in ("encode", "dense", "lexical", "classifier", "fuse + features")
    }
    k = min(DENSE_K, len(retriever.index.chunks))
    for text in questions:
        lang = detect_language(text, languages=LANGUAGES, fallback="en")
        query = timed(lambda t=text: retriever.embedder.embed_queries([t]), stages["encode"])
        sims, rows = timed(lambda q=query: retriever.index.dense.search(q, k), stages["dense"])
        lexical = timed(lambda t=text, g=lang: retriever._lexical(t, g), stages["lexical"])
        topics = timed(lambda t=text, q=query: retriever._topics(t, q), stages["classifier"])
        evidence = Evidence(rows[0], sims[0], lexical, topics)
        timed(lambda e=evidence, g=lang: retriever.fuse(e, g)[:5], stages["fuse + features"])
    return stages


def table(stages: dict[str, list[float]], has_classifier: bool) -> str:
    total = sum(statistics.median(v) for v in stages.values())
    lines = [
        "| stage | p50 ms | p95 ms | share of p50 sum |",
        "|---|---:|---:|---:|",
    ]
    for name, values in stages.items():
        ordered = sorted(values)
        p50 = statistics.median(ordered)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        label = name if name != "classifier" or has_classifier else "classifier (none in index)"
        lines.append(f"| {label} | {p50:.2f} | {p95:.2f} | {p50 / total * 100:.0f} % |")
    lines.append(f"| **sum of medians** | {total:.2f} | | |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stage_cost", description=__doc__)
    parser.add_argument("--index-dir", type=Path, default=Path("var/index"))
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    version = load_version(args.index_dir)
    embedder = make_embedder(version.model, threads=1)
    embedder.warm_up()
    # with the weights tuned for this version, as the server runs it
    retriever = Serving.load(
        version, embedder, languages=LANGUAGES, default_language="en"
    ).retriever
    questions = read_questions(args.questions, max(1, args.n))
    measure(retriever, questions[:10])  # warm caches (vocabulary, idf, tokenizer)
    stages = measure(retriever, questions)
    print(f"index {version.name}: {len(version.chunks)} chunks, {len(questions)} questions")
    print(table(stages, version.classifier is not None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
