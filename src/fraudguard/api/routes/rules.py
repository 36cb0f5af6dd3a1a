"""Rules: list, create, change (a new version each time), history; and the backtest.

Writes need an API key. The audit log records ``X-Actor`` (who, as the client says) with
a fingerprint of the key used (which credential), never the key itself.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path

from fraudguard.api.deps import ConnDep, ReadKey, ServicesDep, WriteKey
from fraudguard.api.rule_schemas import BacktestIn, BacktestOut, RuleChange, RuleHistoryOut, RuleIn, RuleOut
from fraudguard.errors import ValidationError
from fraudguard.io import pg_rules

router = APIRouter(tags=["rules"])
RuleId = Annotated[int, Path(ge=1, le=2**62)]
NO_HISTORY = "no prediction history (parquet directory empty)"


def actor(
    x_actor: Annotated[str | None, Header(max_length=120)] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> str:
    """``name (key 1a2b3c4d)``: who says they act, and a fingerprint of the key they used."""
    who = (x_actor or "api").strip() or "api"
    if x_api_key:
        who += f" (key {hashlib.sha256(x_api_key.encode('utf-8', 'surrogatepass')).hexdigest()[:8]})"
    return who


def _not_found() -> HTTPException:
    return HTTPException(404, pg_rules.NOT_FOUND)


@router.get("/v1/rules", dependencies=[ReadKey], response_model=list[RuleOut])
def get_rules(conn: ConnDep, state: str | None = None) -> Any:
    """Current version of every rule, highest priority first (``?state=active`` to filter)."""
    if state is not None and state not in ("draft", "shadow", "active"):
        raise ValidationError("state", "must be draft, shadow or active")
    return pg_rules.list_rules(conn, state)


@router.post("/v1/rules", dependencies=[WriteKey], response_model=RuleOut, status_code=201)
def post_rule(body: RuleIn, conn: ConnDep, who: Annotated[str, Depends(actor)]) -> Any:
    """Store a new rule (version 1); 422 names the position of a bad condition."""
    return pg_rules.create_rule(conn, body.model_dump(), actor=who)


@router.put("/v1/rules/{rule_id}", dependencies=[WriteKey], response_model=RuleOut)
def put_rule(rule_id: RuleId, body: RuleChange, conn: ConnDep, who: Annotated[str, Depends(actor)]) -> Any:
    """Change a rule (e.g. ``{"state": "active"}``); engines apply it from their next batch."""
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise ValidationError("$", "nothing to change")
    try:
        return pg_rules.update_rule(conn, rule_id, changes, actor=who)
    except pg_rules.RuleNotFound as e:
        raise _not_found() from e


@router.get("/v1/rules/{rule_id}/history", dependencies=[ReadKey], response_model=RuleHistoryOut)
def get_history(rule_id: RuleId, conn: ConnDep) -> Any:
    """Every version of the rule and its audit log (who changed what, when)."""
    try:
        rule = pg_rules.get_rule(conn, rule_id)
        return {"rule": rule, **pg_rules.rule_history(conn, rule_id)}
    except pg_rules.RuleNotFound as e:
        raise _not_found() from e


@router.post("/v1/rules/backtest", dependencies=[WriteKey], response_model=BacktestOut)
async def post_backtest(body: BacktestIn, services: ServicesDep) -> Any:
    """Run a condition over the Parquet history with DuckDB: per day hits, precision, recall, overlap."""
    from fraudguard.io.backtest import backtest, parse_since

    since = parse_since(body.since)
    result = await asyncio.to_thread(backtest, services.settings.parquet_dir, body.condition, since=since)
    return {**result, "since": body.since}
