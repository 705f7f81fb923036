"""Chat latency: how long a visitor waits for the bot's reply, against the model's own time.

    python -m benchmarks.chat_latency [--questions benchmarks/questions/sample-kb.csv]
                                      [--n 300] [--out var/bench/latency.json]

One process, a real bundled model (`--model`, default all-MiniLM-L6-v2), loopback only, every
loop bounded:

1. the sample KB index is built with the real model, or reused when the published version's
   content hash already matches (`--index-dir`, default var/index);
2. the raw model: `embedder.embed_queries([q])` per question, p50/p95 (the floor a reply
   cannot beat);
3. in process: `ChatService.visitor_message` for each question in a new conversation (the
   handler's work: language, retrieval, policy, answer, one database transaction);
4. over HTTP: the app under a real uvicorn server on a free 127.0.0.1 port, the same questions
   sent sequentially, one new conversation each; the client's round trip is timed;
5. throughput: `--threads` clients at once for `--concurrent-n` messages in total.

The figure to watch is p50 reply time / p50 encode time (target <= 2x). Progress goes to
stderr; stdout carries a Markdown table; the JSON goes to `--out`.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bot.app import create_app
from bot.config import Settings
from bot.context import AppContext
from bot.schemas import ConversationCreate, MessageCreate
from ingest.embed import MINILM_MODEL, Embedder, make_embedder
from ingest.pipeline import IngestOptions, ingest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_KB = PROJECT_ROOT / "kb_docs"
DEFAULT_QUESTIONS = PROJECT_ROOT / "benchmarks" / "questions" / "sample-kb.csv"
DEFAULT_OUT = Path("var/bench/latency.json")
RATIO_TARGET = 2.0
WARM_UP = 10
MAX_N = 5000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(p95, 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
        "max_ms": round(ordered[-1], 2),
    }


def read_questions(path: Path, n: int) -> list[tuple[str, str]]:
    """`n` (question, lang) pairs, cycling through the file."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [(r["question"].strip(), (r.get("lang") or "").strip() or "en")
                for r in csv.DictReader(handle) if r.get("question", "").strip()]
    if not rows:
        raise SystemExit(f"{path}: no questions")
    return [rows[i % len(rows)] for i in range(n)]


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


# -- the measurements ------------------------------------------------------------------------


def measure_encode(embedder: Embedder, questions: Sequence[tuple[str, str]]) -> dict[str, float]:
    for text, _ in questions[:WARM_UP]:
        embedder.embed_queries([text])
    return percentiles(
        [timed(lambda t=text: embedder.embed_queries([t]))[0] for text, _ in questions]
    )


def measure_in_process(context: AppContext, questions: Sequence[tuple[str, str]]
                       ) -> tuple[dict[str, float], dict[str, int]]:
    chat = context.chat
    kinds: dict[str, int] = {}

    def ask(text: str, lang: str) -> float:
        conversation, token, _ = chat.start(ConversationCreate(locale=lang))
        body = MessageCreate(client_id=uuid.uuid4().hex, text=text)
        elapsed, turn = timed(lambda: chat.visitor_message(conversation.id, token, body))
        kind = turn.reply.kind if turn.reply else "none"
        kinds[kind] = kinds.get(kind, 0) + 1
        return float(elapsed)

    for text, lang in questions[:WARM_UP]:
        ask(text, lang)
    kinds.clear()
    return percentiles([ask(text, lang) for text, lang in questions]), kinds


class Server:
    """uvicorn in a thread on a free loopback port, serving the already warmed context."""

    def __init__(self, context: AppContext):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(context=context), host="127.0.0.1", port=self.port,
                                log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def ask_over_http(client: httpx.Client, text: str, lang: str) -> float:
    """One new conversation (not timed) and one question (timed round trip)."""
    created = client.post("/api/v1/conversations", json={"locale": lang})
    created.raise_for_status()
    data = created.json()
    headers = {"Authorization": f"Bearer {data['token']}"}
    body = {"client_id": uuid.uuid4().hex, "text": text}
    elapsed, response = timed(lambda: client.post(
        f"/api/v1/conversations/{data['id']}/messages", json=body, headers=headers))
    response.raise_for_status()
    return float(elapsed)


def measure_http(url: str, questions: Sequence[tuple[str, str]]) -> dict[str, float]:
    with httpx.Client(base_url=url, timeout=30.0) as client:
        for text, lang in questions[:WARM_UP]:
            ask_over_http(client, text, lang)
        return percentiles([ask_over_http(client, text, lang) for text, lang in questions])


