"""Re-ingestion reuses the words of unchanged chunks instead of tokenizing everything again,
and the lexical index it builds is the one a full build would give."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ingest.lexical import TOKENS_FILE
from ingest.store import load_version, version_tokens
from tests.factories import run_ingest, write_article


def _kb(kb: Path) -> None:
    write_article(kb, "en/returns.md", title="Returns", body="Send items back within 30 days.")
    write_article(kb, "de/returns.md", title="Rücksendung", body="Rücksendung binnen 30 Tagen.")
    write_article(kb, "en/delivery.md", title="Delivery", body="Parcels arrive in 1-3 days.")


def test_incremental_lexical_index_equals_a_full_build(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    _kb(kb)
    run_ingest(kb, tmp_path / "incremental")
    write_article(kb, "en/delivery.md", title="Delivery", body="Parcels arrive in 2-4 days.")
    run_ingest(kb, tmp_path / "incremental")
    run_ingest(kb, tmp_path / "full")

    incremental = load_version(tmp_path / "incremental")
    full = load_version(tmp_path / "full")
    assert version_tokens(incremental) == version_tokens(full)
    for lang, query in (("en", "parcels arrive days"), ("de", "rücksendung tagen")):
        rows_a, scores_a = incremental.lexical[lang].scores(query)
        rows_b, scores_b = full.lexical[lang].scores(query)
        assert rows_a.tolist() == rows_b.tolist()
        assert np.allclose(scores_a, scores_b)


def test_a_version_without_saved_words_is_tokenized_again(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    _kb(kb)
    run_ingest(kb, tmp_path / "index")
    (load_version(tmp_path / "index").path / "lexical" / TOKENS_FILE).unlink()
    write_article(kb, "en/returns.md", title="Returns", body="Send items back within 60 days.")
    report = run_ingest(kb, tmp_path / "index")
    assert report.published
    assert version_tokens(load_version(tmp_path / "index")) is not None
