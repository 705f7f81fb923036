"""A small error tree, each class with its HTTP status, and one JSON shape for the API:
`{"error": {"code": ..., "message": ...}}`. The console renders the same errors as a page."""

from __future__ import annotations


class SupportbotError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(SupportbotError):
    status, code = 400, "bad_request"


class Unauthorized(SupportbotError):
    status, code = 401, "unauthorized"


class Forbidden(SupportbotError):
    status, code = 403, "forbidden"


class NotFound(SupportbotError):
    status, code = 404, "not_found"


class Conflict(SupportbotError):
    status, code = 409, "conflict"


class PayloadTooLarge(SupportbotError):
    status, code = 413, "payload_too_large"


class Unprocessable(SupportbotError):
    status, code = 422, "validation_error"


class TooManyRequests(SupportbotError):
    status, code = 429, "rate_limited"


class Unavailable(SupportbotError):
    """Something we depend on (the database) is down: retry shortly."""

    status, code = 503, "unavailable"
