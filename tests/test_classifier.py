"""The topic classifier trained at ingestion from alternate questions (hash embedder)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.serving import IndexHolder
from ingest.classifier import TopicClassifier, train, worth_training
from ingest.embed import HashEmbedder
from ingest.pipeline import IngestOptions, ingest
from ingest.store import IndexCorrupt, current_version, load_version
from tests.kb_factory import write_article

# Each topic is asked in its own words; the held-out question shares words, not a phrasing.
TOPICS = {
    "refund": ["refund", "money back", "reimburse", "charged twice", "return payment"],
    "card": ["card", "lost card", "stolen card", "block my card", "new card"],
    "transfer": ["transfer", "send money", "wire", "bank transfer", "iban"],
    "pin": ["pin", "forgot pin", "change pin", "pin blocked", "reset pin"],
}
FRAMES = ["how do i {}", "{} please", "question about {}", "i need help with {}"]


def phrasings() -> tuple[list[str], list[str]]:
    texts, topics = [], []
    for topic, words in TOPICS.items():
        for word in words:
            for frame in FRAMES:
                texts.append(frame.format(word))
                topics.append(topic)
    return texts, topics


@pytest.fixture(scope="module")
def fitted() -> TopicClassifier:
    texts, topics = phrasings()
    return train(texts, HashEmbedder(64).embed_queries(texts), topics, model="hash-64")


def probabilities(model: TopicClassifier, text: str) -> dict[str, float]:
    probs = model.probabilities([text], HashEmbedder(64).embed_queries([text]))[0]
    return dict(zip(model.topics, probs.tolist(), strict=True))


def test_it_learns_the_topic_of_a_new_phrasing(fitted: TopicClassifier) -> None:
    probs = probabilities(fitted, "my card was stolen yesterday")

    assert max(probs, key=probs.__getitem__) == "card"
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5)
    assert fitted.info["phrasings"] == 80
    assert fitted.info["topics"] == 4


def test_saved_and_loaded_it_gives_the_same_probabilities(
    fitted: TopicClassifier, tmp_path: Path
) -> None:
    fitted.save(tmp_path / "classifier")

    loaded = TopicClassifier.load(tmp_path / "classifier")

    assert loaded is not None
    assert loaded.topics == fitted.topics
    assert loaded.fingerprint == fitted.fingerprint
    for text in ("wire money abroad", "forgot my pin", "zzz"):
        assert probabilities(loaded, text) == pytest.approx(probabilities(fitted, text))


def test_the_fast_path_equals_sklearns_transform_and_predict(fitted: TopicClassifier) -> None:
    from ingest.classifier import _features

    texts = ["my card was stolen", "wire money to an iban please", "zzz", ""]
    vectors = HashEmbedder(64).embed_queries(texts)
    x = _features(fitted.word, fitted.char, texts, vectors)
    logits = np.asarray(x @ fitted.coef.T) + fitted.intercept
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)

    assert fitted.probabilities(texts, vectors) == pytest.approx(expected, abs=1e-5)


def test_two_topics_are_enough() -> None:
    texts, topics = phrasings()
    keep = [i for i, t in enumerate(topics) if t in {"pin", "transfer"}]
    model = train(
        [texts[i] for i in keep],
        HashEmbedder(64).embed_queries([texts[i] for i in keep]),
        [topics[i] for i in keep],
        model="hash-64",
    )

    probs = probabilities(model, "reset my pin")

    assert set(probs) == {"pin", "transfer"}
    assert probs["pin"] > 0.5


@pytest.mark.parametrize(
    ("topics", "reason"),
    [
        (["a"] * 60, "1 topic(s)"),
        (["a", "b"] * 10, "20 phrasings"),
        ([str(i) for i in range(60)], "1.0 phrasings per topic"),
        ([str(i % 600) for i in range(3000)], "600 topics"),
    ],
)
def test_too_little_to_learn_from_says_why(topics: list[str], reason: str) -> None:
    message = worth_training(topics)

    assert message is not None
    assert reason in message


def test_enough_phrasings_train_one() -> None:
    assert worth_training(phrasings()[1]) is None


# --------------------------------------------------------------------------- in ingestion


def write_topics(kb_dir: Path, extra: str = "") -> None:
    for topic, words in TOPICS.items():
        questions = [frame.format(word) for word in words for frame in FRAMES]
        write_article(kb_dir, "en", topic, f"About {topic}", f"All about {topic}.{extra}",
                      questions)


def options(tmp_path: Path) -> IngestOptions:
    return IngestOptions(kb_dir=tmp_path / "kb", index_dir=tmp_path / "index")


def test_ingestion_trains_it_and_records_it_in_the_manifest(tmp_path: Path) -> None:
    write_topics(tmp_path / "kb")

    report = ingest(options(tmp_path), HashEmbedder(64))

    version = load_version(tmp_path / "index")
    assert version.classifier is not None
    assert version.manifest["classifier"]["topics"] == 4
    assert report.classifier_seconds > 0


def test_unchanged_phrasings_reuse_it_and_a_new_question_retrains(tmp_path: Path) -> None:
    write_topics(tmp_path / "kb")
    ingest(options(tmp_path), HashEmbedder(64))
    first = load_version(tmp_path / "index").classifier
    assert first is not None

    write_topics(tmp_path / "kb", extra=" Edited body.")  # bodies change, phrasings do not
    reused = ingest(options(tmp_path), HashEmbedder(64))
    assert reused.published and reused.classifier_seconds == 0
    assert load_version(tmp_path / "index").classifier.fingerprint == first.fingerprint  # type: ignore[union-attr]

    write_article(tmp_path / "kb", "en", "pin", "About pin", "All about pin.",
                  ["how do i unlock my pin", *[f.format("pin") for f in FRAMES]])
    retrained = ingest(options(tmp_path), HashEmbedder(64))
    assert retrained.classifier_seconds > 0
    assert load_version(tmp_path / "index").classifier.fingerprint != first.fingerprint  # type: ignore[union-attr]


def test_a_kb_without_alternate_questions_gets_none_and_says_why(tmp_path: Path) -> None:
    for topic in TOPICS:
        write_article(tmp_path / "kb", "en", topic, f"About {topic}", f"All about {topic}.")

    ingest(options(tmp_path), HashEmbedder(64))

    version = load_version(tmp_path / "index")
    assert version.classifier is None
    assert "phrasings" in version.manifest["classifier"]["skipped"]


def test_a_damaged_classifier_is_a_corrupt_index(tmp_path: Path) -> None:
    write_topics(tmp_path / "kb")
    ingest(options(tmp_path), HashEmbedder(64))
    name = current_version(tmp_path / "index")
    meta = tmp_path / "index" / str(name) / "classifier" / "classifier.json"
    data = json.loads(meta.read_text())
    data["topics"] = data["topics"][:2]
    meta.write_text(json.dumps(data))

    with pytest.raises(IndexCorrupt, match="classifier"):
        load_version(tmp_path / "index")


def test_retrieval_fuses_its_probabilities_and_reports_them(tmp_path: Path) -> None:
    write_topics(tmp_path / "kb")
    ingest(options(tmp_path), HashEmbedder(64))
    holder = IndexHolder(tmp_path / "index", HashEmbedder(64), languages=("en",),
                         default_language="en")
    holder.refresh()
    assert holder.current is not None

    result = holder.current.retriever.search("someone stole my card")

    assert result.top is not None
    assert result.top.group == "card"
    assert result.features["classifier"] == pytest.approx(result.top.classifier)
    assert 0.5 < result.features["classifier"] <= 1.0
    assert result.features["classifier_margin"] > 0
    assert np.isfinite(list(result.features.values())).all()
