"""Support agents: argon2 password hashes, console sessions, API tokens and presence.

Keyword-only queries that take the session first and never commit (the caller's unit of work
decides). A session row stores only the SHA-256 of its token, like conversation tokens: a
leaked database does not let anyone into the console.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.access import hash_token, new_token
from bot.models import Agent, AgentSession

ROLES = ("agent", "lead")
PRESENCES = ("online", "away")
MIN_PASSWORD_CHARS = 10

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs as long as a wrong
# password and response times do not reveal who has an account.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class AgentError(ValueError):
    """A request about agents that cannot be done (duplicate email, weak password...)."""


@dataclass(frozen=True)
class Login:
    """Who is signed in for this request: a snapshot, safe to use outside the DB session."""

    agent_id: str
    name: str
    email: str
    role: str
    presence: str
    csrf_token: str
    via: str  # "cookie" | "token"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_agent(
    *, session: Session, email: str, name: str, password: str, role: str = "agent"
) -> Agent:
    """Add an agent; the password is stored only as an argon2 hash."""
    email = email.strip().lower()
    if "@" not in email:
        raise AgentError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise AgentError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_CHARS:
        raise AgentError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    if get_agent_by_email(session=session, email=email) is not None:
        raise AgentError(f"an agent with the email {email} exists already")
    agent = Agent(email=email, name=name.strip(), role=role, password_hash=hash_password(password))
    session.add(agent)
    session.flush()
    return agent


def get_agent_by_email(*, session: Session, email: str) -> Agent | None:
    return session.scalar(select(Agent).where(Agent.email == email.strip().lower()))


def list_agents(*, session: Session) -> Sequence[Agent]:
    return session.scalars(select(Agent).order_by(Agent.email)).all()


def authenticate(*, session: Session, email: str, password: str) -> Agent | None:
    """The agent with this email and password, or None (without saying which was wrong)."""
    agent = get_agent_by_email(session=session, email=email)
    if agent is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(agent.password_hash, password):
        return None
    if _hasher.check_needs_rehash(agent.password_hash):
        agent.password_hash = hash_password(password)
    return agent


def start_session(*, session: Session, agent: Agent, now: dt.datetime, max_age_seconds: int) -> str:
    """A new console session for `agent`; returns the token for the cookie."""
    token = new_token()
    session.add(
        AgentSession(
            token_hash=hash_token(token),
            agent_id=agent.id,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=now + dt.timedelta(seconds=max_age_seconds),
            created_at=now,
        )
    )
    agent.presence = "online"
    agent.last_seen_at = now
    session.flush()
    return token


def issue_api_token(*, session: Session, agent: Agent, now: dt.datetime, days: int) -> str:
    """A long-lived bearer token for the agent API (`Authorization: Bearer ...`). It is a
    session row like a login, so revoking one is deleting its row."""
    token = new_token()
    session.add(
        AgentSession(
            token_hash=hash_token(token),
            agent_id=agent.id,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=now + dt.timedelta(days=days),
            created_at=now,
        )
    )
    session.flush()
    return token


def resolve_session(
    *, session: Session, token: str, now: dt.datetime, via: str, touch: bool = True
) -> Login | None:
    """The login behind `token`, if it exists and has not expired. `touch` refreshes the
    agent's `last_seen_at`, which is what keeps them counted as online."""
    row = session.get(AgentSession, hash_token(token))
    if row is None:
        return None
    if row.expires_at <= now:
        session.delete(row)
        return None
    agent = row.agent
    if touch:
        agent.last_seen_at = now
    return Login(
        agent_id=agent.id,
        name=agent.name,
        email=agent.email,
        role=agent.role,
        presence=agent.presence,
        csrf_token=row.csrf_token,
        via=via,
    )


def end_session(*, session: Session, token: str) -> None:
    """Log out: forget the session and stop counting the agent as online."""
    row = session.get(AgentSession, hash_token(token))
    if row is None:
        return
    row.agent.presence = "offline"
    session.delete(row)


def set_presence(*, session: Session, agent_id: str, presence: str, now: dt.datetime) -> None:
    if presence not in PRESENCES:
        raise AgentError(f"presence must be one of {', '.join(PRESENCES)}")
    agent = session.get(Agent, agent_id)
    if agent is not None:
        agent.presence = presence
        agent.last_seen_at = now


def touch(*, session: Session, agent_id: str, now: dt.datetime) -> None:
    """Seen just now (the console's live stream calls this while a page stays open)."""
    agent = session.get(Agent, agent_id)
    if agent is not None:
        agent.last_seen_at = now


def purge_expired_sessions(*, session: Session, now: dt.datetime) -> None:
    session.execute(delete(AgentSession).where(AgentSession.expires_at <= now))
