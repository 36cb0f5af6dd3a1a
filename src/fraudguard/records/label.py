"""The label record: ground truth that arrives after the decision (``labels`` topic, API).

A record of its own because it arrives on its own topic, long after the prediction it
settles; PostgreSQL joins the two on ``transaction_id``.
"""

from __future__ import annotations

from datetime import datetime

import msgspec


class Label(msgspec.Struct, kw_only=True):
    """Ground truth that arrives after the decision (chargeback, analyst review)."""

    transaction_id: str
    is_fraud: bool
    source: str = "analyst"
    labelled_at: datetime | None = None
