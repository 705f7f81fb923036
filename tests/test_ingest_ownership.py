"""`ingest.store` alone knows the files of an index version."""

from __future__ import annotations

import re

from tests.conftest import ROOT


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
