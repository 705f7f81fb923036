"""Load: many visitors at once against a real `supportbot serve`, measured against the model.

    python -m benchmarks.load [--model all-MiniLM-L6-v2] [--seconds 60] [--visitors 64]
                              [--scenarios single,realistic,saturating,sse] [--sse 2000]
                              [--repeat 1] [--out var/bench/load.json]

What it does, every loop bounded, loopback only:

1. builds (or reuses) the sample KB's index for `--model` under var/bench/load-index/;
2. measures the model here, in this process, on one torch thread as the server runs it: one
   question at a time (p50 ms) and batches of 32 (questions/s). These are the yardsticks: on a
   busy machine every figure below moves with them, so the ratios are what to compare;
3. for each scenario starts the server as its own process (`python -m bot.cli serve`, a fresh
   SQLite database), times it until `/readyz` answers 200, and drives it from this process:
   - `single`: one visitor asking one question after another (p50 vs one encode);
   - `realistic`: `--visitors` visitors, each with one conversation, an open SSE stream,
     5 questions 2-5 s apart and a thumbs up or down on some replies; DEFAULT rate limits,
     so any refusal (429) is a finding, not the benchmark's doing;
   - `saturating`: the same visitors with no pause between questions, rate limits raised by
     setting: the server's capacity (replies/s vs the batched encode rate);
   - `sse`: `--sse` event streams opened and held; the server's memory with all of them open;
4. reports replies/s, p50/p95/p99 reply latency, errors by status, and the server's CPU
   (cores busy) and peak memory (VmHWM), read from /proc.

Progress goes to stderr, a Markdown table to stdout, the JSON to `--out`.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ingest.embed import BUNDLED_MODEL, Embedder, make_embedder
from ingest.pipeline import IngestOptions, ingest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_KB = PROJECT_ROOT / "kb_docs"
QUESTIONS = PROJECT_ROOT / "benchmarks" / "questions" / "sample-kb.csv"
SCENARIOS = ("single", "realistic", "saturating", "sse")
QUESTIONS_PER_VISITOR = 5
THINK_SECONDS = (2.0, 5.0)
THUMBS_SHARE = 0.3
BATCH = 32
RAISED_LIMIT = "1000000"
READY_TIMEOUT = 900.0  # a machine shared by many can take minutes
REQUEST_TIMEOUT = 60.0

TARGETS = {
    "throughput_vs_batched_rate": 0.6,  # replies/s at 64 visitors >= 0.6 x batched encodes/s
    "p95_vs_single_encode": 10.0,  # p95 at 64 visitors <= 10 x one encode
    "single_p50_vs_single_encode": 2.0,  # one visitor's p50 <= 2 x one encode
    "sse_connections": 2000,
    "sse_memory_mb": 1024,
    "ready_seconds": 8.0,
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def read_questions(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [
            (row["question"].strip(), (row.get("lang") or "en").strip() or "en")
            for row in csv.DictReader(handle)
            if row.get("question", "").strip()
        ]


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- the model's own rates ----------------------------------------------------------------------


def measure_model(embedder: Embedder, questions: Sequence[tuple[str, str]]) -> dict[str, float]:
    """One question at a time (p50 ms) and batches of `BATCH` (questions/s), one thread."""
    texts = [q for q, _ in questions]
    for text in texts[:10]:
        embedder.embed_queries([text])
    singles = []
    for text in texts[:200]:
        started = time.perf_counter()
        embedder.embed_queries([text])
        singles.append((time.perf_counter() - started) * 1000)
    rates = []
    for round_ in range(5):
        batch = [texts[(round_ * BATCH + i) % len(texts)] for i in range(BATCH * 4)]
        started = time.perf_counter()
        for start in range(0, len(batch), BATCH):
            embedder.embed_queries(batch[start : start + BATCH], batch_size=BATCH)
        rates.append(len(batch) / (time.perf_counter() - started))
    return {
        "single_p50_ms": round(statistics.median(singles), 2),
        "single_per_second": round(1000 / statistics.median(singles), 1),
        "batched_per_second": round(statistics.median(rates), 1),
    }


# -- the server, in its own process -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """`python -m bot.cli serve` with its own settings; CPU and memory read from /proc."""

    def __init__(self, env: dict[str, str], workdir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env, "PYTHONPATH": str(PROJECT_ROOT)}
        self.log_path = workdir / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.ready_seconds = float("nan")

    def __enter__(self) -> ServerProcess:
        started = time.monotonic()
        command = [sys.executable, "-c", "from bot.cli import main; main()", "serve",
                   "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                command,
                env=self.env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT,
            )
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() - started < READY_TIMEOUT:
                if self.process.poll() is not None:
                    tail = self.log_path.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"the server exited:\n{tail}")
                try:
                    if client.get(f"{self.url}/readyz").status_code == 200:
                        self.ready_seconds = time.monotonic() - started
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"the server was not ready in {READY_TIMEOUT:.0f} s")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def cpu_seconds(self) -> float:
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_mb(self) -> dict[str, float]:
        assert self.process is not None
        values = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = round(int(rest.split()[0]) / 1024, 1)
        return {"rss_mb": values.get("VmRSS", 0.0), "peak_mb": values.get("VmHWM", 0.0)}


# -- visitors -----------------------------------------------------------------------------------


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    conversations: int = 0
    sse_events: int = 0
    thumbs: int = 0

    def status(self, where: str, code: int | str) -> None:
        if code not in (200, 201, 204):
            self.statuses[f"{where} {code}"] += 1


async def sse_reader(client: httpx.AsyncClient, url: str, tally: Tally) -> None:
    """Hold a conversation's event stream open, counting its events, as the widget does."""
    try:
        async with client.stream("GET", url, timeout=None) as response:
            tally.status("events", response.status_code)
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    tally.sse_events += 1
    except (httpx.HTTPError, asyncio.CancelledError):
        return


