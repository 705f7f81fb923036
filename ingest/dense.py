"""The dense (vector) index of a version: exact search while it is fast enough, an inverted-file
index (IVF) beyond, with its search parameters measured on the data. `ingest.store` writes and
loads it with the other files of a version; this module only builds and tunes it.
"""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np

from ingest.embed import Vectors

# Exact search costs time in proportion to the chunks (at 100,000 about 50x IVF's time on this
# machine); past this many, an inverted-file index (IVF: vectors bucketed by k-means, a query
# scans the `nprobe` nearest buckets) keeps recall@10 >= 0.98. IVF rather than HNSW because
# every publish rebuilds the dense index and IVF builds several times faster. At 500,000
# generated chunks IVF needs most buckets for the recall (README, "Large knowledge bases").
EXACT_MAX_CHUNKS = 20_000
IVF_NPROBE = 64  # the least buckets scanned; more where the data needs them for the recall
IVF_RECALL_TARGET = 0.99  # recall@10 against exact search, on chunks of the index as queries
_IVF_TRAIN_PER_LIST = 40  # k-means sees this many vectors a bucket: enough for stable buckets


def dense_type_for(chunks: int) -> str:
    """Exact search while it is fast enough, IVF beyond."""
    return "flat" if chunks <= EXACT_MAX_CHUNKS else "ivf"


def ivf_lists(chunks: int) -> int:
    """Buckets for an IVF index of `chunks` vectors: about 2 sqrt(N) (~50 vectors per list at
    10^5 and ~350 at 5 10^5), so the coarse scan and the bucket scans stay balanced."""
    return max(16, round(2 * chunks**0.5))


def build_dense(vectors: Vectors, dimension: int, kind: str) -> tuple[Any, dict[str, Any]]:
    """A FAISS inner-product index of `kind` ("flat" or "ivf") over `vectors`, and how it was
    built (for the manifest, which `load_version` reads back)."""
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    if kind == "flat":
        dense: Any = faiss.IndexFlatIP(dimension)
        info: dict[str, Any] = {"type": "flat"}
    elif kind == "ivf":
        lists = min(ivf_lists(len(data)), max(1, len(data)))  # k-means needs a vector a list
        dense = faiss.IndexIVFFlat(
            faiss.IndexFlatIP(dimension), dimension, lists, faiss.METRIC_INNER_PRODUCT
        )
        dense.cp.niter = 10
        # Seeded sample: the same vectors give the same buckets.
        rng = np.random.default_rng(0)
        train = min(len(data), lists * _IVF_TRAIN_PER_LIST)
        dense.train(data[np.sort(rng.choice(len(data), train, replace=False))])
        info = {"type": "ivf", "lists": lists, "nprobe": min(IVF_NPROBE, lists)}
    else:
        raise ValueError(f"unknown dense index type {kind!r} (flat or ivf)")
    if len(data):
        dense.add(data)
    if kind == "ivf":
        info["nprobe"], info["recall_at_10"] = _nprobe_for_recall(dense, data, info["nprobe"])
    tune_dense(dense, info)
    return dense, info


def _nprobe_for_recall(dense: Any, data: Vectors, start: int) -> tuple[int, float]:
    """The fewest buckets to scan (from `start`, doubling) for recall@10 >= IVF_RECALL_TARGET
    on a seeded sample of the indexed vectors as queries: how well buckets fit depends on the
    data, so it is measured on the data rather than assumed."""
    rng = np.random.default_rng(1)
    queries = data[rng.choice(len(data), min(200, len(data)), replace=False)]
    k = min(10, len(data))
    _, exact = faiss.knn(queries, data, k, metric=faiss.METRIC_INNER_PRODUCT)
    nprobe, lists = start, dense.nlist
    while True:
        dense.nprobe = nprobe
        _, found = dense.search(queries, k)
        hits = sum(len(set(a) & set(b)) for a, b in zip(found, exact, strict=True))
        recall = hits / exact.size
        if recall >= IVF_RECALL_TARGET or nprobe >= lists:
            return nprobe, round(recall, 4)
        nprobe = min(lists, nprobe * 2)


def tune_dense(dense: Any, info: dict[str, Any]) -> None:
    """Search parameters are not in FAISS's file; the manifest carries them."""
    if info.get("type") == "ivf":
        dense.nprobe = int(info["nprobe"])
        dense.make_direct_map()  # rows by id, for `IndexVersion.vectors`
