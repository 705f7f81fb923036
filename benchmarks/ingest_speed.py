"""Ingestion speed: full builds, the raw model rate they are held against, re-ingestion after
one edit, and peak memory.

    python -m benchmarks.ingest_speed [--articles 10000] [--out var/bench/ingest.json]

Measured, each in a fresh child process (so every figure has its own RSS high-water mark):

* full ingestion of the sample KB (`kb_docs/`) and of a generated KB of N articles with the
  real bundled model, in chunks per second (model loaded before the clock starts);
* the raw model on the same chunk texts (`embed_queries` / `embed_passages`, all at once,
  same batch size) and the ratio pipeline / raw (target >= 0.7);
* re-ingestion of the generated KB after changing one article (median of `--repeats`, model
  warm; target < 5 s), and once end to end through `supportbot ingest` (includes start-up and
  model load);
* peak RSS of each run.

Progress goes to stderr; stdout carries a Markdown table; the JSON goes to `--out`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_KB = PROJECT_ROOT / "kb_docs"
DEFAULT_OUT = Path("var/bench/ingest.json")
RATIO_TARGET = 0.7
REINGEST_TARGET_SECONDS = 5.0

# --------------------------------------------------------------------------- generated KB


def _words(text: str) -> list[str]:
    return [word.strip() for word in text.split(";") if word.strip()]


_PRODUCTS = _words(
    "rain jacket; down jacket; fleece pullover; softshell jacket; hiking boots; trail shoes;"
    "approach shoes; sleeping bag; sleeping mat; dome tent; tunnel tent; trekking poles; daypack;"
    "backpack; duffel bag; headlamp; camping stove; water filter; base layer; merino socks;"
    "gaiters; gloves; beanie; rain trousers; hiking trousers; shorts; insulated vest; bivy bag;"
    "climbing harness; helmet"
)
_TOPICS = [
    tuple(pair.split(":"))
    for pair in _words(
        "returns:Returning; exchanges:Exchanging; repairs:Repairing; warranty:Warranty for;"
        "delivery:Delivery of; care:Caring for; sizing:Finding the right size of;"
        "orders:Ordering; payment:Paying for; vouchers:Vouchers for; stock:Availability of;"
        "recycling:Recycling"
    )
]
_SUBJECTS = _words(
    "Customers; Fjeld Club members; Business customers; Our service team; The warehouse;"
    "Our repair workshop; Every store; The carrier; The online shop; Most manufacturers;"
    "Our partners; Visitors of our website"
)
_VERBS = _words(
    "can return; may exchange; should check; will receive; can track; are asked to pack;"
    "can book; need to register; will refund; can order; should wash; may repair; can collect;"
    "will inspect; can cancel; should store"
)
_OBJECTS = _words(
    "the {p}; a damaged {p}; an unworn {p}; the original packaging; the return label;"
    "the invoice; a voucher code; the order confirmation; a replacement {p};"
    "the tracking number; the care instructions; a spare part for the {p}"
)
_MODIFIERS = _words(
    "within 30 days of delivery; free of charge in Germany and Denmark;"
    "after logging in to the customer account; at any of our four stores;"
    "before the parcel leaves the warehouse; with the prepaid label from the parcel;"
    "as long as the tags are still attached; once the payment has been confirmed;"
    "on weekdays between 8 am and 6 pm; unless the item was used outdoors;"
    "using the form under My orders; within two working days; for a fee of EUR 4.95;"
    "provided the seal is unbroken; in the same colour or another size"
)
_HEADINGS = _words(
    "Before you start; Conditions; Step by step; Costs; How long it takes; Exceptions;"
    "Good to know; Frequently asked; What we need from you; Deadlines; In our stores; Online;"
    "For Fjeld Club members; Business orders; Contact"
)
_QUESTIONS = _words(
    "How do I {a} my {p}?; Can I {a} a {p} I bought in a store?; what does it cost to {a} a {p};"
    "How long does it take to {a} the {p}?; Is it possible to {a} my {p} after 30 days?;"
    "who pays when I {a} a {p}; Where can I {a} my {p}?"
)
_ACTIONS = _words("return; exchange; repair; track; order; wash; recycle; pay for")


def _sentence(rng: random.Random, product: str) -> str:
    obj = rng.choice(_OBJECTS).format(p=rng.choice([product, *rng.sample(_PRODUCTS, 2)]))
    return f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {obj} {rng.choice(_MODIFIERS)}."


def _paragraph(rng: random.Random, product: str, sentences: tuple[int, int]) -> str:
    return " ".join(_sentence(rng, product) for _ in range(rng.randint(*sentences)))


def generate_article(number: int, seed: int = 7) -> tuple[str, str]:
    """(relative path, Markdown text) of generated article `number`; the same for the same
    arguments on every machine."""
    rng = random.Random(f"{seed}-{number}")
    topic, verb = rng.choice(_TOPICS)
    product = rng.choice(_PRODUCTS)
    title = f"{verb} your {product} ({number})"
    questions = [
        rng.choice(_QUESTIONS).format(a=rng.choice(_ACTIONS), p=product)
        for _ in range(rng.randint(1, 3))
    ]
    lines = [f"# {title}", "", _paragraph(rng, product, (2, 4)), ""]
    for heading in rng.sample(_HEADINGS, rng.randint(2, 4)):
        lines += [f"## {heading}", ""]
        shape = rng.random()
        if shape < 0.3:
            lines += [f"- {_sentence(rng, product)}" for _ in range(rng.randint(3, 6))]
        elif shape < 0.4:
            lines += [f"{i}. {_sentence(rng, product)}" for i in range(1, rng.randint(3, 6))]
        elif shape < 0.5:  # a long section the chunker has to cut at sentence boundaries
            lines += [_paragraph(rng, product, (10, 16))]
        else:
            lines += [_paragraph(rng, product, (2, 5))]
        if rng.random() < 0.2:
            lines += ["", f"### {rng.choice(_HEADINGS)}", "", _paragraph(rng, product, (1, 3))]
        lines.append("")
    front = [
        "---",
        f"id: gen/{topic}/{number:05d}",
        f"title: {title}",
        "lang: en",
        f"url: https://shop.example/help/{topic}/{number}",
        f"group: gen-{number}",
        f"tags: [{topic}, {product}]",
        "questions:",
        *[f"  - {json.dumps(q)}" for q in questions],
        "---",
    ]
    return f"en/{topic}/{number:05d}.md", "\n".join(front + lines)


def generate_kb(target: Path, articles: int, seed: int = 7) -> Path:
    """Write `articles` generated Markdown articles below `target` (created) and return it."""
    for number in range(articles):
        rel, text = generate_article(number, seed)
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target


def change_article(kb: Path, number: int, revision: int, seed: int = 7) -> Path:
    """Edit one generated article the way an editor would: one more sentence."""
    rel, text = generate_article(number, seed)
    path = kb / rel
    path.write_text(
        f"{text}\nRevision {revision}: checked again by the support team.\n", encoding="utf-8"
    )
    return path


# --------------------------------------------------------------------------- child runs


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _load_average() -> float:
    """The 1-minute load average as a run ends: a busy machine explains a slow figure."""
    return os.getloadavg()[0]


def _embedder(model: str) -> Any:
    from ingest.embed import make_embedder

    embedder = make_embedder(model)
    started = time.perf_counter()
    embedder.warm_up()
    return embedder, time.perf_counter() - started


def _options(kb: Path, index_dir: Path, batch_size: int) -> Any:
    from ingest.pipeline import IngestOptions

    return IngestOptions(kb_dir=kb, index_dir=index_dir, batch_size=batch_size)


def run_full(kb: str, index_dir: str, model: str, batch_size: int) -> dict[str, Any]:
    """Child: one full ingestion with the model already loaded."""
    from ingest.pipeline import ingest

    embedder, load_seconds = _embedder(model)
    report = ingest(_options(Path(kb), Path(index_dir), batch_size), embedder)
    return {
        "articles": report.articles,
        "chunks": report.chunks,
        "seconds": report.seconds,
        "embed_seconds": report.embed_seconds,
        "chunks_per_second": report.chunks / report.seconds,
        "model_load_seconds": load_seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "load_average": _load_average(),
    }


def run_raw(index_dir: str, model: str, batch_size: int) -> dict[str, Any]:
    """Child: the bare model on the chunk texts of the published index, all in one call."""
    from ingest.store import load_version

    chunks = load_version(Path(index_dir)).chunks
    texts = [chunk.embed_text for chunk in chunks]
    queries = [text for text, c in zip(texts, chunks, strict=True) if c.embed_kind == "query"]
    passages = [text for text, c in zip(texts, chunks, strict=True) if c.embed_kind == "passage"]
    embedder, _ = _embedder(model)
    started = time.perf_counter()
    embedder.embed_queries(queries, batch_size=batch_size)  # titles and alternate questions
    embedder.embed_passages(passages, batch_size=batch_size)
    seconds = time.perf_counter() - started
    return {
        "chunks": len(texts),
        "seconds": seconds,
        "chunks_per_second": len(texts) / seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "load_average": _load_average(),
    }


def run_reingest(
    kb: str, index_dir: str, model: str, batch_size: int, repeats: int
) -> dict[str, Any]:
    """Child: change one article, re-ingest; `repeats` times, model warm."""
    from ingest.pipeline import ingest

    embedder, _ = _embedder(model)
    options = _options(Path(kb), Path(index_dir), batch_size)
    walls, reports = [], []
    for revision in range(repeats):
        change_article(Path(kb), number=revision, revision=revision)
        started = time.perf_counter()
        report = ingest(options, embedder)
        walls.append(time.perf_counter() - started)
        assert report.published and len(report.changed) == 1, report
        reports.append(
            {
                "changed": report.changed,
                "chunks_embedded": report.chunks_embedded,
                "chunks_reused": report.chunks_reused,
            }
        )
    return {
        "wall_seconds": walls,
        "median_seconds": statistics.median(walls),
        "runs": reports,
        "peak_rss_mb": _peak_rss_mb(),
        "load_average": _load_average(),
    }


def in_child(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run `fn(*args)` in a fresh interpreter: its RSS high-water mark is its own."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(fn, *args).result()


def run_cli_reingest(kb: Path, index_dir: Path, model: str, revision: int) -> dict[str, Any]:
    """`supportbot ingest --quiet` after one edit, timed from the outside (start-up and model
    load included), as an editor experiences it."""
    change_article(kb, number=revision, revision=revision)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    env |= {
        "SUPPORTBOT_EMBEDDING_MODEL": model,
        "SUPPORTBOT_KB_DIR": str(kb),
        "SUPPORTBOT_INDEX_DIR": str(index_dir),
    }
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "ingest", "--quiet"], check=True, env=env, cwd=PROJECT_ROOT
    )
    return {"wall_seconds": time.perf_counter() - started}


# --------------------------------------------------------------------------- main


def _log(message: str) -> None:
    print(f"[ingest_speed] {message}", file=sys.stderr, flush=True)


def _save(results: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Run every measurement; the JSON is rewritten after each, so a long run that dies late
    still leaves what it measured."""
    results: dict[str, Any] = {
        "command": "python -m benchmarks.ingest_speed " + " ".join(sys.argv[1:]),
        "model": args.model,
        "batch_size": args.batch_size,
        "articles_generated": args.articles,
        "cpus": os.cpu_count(),
        "load_average_start": os.getloadavg(),
    }
    started = time.perf_counter()
    generated = generate_kb(work / "kb", args.articles)
    results["generate_seconds"] = time.perf_counter() - started
    _log(f"generated {args.articles} articles in {results['generate_seconds']:.1f} s")
    for label, kb in (("sample", SAMPLE_KB), ("generated", generated)):
        index_dir = work / f"index-{label}"
        shutil.rmtree(index_dir, ignore_errors=True)  # a full build, even in a kept --workdir
        _log(f"{label}: full ingestion ...")
        full = in_child(run_full, str(kb), str(index_dir), args.model, args.batch_size)
        _log(f"{label}: {full['chunks']} chunks in {full['seconds']:.1f} s; raw encode ...")
        raw = in_child(run_raw, str(index_dir), args.model, args.batch_size)
        results[label] = {
            "full": full,
            "raw": raw,
            "ratio": full["chunks_per_second"] / raw["chunks_per_second"],
        }
        _log(f"{label}: ratio {results[label]['ratio']:.2f}")
        _save(results, args.out)
    _log(f"re-ingestion after one change, {args.repeats} times ...")
    index_dir = work / "index-generated"
    results["reingest"] = in_child(
        run_reingest, str(generated), str(index_dir), args.model, args.batch_size, args.repeats
    )
    _save(results, args.out)
    _log("re-ingestion through the command line ...")
    results["reingest_cli"] = run_cli_reingest(generated, index_dir, args.model, args.repeats)
    results["load_average_end"] = os.getloadavg()
    return results


