"""Split an article into searchable chunks at its headings, keeping the heading path.

Titles and alternate questions become chunks of their own: they are how visitors phrase
things, and matching one of them is the strongest signal retrieval has.
"""

from __future__ import annotations

from functools import lru_cache

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from ingest.documents import Article, Chunk

_HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4")]


@lru_cache(maxsize=8)
def _splitters(
    chunk_size: int,
) -> tuple[MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter]:
    headers = MarkdownHeaderTextSplitter(headers_to_split_on=_HEADERS, strip_headers=True)
    # Long sections are cut at paragraph, then sentence boundaries, with a little overlap so a
    # fact that straddles a cut is still found whole in one of the pieces.
    long = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=min(150, chunk_size // 6),
        separators=["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
        keep_separator="end",
    )
    return headers, long


def chunk_article(article: Article, *, chunk_size: int = 900) -> list[Chunk]:
    """The title, each alternate question, and each (possibly cut) section of the body."""
    chunks = [Chunk(article.id, "title", article.title, (article.title,))]
    seen = {article.title.casefold()}
    for question in article.questions:
        if question.casefold() not in seen:
            seen.add(question.casefold())
            chunks.append(Chunk(article.id, "question", question, (article.title,)))
    headers, long = _splitters(chunk_size)
    for section in headers.split_text(article.body):
        text = section.page_content.strip()
        if not text:
            continue  # a heading with nothing under it says nothing a visitor asks about
        path = tuple(str(section.metadata[key]) for _, key in _HEADERS if key in section.metadata)
        if not path or path[0] != article.title:
            path = (article.title, *path)
        pieces = [text] if len(text) <= chunk_size else long.split_text(text)
        chunks.extend(
            Chunk(article.id, "section", piece.strip(), path) for piece in pieces if piece.strip()
        )
    return chunks