async def visitor(
    client: httpx.AsyncClient,
    questions: Sequence[tuple[str, str]],
    tally: Tally,
    *,
    until: float,
    pace: bool,
    sse: bool,
    rng: random.Random,
) -> None:
    """One visitor after another in this slot: a conversation, its SSE stream, five questions,
    some thumbs; until the time is up."""
    while time.monotonic() < until:
        question, lang = questions[rng.randrange(len(questions))]
        try:
            created = await client.post("/api/v1/conversations", json={"locale": lang})
        except httpx.HTTPError as exc:
            tally.status("create", type(exc).__name__)
            await asyncio.sleep(0.5)
            continue
        tally.status("create", created.status_code)
        if created.status_code != 201:
            await asyncio.sleep(1.0)
            continue
        tally.conversations += 1
        data = created.json()
        path = f"/api/v1/conversations/{data['id']}"
        headers = {"Authorization": f"Bearer {data['token']}"}
        reader = None
        if sse:
            reader = asyncio.create_task(
                sse_reader(client, f"{path}/events?access_token={data['token']}", tally)
            )
        for n in range(QUESTIONS_PER_VISITOR):
            if time.monotonic() >= until:
                break
            if n:
                question, _ = questions[rng.randrange(len(questions))]
            body = {"client_id": uuid.uuid4().hex, "text": question}
            started = time.perf_counter()
            try:
                response = await client.post(f"{path}/messages", json=body, headers=headers)
            except httpx.HTTPError as exc:
                tally.status("message", type(exc).__name__)
                continue
            elapsed = (time.perf_counter() - started) * 1000
            tally.status("message", response.status_code)
            if response.status_code == 200:
                reply = response.json().get("reply")
                if reply is not None:
                    tally.latencies_ms.append(elapsed)
                    tally.kinds[reply["kind"]] += 1
                    if rng.random() < THUMBS_SHARE:
                        tally.thumbs += 1
                        thumbs = await client.post(
                            f"{path}/feedback", headers=headers,
                            json={"message_id": reply["id"], "helpful": rng.random() < 0.7},
                        )
                        tally.status("feedback", thumbs.status_code)
            if pace:
                await asyncio.sleep(rng.uniform(*THINK_SECONDS))
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)


async def drive(url: str, questions: Sequence[tuple[str, str]], *, visitors: int, seconds: float,
                pace: bool, sse: bool, server: ServerProcess) -> dict[str, Any]:
    tally = Tally()
    limits = httpx.Limits(max_connections=visitors * 2 + 10, max_keepalive_connections=visitors * 2)
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT, limits=limits) as client:
        cpu_before = server.cpu_seconds()
        started = time.monotonic()
        until = started + seconds
        rng = random.Random(14)  # a repeatable mix
        await asyncio.gather(*(
            visitor(client, questions, tally, until=until, pace=pace, sse=sse,
                    rng=random.Random(rng.random()))
            for _ in range(visitors)
        ))
        wall = time.monotonic() - started
        cpu = server.cpu_seconds() - cpu_before
        batching = await encoder_batches(client)
    latencies = tally.latencies_ms
    return {
        "visitors": visitors,
        "seconds": round(wall, 1),
        "replies": len(latencies),
        "replies_per_second": round(len(latencies) / wall, 2),
        "p50_ms": round(pct(latencies, 0.5), 1),
        "p95_ms": round(pct(latencies, 0.95), 1),
        "p99_ms": round(pct(latencies, 0.99), 1),
        "errors": dict(tally.statuses),
        "refusals_429": sum(v for k, v in tally.statuses.items() if k.endswith(" 429")),
        "reply_kinds": dict(tally.kinds),
        "conversations": tally.conversations,
        "thumbs": tally.thumbs,
        "sse_events": tally.sse_events,
        "server_cpu_cores": round(cpu / wall, 2),
        **server.memory_mb(),
        **batching,
    }


