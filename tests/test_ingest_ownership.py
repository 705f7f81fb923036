"""Ingestion stands alone (`python -m ingest` never imports the bot) and `ingest.store` alone
knows the files of an index version."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from ingest.store import load_version
from tests.conftest import HASH_MODEL, ROOT
from tests.factories import supportbot_env, write_article

ALL_INGEST_MODULES = """
import importlib, pkgutil, sys
import ingest
for module in pkgutil.iter_modules(ingest.__path__):
    importlib.import_module(f"ingest.{module.name}")
print(sorted(name for name in sys.modules if name == "bot" or name.startswith("bot.")))
"""


def python(*args: str, env: dict[str, str] | None = None,
           cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env=env or supportbot_env(), check=False)


def test_no_ingest_module_imports_the_bot() -> None:
    result = python("-c", ALL_INGEST_MODULES)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_python_m_ingest_help() -> None:
    result = python("-m", "ingest", "--help")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: python -m ingest [OPTIONS]")
    for option in ("--kb-dir", "--index-dir", "--check", "--quiet", "--json"):
        assert option in result.stdout


def test_python_m_ingest_reads_the_supportbot_settings(tmp_path: Path) -> None:
    kb, index_dir = tmp_path / "kb", tmp_path / "index"
    write_article(kb, "en/returns.md", id="returns", title="Returns", body="Within 30 days.\n")
    env = supportbot_env(kb_dir=kb, index_dir=index_dir, embedding_model=HASH_MODEL,
                         chunk_size=300, languages="en")

    result = python("-m", "ingest", "--json", env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["added"] == ["returns"]
    manifest = load_version(index_dir, expect_model=HASH_MODEL).manifest
    assert (manifest["chunk_size"], manifest["languages"]) == (300, ["en"])


def test_python_m_ingest_refuses_invalid_settings(tmp_path: Path) -> None:
    result = python("-m", "ingest", env=supportbot_env(chunk_size=10), cwd=tmp_path)

    assert result.returncode == 1
    assert "invalid settings" in result.stderr


def test_only_the_store_names_the_files_of_an_index_version() -> None:
    names = re.compile(r"""["'](manifest\.json|calibration\.json|index\.faiss|"""
                       r"""articles\.jsonl|chunks\.jsonl)["']""")
    owners = {
        str(path.relative_to(ROOT))
        for folder in ("bot", "ingest")
        for path in (ROOT / folder).rglob("*.py")
        if names.search(path.read_text(encoding="utf-8"))
    }

    assert owners == {"ingest/store.py"}
