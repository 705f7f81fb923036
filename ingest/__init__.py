"""Ingestion: turn the files in `kb_docs/` into a versioned hybrid (dense + lexical) index."""
