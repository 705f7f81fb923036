"""Index versions on disk: a build that fails half-way publishes nothing and leaves the serving
version intact; rollback, pruning, version order and the ingestion lock."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import faiss
import pytest

from ingest.embed import HashEmbedder
from ingest.store import (
    IndexCorrupt,
    IndexNotFound,
    IngestLocked,
    current_version,
    ingest_lock,
    list_versions,
    load_version,
    new_version_name,
    prune,
    rollback,
)
from tests.factories import lock_held_by_subprocess, run_ingest, write_article


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    write_article(
        kb,
        "en/returns.md",
        id="returns",
        title="Returns",
        body="Send parcels back within thirty days.\n",
    )
    return kb


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


def publish_revisions(kb: Path, index_dir: Path, count: int, **options: Any) -> list[str]:
    """Publish `count` versions, each with one more article; their names, oldest first."""
    names = []
    for n in range(count):
        write_article(
            kb,
            f"en/extra-{n}.md",
            id=f"extra-{n}",
            title=f"Extra {n}",
            body=f"Extra text number {n}.\n",
        )
        report = run_ingest(kb, index_dir, **options)
        assert report.published and report.version
        names.append(report.version)
    return names


def answers(index_dir: Path, question: str) -> str:
    """The article the published version finds for `question`, densely and lexically."""
    version = load_version(index_dir, expect_model="hash-64")
    _, rows = version.dense.search(HashEmbedder(64).embed_queries([question]), 1)
    dense = version.chunks[int(rows[0][0])].article_id
    lexical_rows, scores = version.lexical["en"].scores(question)
    lexical = version.chunks[int(lexical_rows[scores.argmax()])].article_id
    assert dense == lexical
    return dense


def leftovers(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.glob(".*") if p.name != ".lock")


# --------------------------------------------------------------------------- simulated crash


def boom(*args: Any, **kwargs: Any) -> None:
    raise OSError("disk full (simulated)")


@pytest.mark.parametrize(
    "target", ["faiss.write_index", "ingest.store.save_lexical", "ingest.store._write_jsonl"]
)
def test_failed_build_leaves_the_published_version_serving(
    kb: Path, index_dir: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    old = run_ingest(kb, index_dir).version
    write_article(
        kb,
        "en/warranty.md",
        id="warranty",
        title="Warranty",
        body="Two years of warranty on boots.\n",
    )
    monkeypatch.setattr(target, boom)

    with pytest.raises(OSError, match="disk full"):
        run_ingest(kb, index_dir)

    assert current_version(index_dir) == old
    assert list_versions(index_dir) == [old]
    assert set(load_version(index_dir).articles) == {"returns"}
    assert answers(index_dir, "send parcels back") == "returns"
    assert [name.startswith(".tmp-") for name in leftovers(index_dir)] == [True]


def test_next_run_after_a_failed_build_cleans_up_and_publishes(
    kb: Path, index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_ingest(kb, index_dir)
    write_article(
        kb,
        "en/warranty.md",
        id="warranty",
        title="Warranty",
        body="Two years of warranty on boots.\n",
    )
    with monkeypatch.context() as patch:
        patch.setattr(faiss, "write_index", boom)
        with pytest.raises(OSError):
            run_ingest(kb, index_dir)
    (index_dir / ".CURRENT.4242.tmp").write_text("half-written", encoding="utf-8")

    report = run_ingest(kb, index_dir)

    assert report.published and report.added == ["warranty"]
    assert current_version(index_dir) == report.version
    assert leftovers(index_dir) == []
    assert answers(index_dir, "warranty on boots") == "warranty"


def test_failure_between_writing_and_publishing_keeps_the_old_version_current(
    kb: Path, index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = run_ingest(kb, index_dir).version
    write_article(kb, "en/warranty.md", id="warranty", title="Warranty", body="Two years.\n")
    monkeypatch.setattr("ingest.pipeline.publish", boom)

    with pytest.raises(OSError):
        run_ingest(kb, index_dir)

    assert current_version(index_dir) == old
    assert set(load_version(index_dir).articles) == {"returns"}


def test_a_folder_without_manifest_is_never_listed_or_published(index_dir: Path) -> None:
    (index_dir / "20260101T000000000Z-0123abcd").mkdir(parents=True)

    with pytest.raises(IndexNotFound):
        rollback(index_dir, "20260101T000000000Z-0123abcd")
    assert current_version(index_dir) is None


# --------------------------------------------------------------------------- rollback, prune


def test_rollback_publishes_an_older_version_that_loads(kb: Path, index_dir: Path) -> None:
    v1, v2 = publish_revisions(kb, index_dir, 2)

    rollback(index_dir, v1)

    assert current_version(index_dir) == v1
    assert set(load_version(index_dir).articles) == {"returns", "extra-0"}
    rollback(index_dir, v2)
    assert set(load_version(index_dir).articles) == {"returns", "extra-0", "extra-1"}


def test_rollback_to_an_unknown_version_fails_and_changes_nothing(
    kb: Path, index_dir: Path
) -> None:
    (v1,) = publish_revisions(kb, index_dir, 1)

    with pytest.raises(IndexNotFound) as failure:
        rollback(index_dir, "20200101T000000Z-deadbeef")

    assert failure.value.exit_code == 3
    assert current_version(index_dir) == v1


def test_rollback_to_a_damaged_version_fails_and_changes_nothing(kb: Path, index_dir: Path) -> None:
    v1, v2 = publish_revisions(kb, index_dir, 2)
    (index_dir / v1 / "index.faiss").write_bytes(b"\x00" * 10)

    with pytest.raises(IndexCorrupt, match="cannot be read") as failure:
        rollback(index_dir, v1)

    assert failure.value.exit_code == 3
    assert current_version(index_dir) == v2


def test_ingestion_after_a_rollback_builds_on_the_rolled_back_version(
    kb: Path, index_dir: Path
) -> None:
    v1, _ = publish_revisions(kb, index_dir, 2)
    rollback(index_dir, v1)

    report = run_ingest(kb, index_dir)

    assert report.previous == v1
    assert report.added == ["extra-1"] and report.unchanged == 2


def test_versions_are_listed_in_build_order_even_within_one_second(
    kb: Path, index_dir: Path
) -> None:
    names = publish_revisions(kb, index_dir, 4)

    assert list_versions(index_dir) == names


def test_version_names_sort_by_time_not_by_content_hash(tmp_path: Path) -> None:
    moment = dt.datetime(2026, 5, 1, 12, 0, 0, 1000, tzinfo=dt.UTC)
    earlier = new_version_name("f" * 64, tmp_path, now=moment)
    later = new_version_name("0" * 64, tmp_path, now=moment + dt.timedelta(milliseconds=1))

    assert earlier == "20260501T120000001Z-ffffffff"
    assert sorted([later, earlier]) == [earlier, later]


def test_versions_from_before_millisecond_names_are_still_listed(index_dir: Path) -> None:
    (index_dir / "20261123T092342Z-5954b097").mkdir(parents=True)

    assert list_versions(index_dir) == ["20261123T092342Z-5954b097"]


def test_ingestion_keeps_only_the_newest_versions(kb: Path, index_dir: Path) -> None:
    names = publish_revisions(kb, index_dir, 4, keep_versions=2)

    assert list_versions(index_dir) == names[-2:]
    assert current_version(index_dir) == names[-1]


def test_prune_never_deletes_the_current_version(kb: Path, index_dir: Path) -> None:
    v1, v2, v3, v4 = publish_revisions(kb, index_dir, 4)
    rollback(index_dir, v1)

    doomed = prune(index_dir, keep=2)

    assert doomed == [v2]
    assert list_versions(index_dir) == [v1, v3, v4]
    assert prune(index_dir, keep=1) == [v3]
    assert list_versions(index_dir) == [v1, v4]
    assert set(load_version(index_dir).articles) == {"returns", "extra-0"}


# --------------------------------------------------------------------------- lock


def test_second_ingestion_fails_at_once_while_the_lock_is_held(kb: Path, index_dir: Path) -> None:
    with ingest_lock(index_dir):
        started = time.monotonic()
        with pytest.raises(IngestLocked) as failure:
            run_ingest(kb, index_dir)
        assert time.monotonic() - started < 5  # no waiting for the lock

    assert failure.value.exit_code == 5
    message = str(failure.value)
    assert "another ingestion is running" in message and str(index_dir) in message
    assert current_version(index_dir) is None
    assert run_ingest(kb, index_dir).published  # released with the block


def test_lock_held_by_another_process_names_it(kb: Path, index_dir: Path) -> None:
    with lock_held_by_subprocess(index_dir) as holder, pytest.raises(IngestLocked) as failure:
        run_ingest(kb, index_dir)

    assert f"pid {holder.pid}" in str(failure.value)


def test_lock_of_a_killed_process_is_not_stale(kb: Path, index_dir: Path) -> None:
    with lock_held_by_subprocess(index_dir) as holder:
        holder.kill()
        holder.wait()

        assert run_ingest(kb, index_dir).published
