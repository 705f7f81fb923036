"""The OpenAPI schema says every answer the API really gives, errors included.

FastAPI documents what a route declares; the answers that come from elsewhere (the JSON
parser, `bot.limits.RequestLimits`, the router's 405, the validation handler's own shape)
are added here, each with the one error body `{"error": {"code", "message"}}`. The schema
fuzz test (tests/test_schema_fuzz.py) holds the API to this.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

_EVERYWHERE = {
    "400": "Malformed JSON, a Content-Length that is not a number, or a NUL byte in the URL",
    "405": "The path does not take this method (`Allow` lists those it takes)",
}
_WITH_BODY = {"413": "The body is over the server's `max_body_bytes` (refused unread)"}
_WITH_INPUT = {
    "422": "Invalid input: a wrong type, a string too long or holding a NUL or a lone "
    "surrogate, a number out of range or not finite"
}
_METHODS = {"get", "put", "post", "delete", "patch"}


def document_errors(app: FastAPI) -> None:
    """Make `app.openapi()` include the error answers every operation can give."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
            for item in schema.get("paths", {}).values():
                for method, operation in item.items():
                    if method in _METHODS:
                        _add_errors(operation)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_errors(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    extra = dict(_EVERYWHERE)
    if "requestBody" in operation:
        extra |= _WITH_BODY
    if "requestBody" in operation or operation.get("parameters"):
        extra |= _WITH_INPUT
    for status, description in extra.items():
        responses.setdefault(status, {"description": description})
    for status, response in responses.items():
        if status[0] in "45":
            # Our handlers answer every error in one shape, FastAPI's 422 included.
            response["content"] = _ERROR