def table(results: dict[str, Any]) -> str:
    s, g = results["sample"], results["generated"]
    rows = [
        ("articles", s["full"]["articles"], g["full"]["articles"]),
        ("chunks", s["full"]["chunks"], g["full"]["chunks"]),
        ("full ingestion (s)", f"{s['full']['seconds']:.1f}", f"{g['full']['seconds']:.1f}"),
        (
            "  of which embedding (s)",
            f"{s['full']['embed_seconds']:.1f}",
            f"{g['full']['embed_seconds']:.1f}",
        ),
        (
            "pipeline chunks/s",
            f"{s['full']['chunks_per_second']:.1f}",
            f"{g['full']['chunks_per_second']:.1f}",
        ),
        (
            "raw model chunks/s",
            f"{s['raw']['chunks_per_second']:.1f}",
            f"{g['raw']['chunks_per_second']:.1f}",
        ),
        (f"pipeline / raw (target >= {RATIO_TARGET})", f"{s['ratio']:.2f}", f"{g['ratio']:.2f}"),
        (
            "load average as the run ended, full / raw",
            f"{s['full']['load_average']:.1f} / {s['raw']['load_average']:.1f}",
            f"{g['full']['load_average']:.1f} / {g['raw']['load_average']:.1f}",
        ),
        (
            "peak RSS, full ingestion (MB)",
            f"{s['full']['peak_rss_mb']:.0f}",
            f"{g['full']['peak_rss_mb']:.0f}",
        ),
        (
            "peak RSS, raw encode (MB)",
            f"{s['raw']['peak_rss_mb']:.0f}",
            f"{g['raw']['peak_rss_mb']:.0f}",
        ),
    ]
    re_in, cli = results["reingest"], results["reingest_cli"]
    lines = [
        f"| measurement | sample KB | generated KB ({results['articles_generated']} articles) |",
        "|---|---:|---:|",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
        "",
        "| re-ingestion after one changed article (generated KB) | value |",
        "|---|---:|",
        f"| median wall time, model warm, {len(re_in['wall_seconds'])} runs "
        f"(target < {REINGEST_TARGET_SECONDS:.0f} s) | {re_in['median_seconds']:.2f} s |",
        f"| runs | {', '.join(f'{w:.2f}' for w in re_in['wall_seconds'])} s |",
        f"| `supportbot ingest --quiet` end to end (start-up + model load) "
        f"| {cli['wall_seconds']:.1f} s |",
        f"| peak RSS, re-ingestion (MB) | {re_in['peak_rss_mb']:.0f} |",
        "",
        f"model {results['model']}, batch size {results['batch_size']}, {results['cpus']} CPUs, "
        f"load average {results['load_average_start'][0]:.1f} at start, "
        f"{results['load_average_end'][0]:.1f} at end",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from ingest.embed import MINILM_MODEL

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000, help="generated KB size")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    parser.add_argument("--repeats", type=int, default=3, help="re-ingestion repeats")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--model",
        default=MINILM_MODEL,
        help="embedding model (hash-64 for a quick dry run of this script)",
    )
    parser.add_argument("--workdir", type=Path, help="keep the generated KB and indexes here")
    args = parser.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="ingest-speed-"))
    try:
        results = measure(args, work)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    _save(results, args.out)
    print(table(results))
    _log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
