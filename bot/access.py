"""Who may open what: conversation tokens and the site's proof of a signed-in customer.

A conversation's bearer token is shown to the visitor once; the database keeps only its
SHA-256, so a leaked database does not open anyone's chat.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.orm import Session

from bot import queries
from bot.errors import NotFound, Unauthorized
from bot.models import Conversation


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
