"""The FastAPI application factory.

``create_app(settings)`` builds every service from the settings at startup;
``create_app(settings, services=...)`` uses the given ones (tests hand in services bound
to the session's real broker and database). Services are started in the lifespan, on
the server's event loop, and closed when it ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from fraudguard.api.errors import BodyLimit, install_handlers
from fraudguard.api.fastpath import ScoreFastPath
from fraudguard.api.routes import cases, health, lifecycle, reads, rules, score, writes, ws
from fraudguard.api.routes.dashboard import install_dashboard
from fraudguard.api.schemas import record_components
from fraudguard.api.services import Services, build_services
from fraudguard.config import Settings
from fraudguard.heap import freeze_startup


def create_app(settings: Settings, *, services: Services | None = None, freeze_heap: bool = False) -> FastAPI:
    """The API with its routes, error handlers and body limit; services built lazily if not given.

    ``freeze_heap``: once the services have started, keep every object alive then out of the
    garbage collector's full passes (``fraudguard.heap``; the server process only).
    """
    own = services is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import asyncio

        svc = services if services is not None else await asyncio.to_thread(build_services, settings)
        app.state.services = svc
        await svc.start()
        if freeze_heap:
            freeze_startup()
        try:
            yield
        finally:
            if own:
                await svc.close()
            else:
                if svc.batcher is not None:
                    await svc.batcher.stop()
                await svc.stop_background()

    app = FastAPI(
        title="FraudGuard",
        version="0.1.0",
        description="Real-time credit-card fraud scoring, lookups, feedback and live metrics.",
        lifespan=lifespan,
    )
    if services is not None:
        app.state.services = services
    install_handlers(app)
    for module in (health, score, reads, writes, ws, lifecycle, rules, cases):
        app.include_router(module.router)
    install_dashboard(app)
    app.add_middleware(ScoreFastPath)  # inside the body limit: 413 stays the limit's answer
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    _with_transaction_schema(app)
    return app


def _with_transaction_schema(app: FastAPI) -> None:
    """Add the msgspec records' schema components (transaction, score answer) to the OpenAPI document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            doc.setdefault("components", {}).setdefault("schemas", {}).update(record_components())
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
