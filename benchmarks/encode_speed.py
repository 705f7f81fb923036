"""Encode speed of both bundled models in the same run: one query, and batches of queries and
of knowledge-base chunks.

    python -m benchmarks.encode_speed [--repeats 3] [--n 200] [--out var/bench/encode.json]

Every repeat runs each model in a fresh child process (neither's thread pool, caches or memory
touch the other's figures), the models taking turns so that a busy machine weighs on both
alike; the table shows the median over the repeats. Per model and run:

* one query: `embed_queries([q])` for each of `--n` sample-KB questions on one thread, as the
  server runs it (10 warm-up calls first); p50 and p95;
* batched queries: all sample-KB questions in one `embed_queries` call (batch 64), queries/s;
* batched chunks: the sample KB's chunks as ingestion embeds them (`embed_chunks`: titles and
  alternate questions as queries, sections as passages; batch 64), chunks/s.

Batches are measured on one thread and on all cores (as `supportbot ingest` runs). Progress
goes to stderr; stdout carries a Markdown table; the JSON goes to `--out`.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_KB = PROJECT_ROOT / "kb_docs"
QUESTIONS = PROJECT_ROOT / "benchmarks" / "questions" / "sample-kb.csv"
DEFAULT_OUT = Path("var/bench/encode.json")
MODELS = ("multilingual-e5-small", "all-MiniLM-L6-v2")
BATCH = 64
WARM_UP = 10


def log(message: str) -> None:
    print(f"[encode_speed] {message}", file=sys.stderr, flush=True)


def questions() -> list[str]:
    with open(QUESTIONS, newline="", encoding="utf-8") as handle:
        return [row["question"] for row in csv.DictReader(handle) if row.get("question")]


def sample_chunks() -> list[Any]:
    from ingest.chunk import chunk_article
    from ingest.load import discover, load_file

    files, _ = discover(SAMPLE_KB)
    chunks = []
    for path in files:
        articles, _ = load_file(
            path, SAMPLE_KB, languages=("en", "de", "da"), default_language="en"
        )
        for article in articles:
            chunks.extend(chunk_article(article))
    return chunks


def run_model(
    model: str, threads: int | None, n_single: int, passages: int | None = None
) -> dict[str, Any]:
    """Child: one model with `threads` threads (None: all cores); single queries only when
    on one thread. With `passages`, the batch is only the first that many section passages
    (no titles or alternate questions) and the batched-queries figure is left out: the short
    form `benchmarks.quality.run` measures beside its quality figures."""
    from ingest.embed import make_embedder
    from ingest.pipeline import embed_chunks

    texts, chunks = questions(), sample_chunks()
    if passages is not None:
        chunks = [chunk for chunk in chunks if chunk.embed_kind == "passage"][:passages]
    embedder = make_embedder(model, threads=threads)
    started = time.perf_counter()
    embedder.warm_up()
    result: dict[str, Any] = {"load_seconds": time.perf_counter() - started}
    for text in texts[:WARM_UP]:
        embedder.embed_queries([text])
    if threads == 1:
        single = []
        for text in (texts * (n_single // len(texts) + 1))[:n_single]:
            started = time.perf_counter()
            embedder.embed_queries([text])
            single.append((time.perf_counter() - started) * 1000)
        single.sort()
        result["single_p50_ms"] = statistics.median(single)
        result["single_p95_ms"] = single[int(0.95 * (len(single) - 1))]
    if passages is None:
        started = time.perf_counter()
        embedder.embed_queries(texts, batch_size=BATCH)
        result["queries_per_second"] = len(texts) / (time.perf_counter() - started)
    started = time.perf_counter()
    embed_chunks(embedder, chunks, batch_size=BATCH)
    result["chunks_per_second"] = len(chunks) / (time.perf_counter() - started)
    result |= {
        "questions": len(texts),
        "chunks": len(chunks),
        "chunk_chars_mean": statistics.fmean(len(c.embed_text) for c in chunks),
        "load_average": os.getloadavg()[0],
    }
    return result


def in_child(
    model: str, threads: int | None, n_single: int, passages: int | None = None
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(run_model, model, threads, n_single, passages).result()


ONE_THREAD = {
    "single_p50_ms": "one query p50, ms",
    "single_p95_ms": "one query p95, ms",
    "queries_per_second": "queries/s batched, 1 thread",
    "chunks_per_second": "chunks/s batched, 1 thread",
}
ALL_CORES = {
    "queries_per_second": "queries/s batched, all cores",
    "chunks_per_second": "chunks/s batched, all cores",
}


def medians(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def table(results: dict[str, Any]) -> str:
    models = results["models"]
    runs = results["runs"]
    lines = [
        "| figure | " + " | ".join(models) + " | ratio |",
        "|---|" + "---:|" * (len(models) + 1),
    ]
    rows = [(label, "1", key) for key, label in ONE_THREAD.items()]
    rows += [(label, "all", key) for key, label in ALL_CORES.items()]
    for label, threads, key in rows:
        values = [medians(runs[model][threads], key) for model in models]
        ratio = values[0] / values[1] if len(values) == 2 and values[1] else float("nan")
        cells = " | ".join(f"{v:.1f}" for v in values)
        lines.append(f"| {label} | {cells} | {ratio:.2f} |")
    first = runs[models[0]]["1"][0]
    lines += [
        "",
        f"Medians of {results['repeats']} runs per figure; {first['questions']} sample-KB "
        f"questions, {first['chunks']} chunks; ratio = {models[0]} / {models[-1]}; "
        f"{results['cpus']} CPUs, load average {results['load_average_start']:.1f} at start, "
        f"{results['load_average_end']:.1f} at end.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per model (medians)")
    parser.add_argument("--n", type=int, default=200, help="single queries per run")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    args = parser.parse_args(argv)
    repeats, n_single = max(1, min(args.repeats, 20)), max(1, min(args.n, 5000))
    results: dict[str, Any] = {
        "command": "python -m benchmarks.encode_speed " + " ".join(sys.argv[1:]),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "models": args.models,
        "repeats": repeats,
        "load_average_start": os.getloadavg()[0],
        "runs": {model: {"1": [], "all": []} for model in args.models},
    }
    for repeat in range(repeats):
        for threads, key in ((1, "1"), (None, "all")):
            for model in args.models:
                log(f"run {repeat + 1}/{repeats}: {model}, {key} thread(s) ...")
                run = in_child(model, threads, n_single)
                results["runs"][model][key].append(run)
    results["load_average_end"] = os.getloadavg()[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
