"""Heading-aware chunking: sections split at headings (not at `#` in code), long sections cut at
sentence boundaries, title and questions as chunks of their own, ids that follow content."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.chunk import chunk_article
from ingest.documents import Article, Chunk
from ingest.store import load_version
from tests.factories import run_ingest, write_article


def article(body: str, *, title: str = "Setting up", questions: tuple[str, ...] = ()) -> Article:
    return Article(
        id="setup", lang="en", title=title, body=body, source="setup.md", questions=questions
    )


def sections(chunks: list[Chunk]) -> list[Chunk]:
    return [chunk for chunk in chunks if chunk.kind == "section"]


def sentence(n: int) -> str:
    return f"Sentence {n} says the hiking boots can be returned within thirty days."


def test_sections_follow_headings_with_their_path() -> None:
    body = "# Setting up\n\nIntro.\n\n## Install\n\nRun it.\n\n### On Linux\n\nUse apt.\n"

    found = [(c.heading_path, c.text) for c in sections(chunk_article(article(body)))]

    assert found == [
        (("Setting up",), "Intro."),
        (("Setting up", "Install"), "Run it."),
        (("Setting up", "Install", "On Linux"), "Use apt."),
    ]


def test_heading_path_starts_with_the_title_when_the_body_has_no_h1() -> None:
    body = "Intro.\n\n## Costs\n\nFree.\n"

    paths = [c.heading_path for c in sections(chunk_article(article(body, title="Shipping")))]

    assert paths == [("Shipping",), ("Shipping", "Costs")]


def test_hash_inside_a_code_fence_is_not_a_heading() -> None:
    body = (
        "# Setting up\n\n## Install\n\n```bash\n# not a heading\npip install supportbot\n```\n\n"
        "## Next\n\nDone.\n"
    )

    chunks = sections(chunk_article(article(body)))

    assert [c.heading_path for c in chunks] == [
        ("Setting up", "Install"),
        ("Setting up", "Next"),
    ]
    assert "# not a heading\npip install supportbot" in chunks[0].text


def test_long_section_is_cut_at_sentence_boundaries_under_the_chunk_size() -> None:
    sentences = [sentence(n) for n in range(30)]
    body = "# Setting up\n\n## Returns\n\n" + " ".join(sentences) + "\n"

    pieces = sections(chunk_article(article(body), chunk_size=300))

    assert len(pieces) > 5
    for piece in pieces:
        assert len(piece.text) <= 300
        assert piece.heading_path == ("Setting up", "Returns")
        assert re.fullmatch(r"(Sentence \d+ says [^.]*\.\s*)+", piece.text), piece.text
    covered = {int(n) for piece in pieces for n in re.findall(r"Sentence (\d+)", piece.text)}
    assert covered == set(range(30))


def test_short_section_stays_whole() -> None:
    text = " ".join(sentence(n) for n in range(5))

    pieces = sections(chunk_article(article(f"## Returns\n\n{text}\n"), chunk_size=900))

    assert [p.text for p in pieces] == [text]


def test_empty_sections_are_skipped() -> None:
    body = "# Setting up\n\n## Empty\n\n## Also empty\n\n   \n\n## Full\n\nSomething.\n"

    chunks = sections(chunk_article(article(body)))

    assert [c.heading_path for c in chunks] == [("Setting up", "Full")]


def test_title_and_each_distinct_question_are_chunks_of_their_own() -> None:
    questions = ("How do I install it?", "setting up", "How do I install it?", "Is it free?")

    chunks = chunk_article(article("Text.", questions=questions))

    assert [(c.kind, c.text) for c in chunks if c.kind != "section"] == [
        ("title", "Setting up"),
        ("question", "How do I install it?"),  # the title and repeats are not doubled
        ("question", "Is it free?"),
    ]
    assert all(c.heading_path == ("Setting up",) for c in chunks)


def test_embed_text_of_a_section_carries_its_headings() -> None:
    chunks = sections(chunk_article(article("## Costs\n\nFree in Denmark.\n")))

    assert chunks[0].embed_text == "Setting up > Costs\nFree in Denmark."


def test_chunk_ids_are_stable_across_runs(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    write_article(
        kb, "en/a.md", title="A", questions=["Why?"], body="# A\n\nOne.\n\n## B\n\nTwo.\n"
    )

    first = load_version(tmp_path / "one", run_ingest(kb, tmp_path / "one").version)
    second = load_version(tmp_path / "two", run_ingest(kb, tmp_path / "two").version)

    assert [c.id for c in first.chunks] == [c.id for c in second.chunks]
    assert len({c.id for c in first.chunks}) == len(first.chunks)


def test_chunk_id_changes_with_its_text_only() -> None:
    before = chunk_article(article("## Costs\n\nFree.\n\n## Time\n\nTwo days.\n"))
    after = chunk_article(article("## Costs\n\nEUR 4.95.\n\n## Time\n\nTwo days.\n"))

    ids_before = {c.heading_path[-1]: c.id for c in sections(before)}
    ids_after = {c.heading_path[-1]: c.id for c in sections(after)}
    assert ids_before["Time"] == ids_after["Time"]
    assert ids_before["Costs"] != ids_after["Costs"]
    assert before[0].id == after[0].id  # the title chunk


def test_same_text_in_two_articles_gets_two_ids() -> None:
    one = chunk_article(article("Free."))
    other = chunk_article(
        Article(id="other", lang="en", title="Setting up", body="Free.", source="other.md")
    )

    assert {c.id for c in one}.isdisjoint(c.id for c in other)
