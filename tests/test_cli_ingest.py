"""`supportbot ingest` and `supportbot index list|rollback`: exit codes, output modes, and
settings from SUPPORTBOT_* variables (see the exit-code table at the top of bot/cli.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import get_settings
from ingest.store import current_version, ingest_lock, list_versions, load_version
from tests.conftest import HASH_MODEL
from tests.factories import (
    front_matter,
    lock_held_by_subprocess,
    supportbot_env,
    write_article,
    write_text,
)

SUPPORTBOT = Path(sys.executable).parent / "supportbot"
LIST_LINE = re.compile(
    r"([* ]) (\S+)\s+(\d+) articles\s+(\d+) chunks\s+(\S+)\s+(no classifier|classifier: \d+ topics)"
)


@dataclass
class Env:
    kb: Path
    index_dir: Path


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    """Settings from the environment only (no stray .env), the hash model, a small KB."""
    for key in os.environ:
        if key.startswith("SUPPORTBOT_"):
            monkeypatch.delenv(key)
    kb, index_dir = tmp_path / "kb", tmp_path / "index"
    monkeypatch.setenv("SUPPORTBOT_EMBEDDING_MODEL", HASH_MODEL)
    monkeypatch.setenv("SUPPORTBOT_KB_DIR", str(kb))
    monkeypatch.setenv("SUPPORTBOT_INDEX_DIR", str(index_dir))
    monkeypatch.chdir(tmp_path)
    write_article(kb, "en/returns.md", id="returns", title="Returns", body="Within 30 days.\n")
    write_article(kb, "de/rueckgabe.md", id="rueckgabe", title="Rückgabe", body="30 Tage.\n")
    get_settings.cache_clear()
    yield Env(kb, index_dir)
    get_settings.cache_clear()


def run(*args: str) -> int:
    get_settings.cache_clear()  # tests change the environment between calls
    return main(list(args))


def publish_two(env: Env) -> tuple[str, str]:
    assert run("ingest", "--quiet") == 0
    v1 = current_version(env.index_dir)
    write_article(env.kb, "en/warranty.md", id="warranty", title="Warranty", body="Two years.\n")
    assert run("ingest", "--quiet") == 0
    v2 = current_version(env.index_dir)
    assert v1 and v2 and v1 != v2
    return v1, v2


# --------------------------------------------------------------------------- ingest


def test_ingest_publishes_and_prints_a_summary(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("ingest") == 0

    out = capsys.readouterr().out
    version = current_version(env.index_dir)
    assert version is not None
    assert re.search(r"articles\s+│\s+2", out)
    assert f"published {version}" in out and "(previous: none)" in out
    assert set(load_version(env.index_dir, expect_model=HASH_MODEL).articles) == {
        "returns",
        "rueckgabe",
    }


def test_ingest_names_the_topics_a_language_lacks(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    for lang, slug in (("en", "returns"), ("de", "rueckgabe")):
        write_article(env.kb, f"{lang}/{slug}.md", id=slug, group="returns", lang=lang,
                      title=slug, body="30 days.\n")
    write_article(env.kb, "en/warranty.md", id="warranty", title="Warranty", body="Two years.\n")

    assert run("ingest") == 0
    out = capsys.readouterr().out
    assert run("ingest", "--check", "--json") == 0
    report = json.loads(capsys.readouterr().out)

    assert "no de version (answered from another language): warranty" in out
    assert "no da version (answered from another language): returns, warranty" in out
    assert "no en version" not in out
    assert report["untranslated"] == {"de": ["warranty"], "da": ["returns", "warranty"]}


def test_second_ingest_says_up_to_date(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    run("ingest", "--quiet")
    version = current_version(env.index_dir)

    assert run("ingest") == 0

    assert f"up to date: {version} already holds this content." in capsys.readouterr().out
    assert list_versions(env.index_dir) == [version]


def test_invalid_knowledge_base_exits_6_with_file_and_line_on_stderr(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    run("ingest", "--quiet")
    before = current_version(env.index_dir)
    write_text(env.kb, "en/bad.md", front_matter(title="Bad", lang="fr") + "Text.\n")
    write_text(env.kb, "en/worse.md", "---\ntitle: Worse\n")

    assert run("ingest") == 6

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "en/bad.md:3: unknown language 'fr'; expected one of ['en', 'de', 'da']",
        "en/worse.md:1: front matter starts with --- but never ends",
        f"2 problem(s) in {env.kb}; nothing was published.",
    ]
    assert current_version(env.index_dir) == before


def test_check_validates_and_publishes_nothing(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("ingest", "--check") == 0

    out = capsys.readouterr().out
    assert "check passed: the knowledge base is valid." in out
    assert re.search(r"added\s+│\s+2", out)
    assert current_version(env.index_dir) is None
    assert list_versions(env.index_dir) == []


def test_another_model_says_that_every_chunk_is_embedded_again(
    env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As after the default model changed: the editor learns why this run embeds it all."""
    run("ingest", "--quiet")
    before = current_version(env.index_dir)
    monkeypatch.setenv("SUPPORTBOT_EMBEDDING_MODEL", "hash-32")

    assert run("ingest", "--check") == 0
    assert (
        f"the next ingestion embeds every chunk again: {before} was built with hash-64, "
        "the model now is hash-32"
    ) in " ".join(capsys.readouterr().out.split())
    assert run("ingest") == 0

    out = " ".join(capsys.readouterr().out.split())
    assert f"all chunks embedded: {before} was built with hash-64, the model now is hash-32" in out
    assert load_version(env.index_dir, expect_model="hash-32").manifest["backend"] == "hash"


