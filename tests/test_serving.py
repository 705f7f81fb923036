"""The index holder serves one version's retriever and policy as a pair, and notices a new
version or a re-tuned calibration of the published one."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.policy import Policy
from bot.retrieval import Weights
from bot.serving import IndexHolder, Serving
from ingest.embed import HashEmbedder
from ingest.store import (
    current_version,
    load_version,
    published,
    read_calibration,
    remove_calibration,
    write_calibration,
)
from tests.conftest import build_index
from tests.kb_factory import write_article, write_tiny_kb

STRICT = {"thresholds": {"answer": 0.95, "clarify": 0.6}, "weights": {"vote": 0.0}}
LENIENT = {"thresholds": {"answer": 0.55, "clarify": 0.3}, "weights": {"vote": 0.6}}


def holder_for(index_dir: Path) -> IndexHolder:
    return IndexHolder(index_dir, HashEmbedder(64), languages=("en", "de", "da"),
                       default_language="en")


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    kb_dir = write_tiny_kb(tmp_path / "kb")
    index_dir = tmp_path / "index"
    build_index(kb_dir, index_dir)
    return kb_dir, index_dir


def test_serving_builds_retriever_weights_and_policy_from_one_calibration(
    tiny: tuple[Path, Path],
) -> None:
    _, index_dir = tiny
    version = load_version(index_dir)
    write_calibration(version.path, STRICT)

    serving = Serving.load(version, HashEmbedder(64), languages=("en",), default_language="en")

    assert serving.calibration == STRICT
    assert serving.policy == Policy.from_calibration(STRICT)
    assert serving.retriever.weights == Weights.from_calibration(STRICT)
    assert serving.retriever.weights.vote == 0.0
    assert serving.index is version


def test_each_version_is_served_with_its_own_policy(tiny: tuple[Path, Path]) -> None:
    kb_dir, index_dir = tiny
    holder = holder_for(index_dir)
    first = str(current_version(index_dir))
    write_calibration(index_dir / first, STRICT)
    assert holder.refresh() is True
    before = holder.current
    assert before is not None

    write_article(kb_dir, "en", "kayaks", "Kayak rental", "We rent out sea kayaks.",
                  ("Do you rent kayaks?",))
    second = build_index(kb_dir, index_dir)
    write_calibration(index_dir / second, LENIENT)
    assert holder.refresh() is True
    after = holder.current
    assert after is not None and after is not before

    # The pair a request grabbed before the swap stays whole: its retriever, its thresholds.
    assert (before.index.name, before.policy.thresholds.answer, before.retriever.weights.vote) \
        == (first, 0.95, 0.0)
    assert (after.index.name, after.policy.thresholds.answer, after.retriever.weights.vote) \
        == (second, 0.55, 0.6)


def test_a_retuned_or_removed_calibration_is_noticed(
    tiny: tuple[Path, Path],
) -> None:
    _, index_dir = tiny
    holder = holder_for(index_dir)
    assert holder.refresh() is True
    assert holder.current is not None
    folder = holder.current.index.path

    # `eval --tune` writes the weights, then the whole calibration, of the published version.
    for tuned in (STRICT, LENIENT, STRICT):
        write_calibration(folder, tuned)
        assert holder.refresh() is True
        assert holder.current.calibration == tuned
        assert holder.current.policy == Policy.from_calibration(tuned)
    assert holder.refresh() is False  # nothing new: no reload

    remove_calibration(folder)
    assert holder.refresh() is True
    assert holder.current.calibration is None
    assert holder.current.policy == Policy.default()


def test_published_marks_the_version_and_its_calibration(tiny: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    _, index_dir = tiny
    assert published(tmp_path / "nothing") is None
    untuned = published(index_dir)
    assert untuned is not None and untuned.calibration is None

    version = load_version(index_dir)
    write_calibration(version.path, STRICT)
    tuned = published(index_dir)

    assert tuned is not None and tuned.version == untuned.version == version.name
    assert tuned != untuned
    assert published(index_dir) == tuned  # reading it changes nothing
    assert read_calibration(version.path) == version.calibration() == STRICT


def test_an_untuned_e5_index_gets_the_calibration_fitted_for_e5() -> None:
    """The policy's built-in defaults were fitted on all-MiniLM-L6-v2; an index of
    multilingual-e5-small without its own calibration gets the one shipped for that model."""
    from bot.serving import default_calibration

    shipped = default_calibration("multilingual-e5-small")
    assert shipped is not None
    policy = Policy.from_calibration(shipped, classifier=True)
    assert policy != Policy.default(classifier=True)
    assert policy.thresholds.answer == shipped["thresholds"]["answer"]
    assert default_calibration("hash-64") is None
    assert default_calibration("all-MiniLM-L6-v2") is None  # its defaults are the policy's


def test_serving_uses_the_model_default_only_without_a_calibration_of_its_own(
    tiny: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.serving

    shipped = {"thresholds": {"answer": 0.97, "clarify": 0.9}}
    monkeypatch.setattr(bot.serving, "default_calibration",
                        lambda model: shipped if model == "hash-64" else None)
    _, index_dir = tiny
    holder = holder_for(index_dir)
    assert holder.refresh() and holder.current is not None
    assert holder.current.policy.thresholds.answer == 0.97
    assert holder.current.calibration is None  # the version itself is still untuned
    write_calibration(holder.current.index.path, {"thresholds": {"answer": 0.5, "clarify": 0.4}})
    assert holder.refresh() and holder.current.policy.thresholds.answer == 0.5
