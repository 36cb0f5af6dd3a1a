"""Model lifecycle routes: roles and audit (read), promotion and rollback (API key).

The actor written to the audit trail is ``api:`` plus the first 12 hex digits of the
key's SHA-256: enough to tell keys apart, useless to an attacker.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Security
from pydantic import BaseModel, Field

from fraudguard.api.auth import digest
from fraudguard.api.deps import NO_BROKER, ConnDep, ReadKey, ServicesDep, WriteKey, api_key_header
from fraudguard.errors import ModelError
from fraudguard.io import pg_lifecycle
from fraudguard.models import lifecycle

router = APIRouter(tags=["models"])
VERSION_PATTERN = r"^v\d{8}-\d{6}-[0-9a-f]{8}$"


class PromoteIn(BaseModel):
    """Promotion options; ``force`` skips the gate and is audited as forced."""

    force: bool = False
    margin: float = Field(default=lifecycle.DEFAULT_MARGIN, ge=0.0, le=1.0)


def _actor(key: str | None) -> str:
    return "api:" + (digest(key)[:12] if key else "anonymous")


@router.get("/v1/models", dependencies=[ReadKey])
def get_models(services: ServicesDep) -> dict[str, Any]:
    """Champion, challengers, rollback history, each version's evaluation report and the audit trail."""
    root = services.settings.models_dir
    roles = lifecycle.read_roles(root)
    versions = [v for v in [roles.champion, *roles.challengers] if v]
    return {
        **roles.to_dict(),
        "evaluations": {v: lifecycle.read_evaluation(root, v) for v in versions},
        "audit": lifecycle.read_audit(root, limit=20),
    }


@router.get("/v1/models/compare", dependencies=[ReadKey])
def get_compare(conn: ConnDep, limit: Annotated[int, Query(ge=100, le=200_000)] = 20_000) -> dict[str, Any]:
    """Champion vs each challenger on the latest shadow-scored transactions (PostgreSQL; labels win)."""
    return {"pairs": pg_lifecycle.challenger_comparison(conn, limit)}


@router.get("/v1/drift", dependencies=[ReadKey])
def get_drift(services: ServicesDep) -> dict[str, Any]:
    """PSI per feature and score (last hour, last day) against the champion's training reference, alert and events."""
    if services.tracker is None:
        raise HTTPException(503, NO_BROKER)
    drift: dict[str, Any] = services.snapshot().get("drift") or {}
    return drift


@router.post("/v1/models/{version}/promote", dependencies=[WriteKey])
async def post_promote(
    services: ServicesDep,
    version: Annotated[str, Path(pattern=VERSION_PATTERN)],
    key: Annotated[str | None, Security(api_key_header)],
    body: PromoteIn | None = None,
) -> dict[str, Any]:
    """Make a challenger champion if it passes the PR-AUC gate (409 with the comparison if not)."""
    opts = body or PromoteIn()
    root = services.settings.models_dir
    try:
        return await asyncio.to_thread(
            lifecycle.promote, root, version, actor=_actor(key), force=opts.force, margin=opts.margin
        )
    except lifecycle.PromotionRefused as e:
        raise HTTPException(409, {"error": "promotion refused", "gate": e.gate}) from e
    except ModelError as e:
        if "not found" in str(e):
            raise HTTPException(404, "model version not found") from e
        if "already the champion" in str(e):
            raise HTTPException(409, "already the champion") from e
        raise


@router.post("/v1/models/rollback", dependencies=[WriteKey])
async def post_rollback(services: ServicesDep, key: Annotated[str | None, Security(api_key_header)]) -> dict[str, Any]:
    """Bring back the previous champion (409 when there is none)."""
    try:
        return await asyncio.to_thread(lifecycle.rollback, services.settings.models_dir, actor=_actor(key))
    except ModelError as e:
        raise HTTPException(409, "no previous champion") from e