def test_check_on_an_invalid_knowledge_base_exits_6(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    write_text(env.kb, "en/bad.md", "no title\n")

    assert run("ingest", "--check") == 6
    assert "en/bad.md:1: missing title" in capsys.readouterr().err


def test_quiet_prints_nothing_on_success(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("ingest", "--quiet") == 0

    assert capsys.readouterr() == ("", "")
    assert current_version(env.index_dir) is not None


def test_json_prints_one_parseable_report(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("ingest", "--json") == 0

    report = json.loads(capsys.readouterr().out)
    assert report["published"] is True
    assert report["version"] == current_version(env.index_dir)
    assert report["added"] == ["returns", "rueckgabe"]
    assert report["up_to_date"] is False
    assert report["chunks"] == report["chunks_embedded"] > 0


def test_json_of_an_unchanged_run_says_up_to_date(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    run("ingest", "--quiet")

    assert run("ingest", "--json") == 0

    report = json.loads(capsys.readouterr().out)
    assert (report["published"], report["up_to_date"], report["unchanged"]) == (False, True, 2)


def test_options_override_the_settings(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other_kb, other_index = tmp_path / "other-kb", tmp_path / "other-index"
    write_article(other_kb, "faq.md", id="faq", title="FAQ", body="Questions.\n")

    assert run("ingest", "--quiet", "--kb-dir", str(other_kb), "--index-dir", str(other_index)) == 0

    assert set(load_version(other_index).articles) == {"faq"}
    assert current_version(env.index_dir) is None


def test_settings_come_from_supportbot_variables(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTBOT_EMBEDDING_MODEL", "hash-32")
    monkeypatch.setenv("SUPPORTBOT_CHUNK_SIZE", "300")
    monkeypatch.setenv("SUPPORTBOT_KEEP_VERSIONS", "1")
    monkeypatch.setenv("SUPPORTBOT_LANGUAGES", '["en", "de"]')

    publish_two(env)

    version = load_version(env.index_dir, expect_model="hash-32")
    assert version.manifest["dimension"] == 32
    assert version.manifest["chunk_size"] == 300
    assert version.manifest["languages"] == ["en", "de"]
    assert list_versions(env.index_dir) == [version.name]


def test_invalid_settings_exit_1(
    env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SUPPORTBOT_CHUNK_SIZE", "10")

    assert run("ingest") == 1
    assert "invalid settings" in capsys.readouterr().err


def test_ingest_while_another_runs_exits_5(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    with ingest_lock(env.index_dir):
        assert run("ingest") == 5

    err = capsys.readouterr().err
    assert err.startswith(f"error: another ingestion is running on {env.index_dir} (pid ")
    assert err.rstrip().endswith("wait for it to finish")


def test_ingest_while_another_process_holds_the_lock_exits_5(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    with lock_held_by_subprocess(env.index_dir) as holder:
        assert run("ingest", "--quiet") == 5

    assert f"(pid {holder.pid} since" in capsys.readouterr().err
    assert run("ingest", "--quiet") == 0


# --------------------------------------------------------------------------- index


def test_index_list_marks_the_current_version(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    v1, v2 = publish_two(env)
    capsys.readouterr()

    assert run("index", "list") == 0

    lines = capsys.readouterr().out.splitlines()
    rows = [LIST_LINE.fullmatch(line) for line in lines if not line.startswith("    ")]
    assert all(rows)
    assert [(r[1], r[2], r[3], r[5], r[6]) for r in rows if r] == [
        (" ", v1, "2", HASH_MODEL, "no classifier"),
        ("*", v2, "3", HASH_MODEL, "no classifier"),
    ]
    # why not, said once, for the version that serves
    assert [line.strip() for line in lines if line.startswith("    ")] == [
        "no classifier: 3 phrasings; a classifier needs at least 50"
    ]


def test_index_rollback_publishes_the_older_version(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    v1, _ = publish_two(env)
    capsys.readouterr()

    assert run("index", "rollback", v1) == 0

    assert capsys.readouterr().out == f"now serving {v1}\n"
    assert current_version(env.index_dir) == v1
    assert "warranty" not in load_version(env.index_dir).articles
    run("index", "list")
    assert capsys.readouterr().out.splitlines()[0].startswith(f"* {v1}")


def test_index_rollback_without_a_version_goes_back_one(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    v1, v2 = publish_two(env)
    write_article(env.kb, "en/sizes.md", id="sizes", title="Sizes", body="S to XL.\n")
    assert run("ingest", "--quiet") == 0
    v3 = current_version(env.index_dir)
    capsys.readouterr()

    assert run("index", "rollback") == 0
    assert capsys.readouterr().out == f"now serving {v2}\n"
    assert current_version(env.index_dir) == v2

    assert run("index", "rollback") == 0  # and once more: one further back
    assert capsys.readouterr().out == f"now serving {v1}\n"
    assert current_version(env.index_dir) == v1
    assert v3 in list_versions(env.index_dir)  # nothing is deleted: v3 can come back


def test_index_rollback_without_a_version_from_the_oldest_exits_3(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("ingest", "--quiet") == 0
    only = current_version(env.index_dir)
    capsys.readouterr()

    assert run("index", "rollback") == 3

    assert f"{only} is the oldest version" in capsys.readouterr().err
    assert current_version(env.index_dir) == only


def test_index_rollback_to_an_unknown_version_exits_3(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    _, v2 = publish_two(env)
    capsys.readouterr()

    assert run("index", "rollback", "20200101T000000Z-deadbeef") == 3

    assert "error: index version '20200101T000000Z-deadbeef' not found" in capsys.readouterr().err
    assert current_version(env.index_dir) == v2


def test_index_rollback_while_ingesting_exits_5(env: Env) -> None:
    v1, v2 = publish_two(env)

    with ingest_lock(env.index_dir):
        assert run("index", "rollback", v1) == 5

    assert current_version(env.index_dir) == v2


def test_index_list_without_versions_exits_3(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("index", "list") == 3
    assert f"no index versions in {env.index_dir}" in capsys.readouterr().err


def test_unknown_option_exits_2(env: Env) -> None:
    assert run("ingest", "--no-such-option") == 2


# --------------------------------------------------------------------------- the real script


def test_console_script_ingests_and_reports_json(env: Env, tmp_path: Path) -> None:
    environ = supportbot_env(embedding_model=HASH_MODEL, kb_dir=env.kb, index_dir=env.index_dir)

    done = subprocess.run(
        [str(SUPPORTBOT), "ingest", "--json"],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["version"] == current_version(env.index_dir)


def test_console_script_exits_6_on_an_invalid_knowledge_base(env: Env, tmp_path: Path) -> None:
    write_text(env.kb, "faq.csv", "question,answer\nWhy?,Because.,surplus\n")
    environ = supportbot_env(embedding_model=HASH_MODEL, kb_dir=env.kb, index_dir=env.index_dir)

    done = subprocess.run(
        [str(SUPPORTBOT), "ingest"],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 6
    assert done.stderr.splitlines()[0] == "faq.csv:2: more cells than columns"
    assert current_version(env.index_dir) is None
