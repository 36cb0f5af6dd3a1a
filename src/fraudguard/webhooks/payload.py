"""What a webhook body looks like: FraudGuard's JSON envelope, or a Slack incoming-webhook message."""

from __future__ import annotations

from typing import Any

import orjson


def envelope(event_id: str, event_type: str, created_at: str, data: dict[str, Any]) -> dict[str, Any]:
    """``{"id", "type", "created_at", "data"}``: ``id`` is the idempotency key of the event."""
    return {"id": event_id, "type": event_type, "created_at": created_at, "data": data}


def slack_text(event_type: str, data: dict[str, Any]) -> str:
    """One readable line per event for a Slack channel."""
    if event_type == "alert.created":
        a = data.get("alert", {})
        return (
            f":rotating_light: Fraud alert on card `{a.get('card_id')}`: {a.get('amount')} "
            f"(score {float(a.get('ensemble_score') or 0):.2f}), case #{data.get('case_id')}"
        )
    if event_type == "case.resolved":
        c = data.get("case", {})
        return f":white_check_mark: Case #{c.get('id')} on card `{c.get('card_id')}` resolved as {c.get('status')} by {data.get('actor')}"
    if event_type == "rule.changed":
        r = data.get("rule", {})
        return f":gear: Rule `{r.get('name')}` v{r.get('version')} {data.get('change')}: {r.get('state')} / {r.get('action')}"
    return f"FraudGuard event {event_type}"


def body(fmt: str, event_id: str, event_type: str, created_at: str, data: dict[str, Any]) -> bytes:
    """The bytes to POST for an endpoint of format ``json`` or ``slack`` (Slack keeps the envelope too)."""
    doc = envelope(event_id, event_type, created_at, data)
    if fmt == "slack":
        doc = {"text": slack_text(event_type, data), "fraudguard": doc}
    return orjson.dumps(doc)
