"""The one settings object. Every knob is an environment variable with the prefix `SUPPORTBOT_`
(or a line in `.env`); nothing else in the code reads `os.environ`. The ingestion knobs are
defined in `ingest.settings` (ingestion must run without the bot) and inherited here."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import socket
from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from ingest.embed import PREVIOUS_DEFAULT_MODEL
from ingest.settings import IngestSettings

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev-secret-change-me"}

_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_PUBLIC_URL = re.compile(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", re.IGNORECASE)
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000
DEFAULT_PUBLIC_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"


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
    # Every Redis key and channel starts with this: servers of two sites (or two test runs)
    # can share one Redis without hearing each other's events or counting each other's hits.
    redis_prefix: str = Field("supportbot:", min_length=1, max_length=100)

    # Chat
    max_message_chars: int = Field(2000, ge=10, le=100_000)
    # Any request body (JSON or form); larger ones get 413 before they are read whole.
    max_body_bytes: int = Field(256 * 1024, ge=16 * 1024, le=16 * 1024 * 1024)
    # Rate limits (README, "Rate limits"). A conversation's token is the visitor: its limit
    # protects. An address only gets a flood ceiling: a whole office or a mobile carrier's
    # customers can share one.
    rate_limit_per_minute: int = Field(30, ge=1)  # messages (and typing) per conversation
    conversations_per_minute_per_address: int = Field(600, ge=1)
    messages_per_minute_per_address: int = Field(3000, ge=1)
    answer_max_chars: int = Field(700, ge=100, le=5000)
    llm_provider: Literal["none", "openai", "ollama", "fake"] = "none"
    llm_model: str = ""
    llm_timeout_seconds: float = Field(8.0, gt=0, le=120)
    # Read a short follow-up ("and to Denmark?") with the conversation's previous question
    follow_up_context: bool = True

    # Handoff
    secret_key: str = "dev-secret-change-me"  # noqa: S105 - refused in production
    identity_secret: str = "dev-secret-change-me"  # noqa: S105
    webhook_url: str | None = None
    # The webhook's receiver (a helpdesk) answers the customer by email: the bot may then offer
    # an email reply without SMTP. Needs SUPPORTBOT_WEBHOOK_URL.
    webhook_replies_by_email: bool = False
    webhook_secret: str = "dev-secret-change-me"  # noqa: S105
    business_timezone: str = "Europe/Berlin"
    # The agents' time zone for every time the console shows; unset: the business time zone.
    console_timezone: str | None = None
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

    # Speed: visitors' questions arriving together are encoded in one batch (1: no batching);
    # a busy encoder lets stragglers join for up to the window, a lone question never waits.
    query_batch_max: int = Field(32, ge=1, le=256)
    query_batch_window_ms: float = Field(1.0, ge=0, le=5)

    # Server
    metrics_token: str | None = None  # `/metrics` asks for it as a bearer token when set
    # The address people and webhooks reach the server at, for every absolute link
    # (the packet's `console_url`). Unset: `supportbot serve` sets it to where it listens.
    public_url: str | None = None
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()
    session_max_age_seconds: int = Field(12 * 3600, ge=60)
    # Proxies (addresses or CIDRs) whose X-Forwarded-For names the client; nobody else's is read
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    # Console login: failures allowed per account and per address before each further
    # attempt waits, doubling from 1 s up to the maximum
    login_free_failures: int = Field(5, ge=1)
    login_max_delay_seconds: float = Field(900.0, gt=0)

    @property
    def legacy_embedding_model(self) -> str | None:
        """The previous default model while `embedding_model` is left unset, else None.

        Upgrading must not take a running bot offline: an index built with the old default
        keeps serving (with that model) until the next `supportbot ingest` re-embeds it with
        the new one. An explicitly chosen model is held to strictly, as before."""
        return None if "embedding_model" in self.model_fields_set else PREVIOUS_DEFAULT_MODEL

    # Privacy: e-mail addresses, phone, IBAN and card numbers are always redacted in logs;
    # these redact them also in stored visitor messages and in what a chat model is sent.
    redact_transcripts: bool = False
    redact_llm_input: bool = True
    # Conversations untouched for this many days are deleted (None: kept)
    retention_days: int | None = Field(None, ge=1)
    retention_poll_seconds: float = Field(3600.0, gt=0)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, list | tuple):
            for part in value:
                try:
                    ipaddress.ip_network(str(part), strict=False)
                except ValueError:
                    raise ValueError(
                        f"trusted_proxies: {part!r} is not an address or CIDR like 10.0.0.0/8"
                    ) from None
            return tuple(str(part) for part in value)
        return value

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, list | tuple):
            return tuple(_origin(str(part)) for part in value)
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = value.strip().rstrip("/")
        if not _PUBLIC_URL.match(url):
            raise ValueError(
                f"public_url: {value!r} is not an address like https://support.example "
                "(http or https, a host, optional port and path)"
            )
        return url

    @field_validator("business_timezone", "console_timezone")
    @classmethod
    def _check_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"{value!r} is not a time zone like Europe/Berlin") from None
        return value

    @property
    def public_base_url(self) -> str:
        """Where absolute links point: `public_url`, else the default serve address."""
        return self.public_url or DEFAULT_PUBLIC_URL

    @property
    def agent_timezone(self) -> ZoneInfo:
        """The time zone of every time shown to an agent."""
        return ZoneInfo(self.console_timezone or self.business_timezone)

    @field_validator("business_hours")
    @classmethod
    def _check_hours(cls, value: str) -> str:
        parse_business_hours(value)
        return value

    @property
    def replies_by_email(self) -> bool:
        """Whether an answer can reach a visitor by email: an SMTP relay, or a webhook whose
        receiver writes the email. Without one, the bot never offers (or asks for) email."""
        return bool(self.smtp_host) or self.webhook_replies_by_email

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.webhook_replies_by_email and not self.webhook_url:
            raise ValueError(
                "SUPPORTBOT_WEBHOOK_REPLIES_BY_EMAIL needs SUPPORTBOT_WEBHOOK_URL: "
                "without a webhook nobody would write the email"
            )
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


def listen_url(host: str, port: int) -> str:
    """The address a server bound to `host`:`port` is reached at. A wildcard host (0.0.0.0,
    ::) is this machine's name: the one address other machines can use."""
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - recognising, not binding
        host = socket.getfqdn()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


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
