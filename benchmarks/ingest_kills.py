"""Ingestion killed at random moments: the published version must always load, and the next
run must clear what the killed one left behind.

    python -m benchmarks.ingest_kills [--kills 20] [--articles 800] [--seed 1]

Each round edits one article (so a new version is really built), starts `python -m ingest`
with the hash embedder, sends SIGKILL after a random delay between 0 and the length of an
uninterrupted re-ingestion (timed first), then checks that `CURRENT` names a version that
loads with its vectors, chunks and lexical index. A final uninterrupted run must succeed and
leave no `.tmp-*` folder, no half-written `CURRENT` and no held lock. Prints one line per
round and a summary; exit 1 when any check failed.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.ingest_speed import change_article, generate_kb
from ingest.store import IngestLocked, current_version, ingest_lock, load_version

MODEL = "hash-64"


@dataclass
class Figures:
    kills: int = 0
    killed_mid_run: int = 0  # the process was still running when killed
    published_loaded: int = 0  # rounds after which CURRENT loaded
    failures: list[str] = field(default_factory=list)
    leftovers_seen: int = 0  # .tmp-* folders found right after a kill (cleared next run)
    leftovers_after_final_run: int = -1

    def summary(self) -> str:
        return (
            f"kills {self.kills}, killed mid-run {self.killed_mid_run}, published version "
            f"loaded {self.published_loaded}/{self.kills}, leftovers seen after kills "
            f"{self.leftovers_seen}, leftovers after the final run "
            f"{self.leftovers_after_final_run}, failures {len(self.failures)}"
        )


def _environment(kb: Path, index_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    env.update(
        SUPPORTBOT_KB_DIR=str(kb),
        SUPPORTBOT_INDEX_DIR=str(index_dir),
        SUPPORTBOT_EMBEDDING_MODEL=MODEL,
    )
    return env


def _ingest(kb: Path, index_dir: Path, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ingest", "--quiet"],
        env=_environment(kb, index_dir),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _leftovers(index_dir: Path) -> list[Path]:
    """Temporary folders and half-written `CURRENT` files. (The `.lock` file stays by design:
    the lock is the OS's flock on it, released when its holder dies; checked separately.)"""
    return [*index_dir.glob(".tmp-*"), *index_dir.glob(".CURRENT.*.tmp")]


def run(kills: int, articles: int, seed: int, work: Path, log: bool = True) -> Figures:
    rng = random.Random(seed)
    kb, index_dir = work / "kb", work / "index"
    generate_kb(kb, articles)
    for edit in (0, 1):  # a full build, then a timed re-ingestion (what each round does)
        change_article(kb, rng.randrange(articles), edit)
        started = time.monotonic()
        first = _ingest(kb, index_dir, work)
        _, stderr = first.communicate(timeout=600)
        if first.returncode != 0:
            raise RuntimeError(f"an ingestion without a kill failed: {stderr.decode()}")
    full = time.monotonic() - started
    figures = Figures()
    for round_ in range(1, kills + 1):
        change_article(kb, rng.randrange(articles), round_ + 1)
        delay = rng.uniform(0, full)
        process = _ingest(kb, index_dir, work)
        time.sleep(delay)
        mid_run = process.poll() is None
        process.kill()
        process.communicate()
        figures.kills += 1
        figures.killed_mid_run += mid_run
        figures.leftovers_seen += len(list(index_dir.glob(".tmp-*")))
        published = current_version(index_dir)
        try:
            version = load_version(index_dir, expect_model=MODEL)
            assert version.name == published and len(version.chunks) > 0
            figures.published_loaded += 1
            outcome = f"serving {published}"
        except Exception as exc:
            figures.failures.append(f"round {round_}: {exc!r}")
            outcome = f"FAILED: {exc!r}"
        if log:
            print(
                f"round {round_:2}: killed after {delay:5.2f} s "
                f"({'mid-run' if mid_run else 'after it finished'}); {outcome}",
                file=sys.stderr,
            )
    final = _ingest(kb, index_dir, work)
    _, stderr = final.communicate(timeout=600)
    if final.returncode != 0:
        figures.failures.append(f"final run failed: {stderr.decode()}")
    load_version(index_dir, expect_model=MODEL)
    figures.leftovers_after_final_run = len(_leftovers(index_dir))
    try:
        with ingest_lock(index_dir):  # nobody holds it: no stale lock
            pass
    except IngestLocked as exc:
        figures.failures.append(f"stale lock: {exc}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--articles", type=int, default=800)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="supportbot-kills-") as work:
        figures = run(args.kills, args.articles, args.seed, Path(work))
    print(figures.summary())
    for failure in figures.failures:
        print(failure)
    ok = not figures.failures and figures.leftovers_after_final_run == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
