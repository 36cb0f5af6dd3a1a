"""Scoring for the API: the stream's feature pipeline and scorer, plus what a recorded call writes.

``record=True`` is the API acting as an engine for that transaction: card/merchant state is
updated, the prediction is published to ``predictions`` (and ``fraud_alerts`` when decided
fraud) and stored in PostgreSQL, so metrics and WebSockets see it once.

At least once, in this order: features are computed without changing state; the
prediction (and the challengers' shadow scores) goes through the API's
:class:`~fraudguard.io.sinks.base.SinkSet` (``build_api_sinks``), whose ``deliver``
returns only after the broker's delivery reports (up to 10 s) and then PostgreSQL, the
set's ledger, written only once Kafka has the prediction; only then is the card/merchant
state updated. If the broker or the database fails, the caller gets 503 and no state
changed, so a retry is scored and counted as if it were the first call (a message the
broker accepted before the failure appears on the topic again: at-least-once).
``record=False`` is a what-if: the pipeline runs with ``update=False`` and nothing is
written anywhere.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from typing import Any

import pandas as pd

from fraudguard import schema
from fraudguard.admission import DEFAULT_MAX_EXTRAS, bound_extras, known_extras
from fraudguard.api.idempotency import RecordedLog, assemble, triage
from fraudguard.api.lone import inline_ok, score_alone
from fraudguard.features.pipeline import FeaturePipeline
from fraudguard.io.sinks.base import PredictionBatch, SinkSet
from fraudguard.models.scorer import Scorer
from fraudguard.records import prediction_records

log = logging.getLogger(__name__)


def what_if_rounds(groups: list[list[schema.Transaction]]) -> list[list[schema.Transaction]]:
    """Pack what-if submissions into as few pipeline passes as possible, never coupling them.

    Two submissions share a pass only when they touch no common card AND no common
    merchant: card features read the card's rows, merchant features the merchant's
    completed time buckets, so a row of one submission could otherwise become history for
    another's (it did across a bucket boundary: a what-if scored 0.031 with company and
    0.0054 alone). Features depend on nothing else, so every what-if scores exactly as
    alone. With many distinct cards and merchants (the usual case) everything is one pass.
    """
    rounds: list[tuple[list[schema.Transaction], set[str], set[str]]] = []
    for txs in groups:
        cards = {t.card_id for t in txs}
        merchants = {t.merchant_id for t in txs}
        for members, used_cards, used_merchants in rounds:
            if used_cards.isdisjoint(cards) and used_merchants.isdisjoint(merchants):
                members.extend(txs)
                used_cards |= cards
                used_merchants |= merchants
                break
        else:
            rounds.append((list(txs), cards, merchants))
    return [members for members, _, _ in rounds]


class ScoringService:
    """Scores batches of transactions; only ever called from one thread at a time (the batcher).

    Parameters
    ----------
    scorer, pipeline
        The models and the feature state (shared with the stream when the state is in Redis).
    sinks
        Where recorded predictions go (:func:`~fraudguard.io.sinks.build.build_api_sinks`);
        its ledger (PostgreSQL) also answers the idempotency check. ``None``: nothing is written.
    rules
        Optional :class:`~fraudguard.io.rule_watcher.RuleWatcher`: checked at each
        micro-batch (the API's batch boundary), applied to every prediction of the batch.
    """

    def __init__(
        self,
        scorer: Scorer,
        pipeline: FeaturePipeline,
        *,
        sinks: SinkSet | None = None,
        max_extras: int = DEFAULT_MAX_EXTRAS,
        rules: Any | None = None,
    ) -> None:
        self.scorer, self.pipeline, self.sinks = scorer, pipeline, sinks
        self.rules = rules
        self.max_extras = max_extras
        self.recorded_log = RecordedLog()
        self.extras_dropped = 0
        """Extras pairs dropped so far: over ``max_extras`` or unknown to the model (admission.py)."""
        self._lock = threading.Lock()
        self.shadow: Any | None = None
        """Optional :class:`~fraudguard.api.shadow.ApiShadow`: challengers score recorded calls
        into the buffer the set's challenger sinks read."""

    def process(
        self, groups: list[tuple[Sequence[schema.Transaction], bool]]
    ) -> list[list[schema.Prediction] | Exception]:
        """Answers for the submissions of one micro-batch: ids already recorded are not scored again.

        See :mod:`fraudguard.api.idempotency`: a recorded id re-posted with the same content
        gets its stored decision (a :class:`StoredPrediction`), with other content a 409
        (an exception in its slot, which the batcher raises to that caller only).
        """
        ledger = self.sinks.ledger if self.sinks is not None else None
        lookup = self._lookup if hasattr(ledger, "stored") else None
        scored_groups, slots, errors = triage(groups, self.recorded_log, lookup)
        preds = self._score(scored_groups) if any(txs for txs, _ in scored_groups) else [[] for _ in scored_groups]
        self.recorded_log.add_many([p for (_, rec), ps in zip(scored_groups, preds, strict=True) if rec for p in ps])
        return assemble(slots, preds, errors)

    def _lookup(self, ids: list[str]) -> dict[str, schema.Prediction]:
        frame = self.sinks.ledger.stored(ids)  # type: ignore[union-attr]
        return {p.transaction_id: p for p in prediction_records(frame)} if len(frame) else {}

    def _score(self, submitted: Sequence[tuple[Sequence[schema.Transaction], bool]]) -> list[list[schema.Prediction]]:
        """Score the submissions of one micro-batch with one model call.

        Recorded submissions go through the pipeline together (the same as one after the
        other), first with ``update=False``; their state is applied with ``update=True``
        only after every sink took the predictions (module docstring). Each what-if gets its own
        ``update=False`` pass, so it sees the recorded state and its own rows, never
        another request's. Features are cheap; the model call, shared by all, is not.
        """
        groups = [(self._bound(txs), rec) for txs, rec in submitted]
        if all(len(txs) == 1 for txs, _ in groups):  # lone transactions: maybe no frame at all (lone.py)
            with self._lock:
                alone = score_alone(self, groups)
            if alone is not None:
                return alone
        frames: list[pd.DataFrame] = []
        features: list[pd.DataFrame] = []
        now = pd.Timestamp.now(tz="UTC")
        recorded = [tx for txs, rec in groups if rec for tx in txs]
        whatifs = [list(txs) for txs, rec in groups if not rec]
        with self._lock:
            parts = ([(recorded, True)] if recorded else []) + [(r, False) for r in what_if_rounds(whatifs)]
            for txs, _rec in parts:
                frame = schema.to_frame(txs)
                frames.append(frame)
                features.append(self.pipeline.transform(frame, update=False))
            feats = features[0] if len(features) == 1 else pd.concat(features, ignore_index=True)
            rules = None
            if self.rules is not None:  # the API's batch boundary: pick up changed rules
                self.rules.check()
                rules = self.rules.current if self.rules.current.rules else None
            writes = bool(recorded) and bool(self.sinks)
            if writes or rules is not None:
                frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
                frame["produced_at"] = now  # only the prediction frame reads it (setting a column costs)
                preds = self.scorer.score_frame(frame, feats)
                if rules is not None:
                    preds = rules.apply(preds, feats, frame)
                if writes:
                    self._record(preds.iloc[: len(recorded)], feats.iloc[: len(recorded)])
                records = prediction_records(preds)
            else:  # nothing to write: records straight from the score arrays (no prediction frame)
                ordered = [tx for part, _ in parts for tx in part]
                records = self.scorer.prediction_list(ordered, feats, produced_at=now.to_pydatetime())
            if recorded:  # delivered to every sink (when configured): only now apply the state
                self.pipeline.transform(frames[0], update=True)
        rec_iter = iter(records[: len(recorded)])
        whatif_rows = (tx for txs, rec in parts if not rec for tx in txs)
        by_id = {id(tx): p for tx, p in zip(whatif_rows, records[len(recorded) :], strict=True)}
        out: list[list[schema.Prediction]] = []
        for txs, rec in groups:
            out.append([next(rec_iter) for _ in txs] if rec else [by_id[id(tx)] for tx in txs])
        return out

    def inline_ok(self, txs: Sequence[schema.Transaction], record: bool) -> bool:
        """Whether the micro-batcher may score this lone submission on the event loop (``lone.py``)."""
        return inline_ok(self, txs, record)

    def _bound(self, txs: Sequence[schema.Transaction]) -> list[schema.Transaction]:
        known = known_extras(getattr(self.scorer, "extras", ()))
        out, dropped = bound_extras(txs, self.max_extras, known)
        self.extras_dropped += dropped
        return out

    def _record(self, preds: pd.DataFrame, feats: pd.DataFrame) -> None:
        """Shadow-score, then deliver to every sink; raises :class:`BrokerError` / ``DatabaseError``."""
        assert self.sinks is not None
        if self.shadow is not None:
            self.shadow(self.scorer, preds, feats)  # into the buffer the challenger sinks read
        self.sinks.deliver(PredictionBatch.of(preds), (), f"api-{uuid.uuid4().hex}")
