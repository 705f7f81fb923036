"""Who may open what: conversation tokens and the site's proof of a signed-in customer.

A conversation's bearer token is shown to the visitor once; the database keeps only its
SHA-256, so a leaked database does not open anyone's chat.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from bot import queries
from bot.errors import NotFound, Unauthorized
from bot.models import Conversation
from bot.ratelimit import Counters


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def verify_identity(external_id: str, user_hash: str | None, secret: str) -> bool:
    """A site proves a logged-in customer with HMAC-SHA256(identity secret, external_id)."""
    if not user_hash or not user_hash.isascii():
        # compare_digest refuses (TypeError) a str with non-ASCII characters; such a hash
        # is simply wrong.
        return False
    expected = hmac.new(
        secret.encode("utf-8"), external_id.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, user_hash.lower())


def authorise(
    session: Session, conversation_id: str, token: str | None, *, lock: bool = False
) -> Conversation:
    """The conversation, if `token` is its own. A valid token for another conversation gets
    404 (it reveals nothing about this one); a token nobody has gets 401. `lock` serialises
    writers on the conversation."""
    if not token:
        raise Unauthorized("missing bearer token (Authorization: Bearer <token>)")
    token_hash = hash_token(token)
    conversation = queries.get_conversation(
        session=session, conversation_id=conversation_id, lock=lock
    )
    if conversation is not None and hmac.compare_digest(token_hash, conversation.token_hash):
        return conversation
    if queries.token_exists(session=session, token_hash=token_hash):
        raise NotFound("conversation not found")
    raise Unauthorized("invalid token")


class StreamTickets:
    """Short-lived, single-use passes for a conversation's event stream.

    A browser's EventSource cannot send an `Authorization` header, and a bearer token in the
    URL would be written to access logs. So the widget asks for a ticket with its token
    (`POST .../stream-ticket`) and opens `.../events?ticket=...`: the ticket is signed for that
    one conversation, works only on the events URL, expires within a minute and is spent by its
    first use (shared through Redis when configured), so a logged one is already useless."""

    SECONDS = 60

    def __init__(self, secret: str, counters: Counters, clock: Callable[[], float] = time.time):
        self._secret = secret.encode("utf-8")
        self._counters = counters
        self._clock = clock

    def issue(self, conversation_id: str) -> str:
        nonce = secrets.token_urlsafe(12)
        expires = int(self._clock()) + self.SECONDS
        return f"{nonce}.{expires}.{self._sign(conversation_id, nonce, expires)}"

    def redeem(self, ticket: str, conversation_id: str) -> bool:
        """True once for a valid, unexpired ticket of this conversation; False otherwise."""
        nonce, _, rest = ticket.partition(".")
        expires_text, _, signature = rest.partition(".")
        if not nonce or not expires_text.isascii() or not expires_text.isdigit():
            return False
        expires = int(expires_text)
        if expires < self._clock() or expires > self._clock() + self.SECONDS + 5:
            return False
        expected = self._sign(conversation_id, nonce, expires)
        if not hmac.compare_digest(expected.encode("utf-8"), signature.encode("utf-8", "replace")):
            return False
        return self._counters.incr(f"ticket:{nonce}", self.SECONDS + 5) == 1

    def _sign(self, conversation_id: str, nonce: str, expires: int) -> str:
        message = f"stream-ticket|{conversation_id}|{nonce}|{expires}".encode("utf-8", "replace")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]
