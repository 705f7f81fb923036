"""A real crash: `python -m ingest` killed with SIGKILL half-way through a large build leaves
the published version serving, no stale lock, and the next run succeeds."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.ingest_speed import generate_kb
from ingest.embed import HashEmbedder
from ingest.store import current_version, list_versions, load_version
from tests.conftest import HASH_MODEL
from tests.factories import run_ingest, supportbot_env, write_article

ARTICLES = 1500  # a couple of seconds of work for the hash embedder


def start_ingest(tmp_path: Path, kb: Path, index_dir: Path) -> subprocess.Popen[bytes]:
    env = supportbot_env(embedding_model=HASH_MODEL, kb_dir=kb, index_dir=index_dir)
    return subprocess.Popen(
        [sys.executable, "-m", "ingest", "--quiet"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[bytes]) -> None:
    """Poll for a point inside the build (the file system has no event to wait on)."""
    deadline = time.monotonic() + 120
    while not condition():
        if process.poll() is not None:
            pytest.fail("ingestion finished before the crash point: make the KB bigger")
        if time.monotonic() > deadline:
            pytest.fail("ingestion never reached the crash point")
        time.sleep(0.005)


def holds_lock(index_dir: Path, pid: int) -> Callable[[], bool]:
    lock = index_dir / ".lock"
    return lambda: lock.exists() and lock.read_text(encoding="utf-8").startswith(f"pid {pid} ")


def writing_new_version(index_dir: Path) -> Callable[[], bool]:
    return lambda: any(index_dir.glob(".tmp-*"))


@pytest.mark.slow
@pytest.mark.parametrize("crash_point", ["while reading and embedding", "while writing"])
def test_sigkill_mid_ingestion_keeps_the_published_version(
    tmp_path: Path, crash_point: str
) -> None:
    kb, index_dir = tmp_path / "kb", tmp_path / "index"
    write_article(
        kb,
        "en/sentinel.md",
        id="sentinel",
        title="Sentinel",
        body="The lighthouse keeper answers every question.\n",
    )
    old = run_ingest(kb, index_dir).version
    generate_kb(kb, ARTICLES)

    process = start_ingest(tmp_path, kb, index_dir)
    if crash_point == "while writing":
        wait_until(writing_new_version(index_dir), process)
    else:
        wait_until(holds_lock(index_dir, process.pid), process)
    process.kill()
    process.communicate()

    assert process.returncode == -9
    assert current_version(index_dir) == old
    assert list_versions(index_dir) == [old]
    version = load_version(index_dir, expect_model=HASH_MODEL)
    assert set(version.articles) == {"sentinel"}
    _, rows = version.dense.search(HashEmbedder(64).embed_queries(["lighthouse keeper"]), 1)
    assert version.chunks[int(rows[0][0])].article_id == "sentinel"

    rerun = start_ingest(tmp_path, kb, index_dir)
    _, stderr = rerun.communicate(timeout=300)

    assert rerun.returncode == 0, stderr.decode()
    new = current_version(index_dir)
    assert new not in (None, old)
    assert len(load_version(index_dir).articles) == ARTICLES + 1
    assert not list(index_dir.glob(".tmp-*"))


def test_twenty_kills_at_random_moments(tmp_path: Path) -> None:
    """The repeatable script (`python -m benchmarks.ingest_kills`), 20 kills."""
    from benchmarks.ingest_kills import run

    figures = run(kills=20, articles=200, seed=1, work=tmp_path, log=False)

    assert figures.failures == []
    assert figures.published_loaded == figures.kills == 20
    assert figures.killed_mid_run >= 5  # the kills really interrupt runs (timing varies)
    assert figures.leftovers_after_final_run == 0
