"""Incremental ingestion: only what changed is embedded again, deleted articles leave the index,
an unchanged knowledge base publishes nothing, and a new model means a full rebuild."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.embed import HashEmbedder
from ingest.store import IndexVersion, current_version, list_versions, load_version
from tests.factories import CountingEmbedder, run_ingest, write_article, write_faq


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    write_article(
        kb,
        "en/returns.md",
        id="returns",
        title="Returns",
        questions=["Can I send it back?"],
        body="Within 30 days.\n\n## Label\n\nFree.\n",
    )
    write_article(kb, "en/shipping.md", id="shipping", title="Shipping", body="Two days.\n")
    write_article(kb, "de/versand.md", id="versand", title="Versand", body="Zwei Tage.\n")
    return kb


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


def vectors_by_chunk(version: IndexVersion) -> dict[str, np.ndarray]:
    return {chunk.id: row for chunk, row in zip(version.chunks, version.vectors(), strict=True)}


def top_article(version: IndexVersion, embedder: HashEmbedder, text: str) -> str:
    _, rows = version.dense.search(embedder.embed_queries([text]), 1)
    return version.chunks[int(rows[0][0])].article_id


def test_first_run_adds_everything(kb: Path, index_dir: Path) -> None:
    report = run_ingest(kb, index_dir)

    assert report.published and report.previous is None
    assert report.added == ["returns", "shipping", "versand"]
    assert (report.changed, report.removed, report.unchanged) == ([], [], 0)
    assert report.chunks == report.chunks_embedded == len(load_version(index_dir).chunks)


def test_add_change_and_delete_are_reported(kb: Path, index_dir: Path) -> None:
    first = run_ingest(kb, index_dir)
    write_article(kb, "en/warranty.md", id="warranty", title="Warranty", body="Two years.\n")
    write_article(kb, "en/shipping.md", id="shipping", title="Shipping", body="Three days now.\n")
    (kb / "de/versand.md").unlink()

    report = run_ingest(kb, index_dir)

    assert report.published and report.previous == first.version
    assert report.added == ["warranty"]
    assert report.changed == ["shipping"]
    assert report.removed == ["versand"]
    assert report.unchanged == 1
    assert (report.files_parsed, report.files_reused) == (2, 1)


def test_only_changed_articles_are_embedded_again(kb: Path, index_dir: Path) -> None:
    embedder = CountingEmbedder()
    run_ingest(kb, index_dir, embedder)
    before = load_version(index_dir)
    embedder.reset()
    write_article(kb, "en/shipping.md", id="shipping", title="Shipping", body="Three days now.\n")

    report = run_ingest(kb, index_dir, embedder)

    after = load_version(index_dir)
    shipping = [c.embed_text for c in after.chunks if c.article_id == "shipping"]
    assert sorted(embedder.texts) == sorted(shipping)
    assert report.chunks_embedded == len(shipping)
    assert report.chunks_reused == len(after.chunks) - len(shipping)
    old, new = vectors_by_chunk(before), vectors_by_chunk(after)
    for chunk in after.chunks:
        if chunk.article_id != "shipping":
            np.testing.assert_array_equal(new[chunk.id], old[chunk.id])


def test_changed_article_is_found_by_its_new_text(kb: Path, index_dir: Path) -> None:
    embedder = HashEmbedder(64)
    run_ingest(kb, index_dir, embedder)
    write_article(
        kb,
        "en/shipping.md",
        id="shipping",
        title="Shipping",
        body="Parcels travel by zeppelin over the mountains.\n",
    )

    run_ingest(kb, index_dir, embedder)

    version = load_version(index_dir)
    assert top_article(version, embedder, "zeppelin over the mountains") == "shipping"
    texts = [c.text for c in version.chunks if c.article_id == "shipping"]
    assert "Two days." not in texts


def test_deleted_article_is_gone_from_every_part_of_the_index(kb: Path, index_dir: Path) -> None:
    run_ingest(kb, index_dir)
    (kb / "de/versand.md").unlink()

    run_ingest(kb, index_dir)

    version = load_version(index_dir)
    assert "versand" not in version.articles
    assert all(c.article_id != "versand" for c in version.chunks)
    assert version.dense.ntotal == len(version.chunks)
    assert "de" not in version.lexical  # its only German article is gone
    assert version.manifest["counts"] == {"articles": 2, "chunks": len(version.chunks)}
    assert "de/versand.md" not in version.manifest["files"]


def test_second_run_without_changes_publishes_nothing(kb: Path, index_dir: Path) -> None:
    embedder = CountingEmbedder()
    first = run_ingest(kb, index_dir, embedder)
    embedder.reset()

    again = run_ingest(kb, index_dir, embedder)

    assert not again.published and again.up_to_date
    assert again.version == again.previous == first.version
    assert (again.unchanged, again.files_parsed, again.files_reused) == (3, 0, 3)
    assert again.chunks == first.chunks
    assert embedder.calls == 0
    assert list_versions(index_dir) == [first.version]
    assert current_version(index_dir) == first.version


def test_touching_a_file_without_changing_it_publishes_nothing(kb: Path, index_dir: Path) -> None:
    first = run_ingest(kb, index_dir)
    path = kb / "en/shipping.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n\n", encoding="utf-8")  # whitespace

    again = run_ingest(kb, index_dir)

    assert (again.files_parsed, again.unchanged) == (1, 3)
    assert not again.published and again.version == first.version


def test_one_changed_faq_row_re_embeds_that_row_only(tmp_path: Path, index_dir: Path) -> None:
    rows = [
        {"question": f"Question {n}?", "answer": f"Answer {n}.", "id": f"q{n}"} for n in range(5)
    ]
    write_faq(tmp_path, "faq.csv", rows)
    embedder = CountingEmbedder()
    run_ingest(tmp_path, index_dir, embedder)
    embedder.reset()
    rows[2] = {**rows[2], "answer": "A better answer."}
    write_faq(tmp_path, "faq.csv", rows)

    report = run_ingest(tmp_path, index_dir, embedder)

    assert (report.changed, report.unchanged, report.files_parsed) == (["q2"], 4, 1)
    assert sorted(embedder.texts) == ["Question 2?", "Question 2?\nA better answer."]


def test_another_embedding_model_rebuilds_everything(kb: Path, index_dir: Path) -> None:
    first = run_ingest(kb, index_dir, HashEmbedder(64))
    embedder = CountingEmbedder(dimension=32)

    report = run_ingest(kb, index_dir, embedder)

    assert report.published and report.previous == first.version
    assert report.chunks_reused == 0
    assert report.chunks_embedded == report.chunks == len(embedder.texts)
    assert report.files_parsed == 3
    assert report.rebuilt == f"{first.version} was built with hash-64, the model now is hash-32"
    version = load_version(index_dir, expect_model="hash-32")
    assert version.manifest["dimension"] == version.dense.d == 32
    assert version.manifest["backend"] == "hash"


def test_an_incremental_run_says_nothing_about_a_rebuild(kb: Path, index_dir: Path) -> None:
    run_ingest(kb, index_dir)
    write_article(kb, "en/warranty.md", id="warranty", title="Warranty", body="Two years.\n")

    assert run_ingest(kb, index_dir).rebuilt is None


def test_phrasings_are_embedded_as_queries_and_sections_as_passages(
    kb: Path, index_dir: Path
) -> None:
    """Titles and alternate questions are matched against visitors' questions (and train the
    topic classifier that reads them), so they are embedded as queries; body text answers."""
    embedder = CountingEmbedder()

    run_ingest(kb, index_dir, embedder)

    assert embedder.kinds["Can I send it back?"] == {"query"}
    assert embedder.kinds["Returns"] == {"query"}
    assert embedder.kinds["Returns\nWithin 30 days."] == {"passage"}
    assert embedder.kinds["Returns > Label\nFree."] == {"passage"}


def test_another_chunk_size_rebuilds_everything(kb: Path, index_dir: Path) -> None:
    run_ingest(kb, index_dir)

    report = run_ingest(kb, index_dir, chunk_size=400)

    assert report.published and report.chunks_reused == 0
    assert report.rebuilt is not None and "chunk_size 900, the settings say 400" in report.rebuilt
    assert load_version(index_dir).manifest["chunk_size"] == 400


def test_a_broken_published_version_means_a_full_rebuild(kb: Path, index_dir: Path) -> None:
    first = run_ingest(kb, index_dir)
    (index_dir / first.version / "index.faiss").write_bytes(b"")  # truncated by a bad disk
    write_article(kb, "en/warranty.md", id="warranty", title="Warranty", body="Two years.\n")

    report = run_ingest(kb, index_dir)

    assert report.published and report.chunks_reused == 0
    assert "warranty" in load_version(index_dir).articles
