"""The one settings object. Every knob is an environment variable with the prefix `SUPPORTBOT_`
(or a line in `.env`); nothing else in the code reads `os.environ`. The ingestion knobs are
defined in `ingest.settings` (ingestion must run without the bot) and inherited here."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from ingest.settings import IngestSettings

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev-secret-change-me"}

_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class Settings(IngestSettings):
    """Runtime configuration; see the README's settings table for what each one does.

    The knowledge base, index, language and model settings (and the `SUPPORTBOT_` prefix and
    `.env` file) come from `IngestSettings`."""

    environment: Literal["development", "test", "production"] = "development"

    # Index (where it lives and how it is built: `IngestSettings`)
    index_poll_seconds: float = Field(2.0, gt=0, le=300)

    # Storage and events
    database_url: str = "sqlite:///var/supportbot.sqlite3"
    redis_url: str | None = None

    # Chat
    max_message_chars: int = Field(2000, ge=10, le=100_000)
    # Any request body (JSON or form); larger ones get 413 before they are read whole.
    max_body_bytes: int = Field(256 * 1024, ge=16 * 1024, le=16 * 1024 * 1024)
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
    delivery_poll_seconds: float = Field(1.0, gt=0, le=60)
    delivery_backoff_seconds: float = Field(5.0, gt=0)
    delivery_backoff_max_seconds: float = Field(3600.0, gt=0)

    # Server
    public_base_url: str = "http://127.0.0.1:8000"
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()
    session_max_age_seconds: int = Field(12 * 3600, ge=60)

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