async def encoder_batches(client: httpx.AsyncClient) -> dict[str, float]:
    """From the server's `/metrics`: how many questions its encoder took per batch (since
    start), and its mean encode time per batch."""
    from prometheus_client.parser import text_string_to_metric_families

    response = await client.get("/metrics")
    if response.status_code != 200:
        return {}
    values = {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if not sample.labels
    }
    batches = values.get("supportbot_query_encode_batch_size_count", 0.0)
    if not batches:
        return {}
    return {
        "encoder_batches": int(batches),
        "mean_batch_size": round(values["supportbot_query_encode_batch_size_sum"] / batches, 2),
        "mean_batch_encode_ms": round(
            1000 * values["supportbot_query_encode_seconds_sum"] / batches, 1),
    }


async def hold_streams(url: str, n: int, server: ServerProcess) -> dict[str, Any]:
    """Open `n` event streams (raw sockets: a client this light does not need a library) and
    read the server's memory once all of them are open."""
    host, port = "127.0.0.1", server.port
    tokens: list[tuple[str, str]] = []
    statuses: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT) as client:
        semaphore = asyncio.Semaphore(32)

        async def create() -> None:
            async with semaphore:
                response = await client.post("/api/v1/conversations", json={})
                if response.status_code == 201:
                    data = response.json()
                    tokens.append((data["id"], data["token"]))
                else:
                    statuses[f"create {response.status_code}"] += 1

        await asyncio.gather(*(create() for _ in range(n)))
    memory_before = server.memory_mb()
    writers = []

    async def open_stream(conversation_id: str, token: str) -> None:
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(
                f"GET /api/v1/conversations/{conversation_id}/events?access_token={token} "
                f"HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode()
            )
            await writer.drain()
            status_line = await asyncio.wait_for(reader.readline(), REQUEST_TIMEOUT)
            code = status_line.split()[1].decode() if status_line else "closed"
            statuses[f"events {code}"] += 1
            writers.append(writer)
        except (OSError, TimeoutError) as exc:
            statuses[f"events {type(exc).__name__}"] += 1

    started = time.monotonic()
    for start in range(0, len(tokens), 100):
        await asyncio.gather(*(open_stream(c, t) for c, t in tokens[start : start + 100]))
    opened = time.monotonic() - started
    await asyncio.sleep(2.0)
    held = server.memory_mb()
    for writer in writers:
        writer.close()
    return {
        "requested": n,
        "open": statuses.get("events 200", 0),
        "statuses": dict(statuses),
        "open_seconds": round(opened, 1),
        "memory_before_mb": memory_before["rss_mb"],
        "memory_held_mb": held["rss_mb"],
        "peak_mb": held["peak_mb"],
    }


# -- a run --------------------------------------------------------------------------------------


