"""Operator endpoints: liveness with the facts that matter, readiness for load balancers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from bot.deps import Context

router = APIRouter(tags=["operator"])


@router.get("/healthz")
async def healthz(context: Context) -> dict[str, Any]:
    """Which index and model serve, how big the index is, whether the database answers."""
    retriever = context.index.current
    index: dict[str, Any] | None = None
    if retriever is not None:
        manifest = retriever.index.manifest
        index = {
            "version": retriever.index.name,
            "created_at": manifest.get("created_at"),
            "articles": manifest["counts"]["articles"],
            "chunks": manifest["counts"]["chunks"],
            "calibrated": retriever.calibration is not None,
        }
    database = await run_in_threadpool(context.db.ping)
    return {
        "status": "ok" if database and index else "degraded",
        # the model that serves: the index's, when it is one built with the previous default
        "model": retriever.embedder.name if retriever is not None else context.embedder.name,
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
