"""Hybrid search (hash embedder) and the hot swap of index versions."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bot.policy import FEATURES
from bot.retrieval import Retriever
from bot.serving import IndexHolder
from ingest.embed import HashEmbedder
from ingest.store import current_version, write_calibration
from tests.conftest import build_index
from tests.factories import CountingEmbedder
from tests.kb_factory import write_article, write_tiny_kb


def holder_for(index_dir: Path, dimension: int = 64) -> IndexHolder:
    return IndexHolder(index_dir, HashEmbedder(dimension), languages=("en", "de", "da"),
                       default_language="en")


@pytest.fixture(scope="module")
def sample(sample_index: Path) -> Retriever:
    holder = holder_for(sample_index)
    assert holder.refresh()
    assert holder.current is not None
    return holder.current.retriever


@pytest.mark.parametrize(
    ("question", "hint", "lang", "article"),
    [
        ("where is my parcel", "en", "en", "en/order-tracking"),
        ("wo ist mein paket", "en", "de", "de/order-tracking"),
        ("hvor er min pakke", "en", "da", "da/order-tracking"),
        ("how do i return an item", "de", "en", "en/returns"),
        ("Wie lange habe ich Zeit für eine Rücksendung?", "en", "de", "de/returns"),
    ],
)
def test_search_finds_the_topic_in_the_visitors_language(
    sample: Retriever, question: str, hint: str, lang: str, article: str
) -> None:
    result = sample.search(question, lang_hint=hint)

    assert result.lang == lang
    assert result.top is not None
    assert result.top.article.id == article
    assert result.top.article.lang == lang
    assert result.top.in_visitor_language


def test_a_short_ambiguous_message_keeps_the_hint(sample: Retriever) -> None:
    assert sample.search("paypal", lang_hint="da").lang == "da"
    assert sample.search("paypal", lang_hint="de").lang == "de"


def test_the_result_carries_the_policys_features(sample: Retriever) -> None:
    result = sample.search("how do i return an item", lang_hint="en")

    assert set(FEATURES) <= result.features.keys()
    assert all(math.isfinite(v) for v in result.features.values())
    assert 0.0 <= result.features["coverage"] <= 1.0
    assert result.features["lang_match"] == 1.0
    assert result.features["margin"] == pytest.approx(
        result.candidates[0].score - result.candidates[1].score)
    assert result.index_version == sample.index.name
    assert result.elapsed_ms > 0


def test_candidates_are_one_per_topic_best_first(sample: Retriever) -> None:
    result = sample.search("my parcel arrived damaged", lang_hint="en", limit=5)

    groups = [c.group for c in result.candidates]
    assert len(groups) == len(set(groups)) == 5
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(c.section is None or c.section.chunk.kind == "section" for c in result.candidates)


def test_words_the_knowledge_base_never_uses_show_as_oov(sample: Retriever) -> None:
    known = sample.search("how do i return an item", lang_hint="en").features
    unknown = sample.search("do you sell kayaks or snowmobiles", lang_hint="en").features

    assert unknown["oov"] > known["oov"]
    assert unknown["idf_oov"] > known["idf_oov"]


def test_neighbour_agreement_is_higher_for_a_question_in_scope(sample: Retriever) -> None:
    known = sample.search("how do i return an item", lang_hint="en").features
    unknown = sample.search("do you sell kayaks or snowmobiles", lang_hint="en").features

    assert 0.0 <= unknown["agreement"] < known["agreement"] <= 1.0
    assert known["neighbour_gap"] >= 0.0
    assert -1.0 <= known["neighbour_mean"] <= 1.0


@pytest.mark.parametrize(
    ("lang", "question", "unknown"),
    [
        ("en", "im between m and l which size 42 should i take", []),
        ("en", "do you sell kayaks", ["sell", "kayak"]),
        ("en", "abaut returns", []),  # "about" with one typo is still a stop word
        ("de", "wie schicke ich was an zalando zurück", ["zalando"]),
    ],
)
def test_letters_numbers_and_misspelt_stop_words_are_not_unknown(
    sample: Retriever, lang: str, question: str, unknown: list[str]
) -> None:
    _, lacking = sample.index.lexical[lang].query_tokens(question)

    assert lacking == unknown


# -- a tiny knowledge base, changed under a running holder -----------------------------------


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    kb_dir = write_tiny_kb(tmp_path / "kb")
    index_dir = tmp_path / "index"
    build_index(kb_dir, index_dir)
    return kb_dir, index_dir


def test_a_topic_only_in_english_is_shown_and_flagged(tiny: tuple[Path, Path]) -> None:
    _, index_dir = tiny
    holder = holder_for(index_dir)
    holder.refresh()
    assert holder.current is not None

    result = holder.current.retriever.search("Wann hat der Laden geöffnet?", lang_hint="de")

    assert result.lang == "de"
    assert result.top is not None
    assert result.top.article.id == "en/stores"
    assert result.top.in_visitor_language is False
    assert result.features["lang_match"] == 0.0
    retriever = holder.current.retriever
    assert retriever.article_in("en/tracking", "de") is not None
    assert retriever.article_in("en/tracking", "de").id == "de/tracking"
    assert retriever.article_in("en/stores", "de").id == "en/stores"


def test_refresh_swaps_in_a_new_version_and_old_retrievers_keep_working(
    tiny: tuple[Path, Path],
) -> None:
    kb_dir, index_dir = tiny
    holder = holder_for(index_dir)
    assert holder.refresh() is True
    old = holder.current
    assert old is not None
    assert holder.refresh() is False  # nothing new: no reload

    write_article(kb_dir, "en", "kayaks", "Kayak rental",
                  "We rent out sea kayaks at the Flensburg store on weekends.",
                  ("Do you rent kayaks?",))
    new_version = build_index(kb_dir, index_dir)

    assert holder.refresh() is True
    new = holder.current
    assert new is not None and new is not old
    assert new.index.name == new_version == current_version(index_dir)
    assert new.retriever.search("do you rent kayaks", lang_hint="en").top.article.id == "en/kayaks"
    # A request that grabbed the old retriever before the swap finishes on the old version.
    result = old.retriever.search("do you rent kayaks", lang_hint="en")
    assert result.index_version != new_version
    assert "en/kayaks" not in [c.article.id for c in result.candidates]


def test_a_new_calibration_file_reloads(tiny: tuple[Path, Path]) -> None:
    _, index_dir = tiny
    holder = holder_for(index_dir)
    holder.refresh()
    assert holder.current is not None and holder.current.calibration is None

    write_calibration(holder.current.index.path, {"thresholds": {"answer": 0.9}})

    assert holder.refresh() is True
    assert holder.current.calibration == {"thresholds": {"answer": 0.9}}
    assert holder.current.policy.thresholds.answer == 0.9


def test_a_version_for_another_model_is_refused_and_the_old_one_serves(
    tiny: tuple[Path, Path],
) -> None:
    kb_dir, index_dir = tiny
    holder = holder_for(index_dir)
    holder.refresh()
    serving = holder.current

    build_index(kb_dir, index_dir, embedder=HashEmbedder(32))

    assert holder.refresh() is False
    assert holder.current is serving
    assert holder.last_error is not None and "hash-32" in holder.last_error


def test_an_index_of_the_previous_default_model_keeps_serving_with_that_model(
    tiny: tuple[Path, Path],
) -> None:
    """The default model changed (hash-64 stands for the old default, hash-32 for the new):
    the published index keeps serving, queried with its own model, until ingestion rebuilds
    it; then the new version serves with the configured model."""
    kb_dir, index_dir = tiny
    configured, legacy = CountingEmbedder(32), CountingEmbedder(64)
    holder = IndexHolder(index_dir, configured, languages=("en",), default_language="en",
                         legacy=legacy)

    assert holder.refresh() is True
    assert holder.current is not None and holder.current.retriever.embedder is legacy
    top = holder.current.retriever.search("where is my parcel", lang_hint="en").top
    assert top is not None and top.article.id == "en/tracking"
    assert legacy.kinds == {"where is my parcel": {"query"}} and not configured.texts

    build_index(kb_dir, index_dir, embedder=HashEmbedder(32))

    assert holder.refresh() is True
    assert holder.current.retriever.embedder is configured
    assert holder.current.index.model == "hash-32"


def test_an_index_of_a_third_model_is_refused_naming_the_configured_one(
    tiny: tuple[Path, Path],
) -> None:
    _, index_dir = tiny  # built with hash-64
    holder = IndexHolder(index_dir, HashEmbedder(32), languages=("en",), default_language="en",
                         legacy=HashEmbedder(16))

    assert holder.refresh() is False
    assert holder.current is None
    assert holder.last_error is not None
    assert "'hash-64' but the configured model is 'hash-32'" in holder.last_error


def test_no_index_yet(tmp_path: Path) -> None:
    holder = holder_for(tmp_path / "empty")

    assert holder.refresh() is False
    assert holder.current is None