def server_env(model: str, index_dir: Path, workdir: Path, *, raised: bool) -> dict[str, str]:
    env = {
        "SUPPORTBOT_ENVIRONMENT": "development",
        "SUPPORTBOT_EMBEDDING_MODEL": model,
        "SUPPORTBOT_INDEX_DIR": str(index_dir),
        "SUPPORTBOT_KB_DIR": str(SAMPLE_KB),
        "SUPPORTBOT_DATABASE_URL": f"sqlite:///{workdir}/load-{uuid.uuid4().hex[:8]}.sqlite3",
        "SUPPORTBOT_BUSINESS_HOURS": "Mon-Sun 00:00-23:59",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    if raised:
        env.update({
            "SUPPORTBOT_RATE_LIMIT_PER_MINUTE": RAISED_LIMIT,
            "SUPPORTBOT_CONVERSATIONS_PER_MINUTE_PER_ADDRESS": RAISED_LIMIT,
            "SUPPORTBOT_MESSAGES_PER_MINUTE_PER_ADDRESS": RAISED_LIMIT,
        })
    return env


def run_group(names: Sequence[str], args: argparse.Namespace, index_dir: Path, workdir: Path,
              questions: Sequence[tuple[str, str]], *, raised: bool) -> dict[str, Any]:
    """Scenarios that share their rate limits run against one server start."""
    out: dict[str, Any] = {}
    env = server_env(args.model, index_dir, workdir, raised=raised)
    with ServerProcess(env, workdir) as server:
        log(f"  server ({'raised' if raised else 'default'} limits) ready in "
            f"{server.ready_seconds:.1f} s")
        for name in names:
            if name == "sse":
                result = asyncio.run(hold_streams(server.url, args.sse, server))
            else:
                visitors = 1 if name == "single" else args.visitors
                seconds = min(args.seconds, 20.0) if name == "single" else args.seconds
                result = asyncio.run(drive(
                    server.url, questions, visitors=visitors, seconds=seconds,
                    pace=name == "realistic", sse=name == "realistic", server=server,
                ))
            out[name] = {"ready_seconds": round(server.ready_seconds, 2), **result}
            log(f"  {name}: {json.dumps(out[name])}")
    return out


def ratios(model: dict[str, float], runs: dict[str, dict[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    if "single" in runs:
        out["single_p50_vs_single_encode"] = round(
            runs["single"]["p50_ms"] / model["single_p50_ms"], 2)
    if "saturating" in runs:
        out["throughput_vs_batched_rate"] = round(
            runs["saturating"]["replies_per_second"] / model["batched_per_second"], 3)
        out["p95_vs_single_encode"] = round(
            runs["saturating"]["p95_ms"] / model["single_p50_ms"], 1)
    return out


def median_run(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per scenario the run with the median replies/s (or median memory for SSE), so its
    figures belong together."""
    key = "replies_per_second" if "replies_per_second" in results[0] else "memory_held_mb"
    ordered = sorted(results, key=lambda r: r[key])
    return ordered[len(ordered) // 2]


def markdown(result: dict[str, Any]) -> str:
    model, runs, r = result["model_rates"], result["runs"], result["ratios"]
    lines = [
        f"model {result['model']}: one query {model['single_p50_ms']} ms p50, "
        f"batched {model['batched_per_second']} questions/s (one thread); "
        f"load average {result['load_average']}; medians of {result['repeat']} run(s)",
        "",
        "| scenario | visitors | replies/s | p50 ms | p95 ms | p99 ms | errors | 429s | "
        "server CPU cores | peak MB | ready s |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for name in ("single", "realistic", "saturating"):
        if name in runs:
            x = runs[name]
            lines.append(
                f"| {name} | {x['visitors']} | {x['replies_per_second']} | {x['p50_ms']} | "
                f"{x['p95_ms']} | {x['p99_ms']} | {x['errors'] or 0} | {x['refusals_429']} | "
                f"{x['server_cpu_cores']} | {x['peak_mb']} | {x['ready_seconds']} |")
    if "sse" in runs:
        x = runs["sse"]
        lines += ["", f"SSE: {x['open']} of {x['requested']} streams open, server RSS "
                  f"{x['memory_before_mb']} MB before, {x['memory_held_mb']} MB held "
                  f"(peak {x['peak_mb']} MB); {x['statuses']}"]
    lines += ["", "| ratio | value | target |", "|---|---:|---|"]
    signs = {"throughput_vs_batched_rate": ">=", "p95_vs_single_encode": "<=",
             "single_p50_vs_single_encode": "<="}
    for key, value in r.items():
        lines.append(f"| {key} | {value} | {signs[key]} {TARGETS[key]} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--model", default=BUNDLED_MODEL,
                        help="the embedding model the server uses (SUPPORTBOT_EMBEDDING_MODEL)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--visitors", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--sse", type=int, default=2000, help="streams in the sse scenario")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("var/bench/load.json"))
    args = parser.parse_args(argv)
    args.visitors = max(1, min(args.visitors, 1000))
    args.seconds = max(5.0, min(args.seconds, 600.0))
    args.sse = max(1, min(args.sse, 10_000))
    args.repeat = max(1, min(args.repeat, 9))
    names = [s for s in args.scenarios.split(",") if s]
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    questions = read_questions(QUESTIONS)
    embedder = make_embedder(args.model, threads=1)
    log(f"model {args.model}: loading ...")
    embedder.warm_up()
    index_dir = Path("var/bench/load-index") / args.model.replace("/", "_")
    log(f"index: building or reusing {index_dir} ...")
    ingest(IngestOptions(kb_dir=SAMPLE_KB, index_dir=index_dir), embedder)

    model_rates: list[dict[str, float]] = []
    collected: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="supportbot-load-") as tmp:
        for round_ in range(args.repeat):
            log(f"round {round_ + 1}/{args.repeat}: the model alone ...")
            model_rates.append(measure_model(embedder, questions))
            log(f"  {model_rates[-1]}")
            for raised in (False, True):
                group = [n for n in names if (n in ("saturating", "sse")) == raised]
                if group:
                    found = run_group(group, args, index_dir.resolve(), Path(tmp), questions,
                                      raised=raised)
                    for name, result in found.items():
                        collected[name].append(result)
    model = {key: round(statistics.median(m[key] for m in model_rates), 2)
             for key in model_rates[0]}
    runs = {name: median_run(results) for name, results in collected.items()}
    result = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model": args.model,
        "cpus": os.cpu_count(),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "repeat": args.repeat,
        "model_rates": model,
        "model_rates_each": model_rates,
        "runs": runs,
        "runs_each": collected,
        "ratios": ratios(model, runs),
        "targets": TARGETS,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(markdown(result))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
