"""Operator endpoints: liveness with the facts that matter, readiness for load balancers."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from bot.deps import Context, Token
from bot.errors import NotFound, Unauthorized
from bot.metrics import CONTENT_TYPE

router = APIRouter(tags=["operator"])


@router.get("/healthz")
async def healthz(context: Context) -> dict[str, Any]:
    """Which index and model serve, how big the index is, whether the database answers."""
    serving = context.index.current
    index: dict[str, Any] | None = None
    if serving is not None:
        manifest = serving.index.manifest
        index = {
            "version": serving.index.name,
            "created_at": manifest.get("created_at"),
            "articles": manifest["counts"]["articles"],
            "chunks": manifest["counts"]["chunks"],
            "calibrated": serving.calibration is not None,
        }
    database = await run_in_threadpool(context.db.ping)
    return {
        "status": "ok" if database and index else "degraded",
        # the model that serves: the index's, when it is one built with the previous default
        "model": (serving.retriever.embedder if serving is not None else context.embedder).name,
        "index": index,
        "index_error": context.index.last_error,
        "database": database,
        "events": "redis" if context.settings.redis_url else "in-process",
    }


@router.get("/readyz")
async def readyz(context: Context) -> JSONResponse:
    """200 once the model, an index and the database are there; 503 before."""
    ready = context.index.current is not None and await run_in_threadpool(context.db.ping)
    return JSONResponse({"ready": ready}, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
async def metrics(context: Context, token: Token) -> Response:
    """Prometheus text format. With `SUPPORTBOT_METRICS_TOKEN` set, only for that bearer token;
    without it, open in development and test, and not served in production."""
    expected = context.settings.metrics_token
    if expected is None:
        if context.settings.environment == "production":
            raise NotFound("set SUPPORTBOT_METRICS_TOKEN to serve /metrics in production")
    elif token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("/metrics needs the metrics token as a bearer token")
    body = await run_in_threadpool(context.metrics.render)
    return Response(body, media_type=CONTENT_TYPE)
