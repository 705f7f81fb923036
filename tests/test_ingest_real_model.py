"""Ingestion with the real bundled all-MiniLM-L6-v2: the manifest names it, vectors are
normalised and in the right rows, and a paraphrase finds its article through FAISS."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ingest.embed import BUNDLED_MODEL
from ingest.store import IndexVersion, load_version
from tests.factories import run_ingest, write_article

pytestmark = pytest.mark.real_model

ARTICLES = {
    "returns": (
        "Returning an item",
        "You can send items back within 30 days of delivery. "
        "Print the free return label under My orders.",
    ),
    "password": (
        "Resetting your password",
        "Click 'Forgot password' on the login page and we "
        "email you a link to choose a new password for your customer account.",
    ),
    "delivery": (
        "Delivery times",
        "Parcels within Germany arrive in two to three working days; "
        "deliveries to Denmark take three to four working days.",
    ),
    "gift-cards": (
        "Gift cards",
        "Gift cards are valid for three years and can be redeemed online and in all our stores.",
    ),
}


@pytest.fixture(scope="module")
def version(tmp_path_factory: pytest.TempPathFactory, real_embedder: Any) -> IndexVersion:
    tmp = tmp_path_factory.mktemp("real")
    for article_id, (title, body) in ARTICLES.items():
        write_article(tmp / "kb", f"en/{article_id}.md", id=article_id, title=title, body=body)
    run_ingest(tmp / "kb", tmp / "index", real_embedder)
    return load_version(tmp / "index", expect_model=BUNDLED_MODEL)


def best_article(version: IndexVersion, embedder: Any, question: str) -> str:
    _, rows = version.dense.search(embedder.embed([question]), 1)
    return version.chunks[int(rows[0][0])].article_id


def test_manifest_names_the_bundled_model(version: IndexVersion) -> None:
    assert version.manifest["model"] == "all-MiniLM-L6-v2"
    assert version.manifest["dimension"] == version.dense.d == 384


def test_stored_vectors_are_normalised(version: IndexVersion) -> None:
    norms = np.linalg.norm(version.vectors(), axis=1)

    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_each_chunk_row_holds_the_vector_of_its_own_text(
    version: IndexVersion, real_embedder: Any
) -> None:
    """Embedding sorts texts by length; the vectors must still land in their chunk's row."""
    direct = real_embedder.embed([chunk.embed_text for chunk in version.chunks])

    np.testing.assert_allclose(version.vectors(), direct, atol=1e-4)


@pytest.mark.parametrize(
    "question, article_id",
    [
        ("I forgot my login details, how do I get back into my account?", "password"),
        ("how long until my parcel gets here", "delivery"),
        ("can I send back a jacket that does not fit", "returns"),
        ("does a voucher expire", "gift-cards"),
    ],
)
def test_a_paraphrase_finds_its_article(
    version: IndexVersion, real_embedder: Any, question: str, article_id: str
) -> None:
    assert best_article(version, real_embedder, question) == article_id