def measure_concurrent(url: str, questions: Sequence[tuple[str, str]], threads: int
                       ) -> dict[str, float]:
    """`threads` clients at once, each with its own connection; messages per second."""
    local = threading.local()

    def ask(item: tuple[str, str]) -> float:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, timeout=60.0)
        return ask_over_http(local.client, *item)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        latencies = list(pool.map(ask, questions))
    seconds = time.perf_counter() - started
    return {**percentiles(latencies), "threads": threads, "seconds": round(seconds, 2),
            "messages_per_second": round(len(questions) / seconds, 2)}


# -- setup and report --------------------------------------------------------------------------


def prepare_index(index_dir: Path, embedder: Embedder) -> dict[str, Any]:
    log(f"index: building or reusing {index_dir} for {SAMPLE_KB} ...")
    report = ingest(IngestOptions(kb_dir=SAMPLE_KB, index_dir=index_dir), embedder)
    return {"dir": str(index_dir), "version": report.version, "reused": not report.published,
            "seconds": round(report.seconds, 2)}


def markdown(result: dict[str, Any]) -> str:
    encode = result["encode"]
    rows = [
        ("model encode, one query", encode, "-"),
        ("in process: ChatService.visitor_message", result["in_process"],
         f"{result['ratio_in_process']:.2f}x"),
        ("HTTP round trip (loopback, sequential)", result["http"],
         f"{result['ratio_http']:.2f}x"),
        (f"HTTP, {result['concurrent']['threads']} clients at once", result["concurrent"],
         f"{result['concurrent']['messages_per_second']:.1f} msg/s"),
    ]
    lines = ["| what | n | p50 ms | p95 ms | vs encode p50 / throughput |",
             "|---|---:|---:|---:|---|"]
    lines += [f"| {name} | {f['n']} | {f['p50_ms']:.2f} | {f['p95_ms']:.2f} | {extra} |"
              for name, f, extra in rows]
    verdict = "met" if result["ratio_in_process"] <= RATIO_TARGET else "MISSED"
    lines.append("")
    lines.append(f"Target: in-process reply p50 <= {RATIO_TARGET:.0f}x encode p50 ({verdict}). "
                 f"Index {result['index']['version']} "
                 f"({'reused' if result['index']['reused'] else 'built'}), "
                 f"replies: {result['reply_kinds']}.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--n", type=int, default=300, help="sequential questions per run")
    parser.add_argument("--threads", type=int, default=4, help="clients in the concurrent run")
    parser.add_argument("--concurrent-n", type=int, default=200,
                        help="messages in the concurrent run, all clients together")
    parser.add_argument("--index-dir", type=Path, default=Path("var/index"))
    parser.add_argument("--model", default=MINILM_MODEL,
                        help="embedding model (multilingual-e5-small is the product default)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    n = max(1, min(args.n, MAX_N))
    concurrent_n = max(1, min(args.concurrent_n, MAX_N))
    threads = max(1, min(args.threads, 32))

    questions = read_questions(args.questions, n)
    # Serving settings: torch on one thread per query, as `supportbot serve` runs it.
    embedder = make_embedder(args.model, threads=1)
    log("model: loading ...")
    embedder.warm_up()
    index = prepare_index(args.index_dir, embedder)

    with tempfile.TemporaryDirectory(prefix="supportbot-bench-") as tmp:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, environment="test", kb_dir=SAMPLE_KB, index_dir=args.index_dir,
            database_url=f"sqlite:///{tmp}/bench.sqlite3", embedding_model=args.model,
            rate_limit_per_minute=1_000_000, business_hours="Mon-Sun 00:00-23:59",
        )
        context = AppContext.build(settings, embedder=embedder)
        context.warm_up()
        log(f"encode: {n} single queries ...")
        encode = measure_encode(embedder, questions)
        log(f"in process: {n} questions ...")
        in_process, kinds = measure_in_process(context, questions)
        with Server(context) as server:
            log(f"http: {n} questions at {server.url} ...")
            http = measure_http(server.url, questions)
            log(f"http: {concurrent_n} questions from {threads} clients ...")
            concurrent = measure_concurrent(server.url, read_questions(args.questions,
                                                                       concurrent_n), threads)

    result = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "model": embedder.name,
        "questions": str(args.questions),
        "index": index,
        "encode": encode,
        "in_process": in_process,
        "http": http,
        "concurrent": concurrent,
        "reply_kinds": kinds,
        "ratio_in_process": round(in_process["p50_ms"] / encode["p50_ms"], 2),
        "ratio_http": round(http["p50_ms"] / encode["p50_ms"], 2),
        "ratio_target": RATIO_TARGET,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(markdown(result))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
