"""Dense search at scale: exact (flat) against IVF as `ingest.dense.build_dense` builds them,
and HNSW for comparison.

    python -m benchmarks.index_scale [--sizes 10000,100000,500000] [--queries 300]
                                     [--nprobe 16,32,64,128] [--hnsw-max 30000]
                                     [--out var/bench/index_scale.json]

For each size: generated vectors of the real dimension (384), build time per index type,
single-query search p50/p95 (one query at a time, one FAISS thread: a busy server answers many
requests at once, so a query gets no cores to itself), and recall@10 against exact search.

The vectors are not uniform noise (no index can beat a scan on that, and no knowledge base
looks like it): each belongs to a topic (about 50 chunks a topic, cosine ~0.5 within one, ~0
across), and each query lies near one chunk, as a visitor's question lies near the passage that
answers it. Everything is seeded: the same command gives the same vectors.

Progress goes to stderr; stdout carries a Markdown table; the JSON goes to `--out`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from ingest.dense import (
    EXACT_MAX_CHUNKS,
    IVF_NPROBE,
    IVF_RECALL_TARGET,
    build_dense,
    dense_type_for,
    ivf_lists,
)

DIMENSION = 384
CHUNKS_PER_TOPIC = 50
K = 10


def generate(
    n: int, queries: int, *, dimension: int = DIMENSION, seed: int = 7
) -> tuple[np.ndarray, np.ndarray]:
    """`n` unit chunk vectors in topics, and `queries` unit vectors each near one chunk."""
    rng = np.random.default_rng(seed)
    topics = _unit(rng.standard_normal((max(1, n // CHUNKS_PER_TOPIC), dimension), np.float32))
    data = np.empty((n, dimension), dtype=np.float32)
    for start in range(0, n, 50_000):  # in blocks: the temporaries of 500k rows add up
        stop = min(n, start + 50_000)
        topic = rng.integers(0, len(topics), stop - start)
        noise = _unit(rng.standard_normal((stop - start, dimension), np.float32))
        data[start:stop] = _unit(topics[topic] + noise)
    near = rng.integers(0, n, queries)
    noise = _unit(rng.standard_normal((queries, dimension), np.float32))
    return data, _unit(data[near] + 0.6 * noise)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def search_times(index: Any, queries: np.ndarray, k: int) -> tuple[list[float], np.ndarray]:
    """Milliseconds per single-query search, and the rows found."""
    times, found = [], np.empty((len(queries), k), dtype=np.int64)
    for i in range(len(queries)):
        t0 = time.perf_counter()
        _, rows = index.search(queries[i : i + 1], k)
        times.append((time.perf_counter() - t0) * 1000)
        found[i] = rows[0]
    return times, found


def recall(found: np.ndarray, truth: np.ndarray, k: int = K) -> float:
    hits = sum(len(set(f[:k]) & set(t[:k])) for f, t in zip(found, truth, strict=True))
    return hits / (k * len(truth))


def measure(n: int, queries: int, nprobes: list[int], hnsw_max: int) -> list[dict[str, Any]]:
    data, q = generate(n, queries)
    rows: list[dict[str, Any]] = []
    flat, _ = _build(n, "flat", lambda: build_dense(data, DIMENSION, "flat")[0])
    times, truth = search_times(flat, q, K)
    rows.append(_row(n, "flat", None, flat.build_seconds, times, 1.0))
    del flat
    ivf, _ = _build(n, "ivf", lambda: build_dense(data, DIMENSION, "ivf")[0])
    tuned = ivf.nprobe  # what ingestion picked for this data (`_nprobe_for_recall`)
    for nprobe in sorted({tuned, *nprobes}):
        ivf.nprobe = nprobe
        times, found = search_times(ivf, q, K)
        row = _row(n, "ivf", nprobe, ivf.build_seconds, times, recall(found, truth))
        row["chosen"] = row["chosen"] and nprobe == tuned
        rows.append(row)
    del ivf
    if n <= hnsw_max:  # for comparison only: ingestion does not build it
        hnsw, _ = _build(n, "hnsw", lambda: _hnsw(data))
        times, found = search_times(hnsw, q, K)
        rows.append(_row(n, "hnsw", 128, hnsw.build_seconds, times, recall(found, truth)))
    return rows


class _Timed:
    """A built index and how long it took."""

    def __init__(self, index: Any, seconds: float):
        self.index, self.build_seconds = index, seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(self.index, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("index", "build_seconds"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.index, name, value)


def _build(n: int, kind: str, make: Any) -> tuple[_Timed, None]:
    _log(f"{n:,} chunks: building {kind}")
    faiss.omp_set_num_threads(_cores())  # building may use every core
    t0 = time.perf_counter()
    index = make()
    seconds = time.perf_counter() - t0
    faiss.omp_set_num_threads(1)
    return _Timed(index, seconds), None


def _hnsw(data: np.ndarray) -> Any:
    index = faiss.IndexHNSWFlat(DIMENSION, 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.add(data)
    index.hnsw.efSearch = 128
    return index


def _row(
    n: int, kind: str, param: int | None, build: float, times: list[float], rec: float
) -> dict[str, Any]:
    qs = statistics.quantiles(times, n=20)
    return {
        "chunks": n,
        "type": kind,
        "nprobe_or_ef": param,
        "build_seconds": round(build, 2),
        "search_p50_ms": round(statistics.median(times), 3),
        "search_p95_ms": round(qs[18], 3),
        "recall_at_10": round(rec, 4),
        "chosen": dense_type_for(n) == kind,
    }


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,500000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--nprobe", default="16,32,64,128")
    parser.add_argument("--hnsw-max", type=int, default=30_000, help="HNSW up to this size")
    parser.add_argument("--out", type=Path, default=Path("var/bench/index_scale.json"))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    nprobes = [int(s) for s in args.nprobe.split(",")]
    rows = [row for n in sizes for row in measure(n, args.queries, nprobes, args.hnsw_max)]
    print(
        f"exact search up to {EXACT_MAX_CHUNKS:,} chunks, IVF beyond ({ivf_lists(100_000)} lists "
        f"at 100,000; nprobe from {IVF_NPROBE}, doubled at build time until recall@10 on the "
        f"indexed vectors >= {IVF_RECALL_TARGET}); `*` marks what ingestion builds\n"
    )
    print("| chunks | index | nprobe / ef | build s | search p50 ms | p95 ms | recall@10 |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        mark = " *" if r["chosen"] else ""
        print(
            f"| {r['chunks']:,} | {r['type']}{mark} | {r['nprobe_or_ef'] or '-'} | "
            f"{r['build_seconds']} | {r['search_p50_ms']} | {r['search_p95_ms']} | "
            f"{r['recall_at_10']} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"dimension": DIMENSION, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
