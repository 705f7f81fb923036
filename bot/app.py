"""`create_app(settings)`: routers, error shape, static widget, and a lifespan that loads the
model and the index once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot import security
from bot.config import Settings, get_settings
from bot.console.auth import LoginRequired
from bot.context import AppContext
from bot.errors import SupportbotError, Unavailable
from bot.limits import RequestLimits
from bot.metrics import RequestTimer
from bot.openapi import document_errors
from bot.redact import install_log_redaction
from bot.routes import agent_api, chat, console, health

log = logging.getLogger(__name__)

WIDGET_DIR = Path(__file__).resolve().parent.parent / "widget"
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


def create_app(settings: Settings | None = None, *, context: AppContext | None = None) -> FastAPI:
    """Build the app. Pass `context` (tests) to inject a hash embedder, a clock or a bus."""
    install_log_redaction()
    settings = settings or (context.settings if context else get_settings())
    ctx = context or AppContext.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(ctx.warm_up)
        ctx.start_workers()
        yield
        await ctx.close()

    app = FastAPI(
        title="supportbot",
        version="0.1.0",
        lifespan=lifespan,
        description="Support chat that answers from your knowledge base and hands "
        "off to a person with the whole conversation.",
    )
    app.state.context = ctx
    app.add_middleware(RequestTimer, metrics=ctx.metrics)
    app.add_middleware(RequestLimits, max_body_bytes=settings.max_body_bytes)
    _install_routes(app)
    _install_errors(app)
    _install_widget(app)
    document_errors(app)
    security.install(
        app, allowed_origins=settings.allowed_origins, public_base_url=settings.public_base_url
    )
    return app


def _install_routes(app: FastAPI) -> None:
    """Every router, one per audience: the widget's API, health, the console and its API."""
    for router in (chat.router, health.router, console.router, agent_api.router):
        app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=console.STATIC), name="console-static")
    app.add_exception_handler(LoginRequired, console.login_required)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        # Every browser asks for it on every page; without it the log fills with 404s.
        return FileResponse(
            console.STATIC / "favicon.ico",
            media_type="image/x-icon",
            headers={"Cache-Control": "public, max-age=86400"},
        )


def _wants_json(request: Request) -> bool:
    return not request.url.path.startswith("/console")


def _install_errors(app: FastAPI) -> None:
    def render(request: Request, status: int, code: str, message: str) -> Response:
        if not _wants_json(request):
            return console.error_page(request, status, message)
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)

    @app.exception_handler(SupportbotError)
    async def _ours(request: Request, exc: SupportbotError) -> Response:
        return render(request, exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return render(request, 400, "malformed_json", "the body is not valid JSON")
        return render(request, 422, "validation_error", "; ".join(_describe(e) for e in errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _STATUS_CODES.get(exc.status_code, "error")
        return render(request, exc.status_code, code, str(exc.detail))

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_down(request: Request, exc: Exception) -> Response:
        # No connection (PostgreSQL restarting, SQLite locked too long): fail fast with 503
        # and let the pool reconnect on the next request (`pool_pre_ping`).
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        error = Unavailable("the database is not reachable right now; try again in a moment")
        response = render(request, error.status, error.code, error.message)
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return render(request, 500, "internal_error", "something went wrong on our side")


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
    return f"{where}: {error.get('msg')}" if where else str(error.get("msg"))


def _install_widget(app: FastAPI) -> None:
    if not WIDGET_DIR.is_dir():
        return
    app.mount("/widget", StaticFiles(directory=WIDGET_DIR), name="widget")

    @app.get("/demo", include_in_schema=False)
    async def demo() -> FileResponse:
        return FileResponse(WIDGET_DIR / "demo.html", media_type="text/html")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/demo")
