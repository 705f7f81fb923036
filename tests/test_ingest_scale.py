"""Large knowledge bases: the dense index type follows the size and is read back from the
manifest; BM25 is built from word counts, and a publish copies the counts of unchanged chunks
instead of counting every chunk again."""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np
import pytest

from ingest import lexical
from ingest.dense import EXACT_MAX_CHUNKS, build_dense, dense_type_for
from ingest.embed import HashEmbedder
from ingest.lexical import TermCounts, bm25_from_counts, tokenize
from ingest.store import IndexCorrupt, load_version, write_version
from tests.factories import run_ingest, write_article

TEXTS = [
    "Send parcels back within thirty days for a refund.",
    "Parcels arrive in two to four days; express parcels arrive tomorrow.",
    "",
    "Reset your password from the login page.",
    "Refund refund refund: money back to the card you paid with.",
]


def _kb(kb: Path, articles: int = 12) -> None:
    for i in range(articles):
        write_article(
            kb,
            f"en/a{i:02d}.md",
            title=f"Topic {i}",
            body=f"# Topic {i}\nParcel {i} words about item{i} and refunds.\n",
        )
    write_article(kb, "de/rueck.md", title="Rücksendung", body="Rücksendung binnen 30 Tagen.")


def test_the_index_type_follows_the_size() -> None:
    assert dense_type_for(1_000) == "flat"
    assert dense_type_for(EXACT_MAX_CHUNKS) == "flat"
    assert dense_type_for(EXACT_MAX_CHUNKS + 1) == "ivf"


def test_ivf_finds_what_exact_search_finds() -> None:
    rng = np.random.default_rng(3)
    data = rng.standard_normal((3000, 32)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    queries = data[:50] + 0.05 * rng.standard_normal((50, 32)).astype(np.float32)
    flat, _ = build_dense(data, 32, "flat")
    ivf, info = build_dense(data, 32, "ivf")
    assert info["type"] == "ivf" and ivf.nprobe == info["nprobe"]
    assert info["recall_at_10"] >= 0.99  # measured at build time, nprobe raised until it holds
    _, exact = flat.search(queries, 10)
    _, found = ivf.search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, found, strict=True)])
    assert recall >= 0.98
    np.testing.assert_allclose(ivf.reconstruct_n(0, 5), data[:5])


def test_the_manifest_records_the_index_type_and_loading_follows_it(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    _kb(kb)
    run_ingest(kb, tmp_path / "index")
    small = load_version(tmp_path / "index")
    assert small.manifest["dense"] == {"type": "flat"}

    # The same version written as IVF (as a knowledge base past EXACT_MAX_CHUNKS would be).
    name = write_version(
        tmp_path / "index",
        articles=list(small.articles.values()),
        chunks=small.chunks,
        vectors=small.vectors(),
        manifest={k: small.manifest[k] for k in ("model", "dimension", "content_hash")},
        dense_type="ivf",
    )
    big = load_version(tmp_path / "index", name)
    assert big.manifest["dense"]["type"] == "ivf"
    assert big.dense.nprobe == big.manifest["dense"]["nprobe"]  # not FAISS's default of 1
    np.testing.assert_allclose(big.vectors(), small.vectors(), atol=1e-6)
    query = HashEmbedder(64).embed_queries(["Parcel 7 words about item7"])
    _, rows = big.dense.search(query, 1)
    assert big.chunks[rows[0][0]].article_id == "en/a07"

    manifest = json.loads((big.path / "manifest.json").read_text())
    manifest["dense"] = {"type": "flat"}
    (big.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorrupt, match="not the flat index"):
        load_version(tmp_path / "index", name)


def test_bm25_from_counts_scores_as_bm25s_does() -> None:
    tokens = [tokenize(t, "en") for t in TEXTS]
    reference = bm25s.BM25()
    reference.index([t or [""] for t in tokens], show_progress=False)
    ours = bm25_from_counts(TermCounts.count(tokens))
    for query in ("parcels arrive", "refund money", "password login", "thirty days refund"):
        words = tokenize(query, "en")
        np.testing.assert_allclose(
            ours.get_scores(words), reference.get_scores(words), rtol=1e-5, atol=1e-6
        )


def test_a_publish_counts_only_the_changed_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = tmp_path / "kb"
    _kb(kb)
    run_ingest(kb, tmp_path / "index")
    first = load_version(tmp_path / "index")

    counted: list[int] = []
    real_count = TermCounts.count.__func__  # type: ignore[attr-defined]

    def spy(cls: type[TermCounts], docs: list[list[str]], words: list[str] = ()) -> TermCounts:
        counted.append(len(docs))
        return real_count(cls, docs, words)

    monkeypatch.setattr(lexical.TermCounts, "count", classmethod(spy))
    write_article(
        kb,
        "en/a03.md",
        title="Topic 3",
        body="# Topic 3\nGift cards never expire and work in every shop.\n",
    )
    report = run_ingest(kb, tmp_path / "index")
    monkeypatch.undo()
    changed = [c for c in load_version(tmp_path / "index").chunks if c.article_id == "en/a03"]
    assert report.changed == ["en/a03"]
    # Per language one call: English counts the changed article's chunks only, German none.
    assert sorted(counted) == [0, len(changed)]
    assert len(first.chunks) > 2 * len(changed)

    # ... and the result is the index a build from scratch gives.
    run_ingest(kb, tmp_path / "full")
    incremental = load_version(tmp_path / "index")
    full = load_version(tmp_path / "full")
    for lang, query in (
        ("en", "gift cards expire"),
        ("en", "parcel refunds item5"),
        ("de", "rücksendung tagen"),
    ):
        rows_a, scores_a = incremental.lexical[lang].scores(query)
        rows_b, scores_b = full.lexical[lang].scores(query)
        assert rows_a.tolist() == rows_b.tolist()
        np.testing.assert_allclose(scores_a, scores_b, rtol=1e-6)
    # Words only the old text had are gone from the vocabulary (no typo match on them).
    assert "item3" not in incremental.lexical["en"].vocabulary
