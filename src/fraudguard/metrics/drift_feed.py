"""Drift counts from the engines' drift topic into one :class:`DriftMonitor` per champion version.

Each message is one batch's bin counts, tagged with the champion version whose reference
bins were used. When the champion changes, the monitor starts over with the new card's
reference (counts in another version's bins are not comparable). An alert that appears
or clears becomes an **event** (kept, newest last, and logged): the dashboard's banner and
``/v1/drift`` show it, and the WebSocket metrics push carries it to open dashboards.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from fraudguard.metrics.drift import DriftMonitor, Reference, references_from_card, warmup_from_card

log = logging.getLogger(__name__)

ReferenceLoader = Callable[[str], tuple[list[Reference], list[str], float]]


def card_reference(models_dir: Path) -> ReferenceLoader:
    """``version -> (drift references, top features, warm-up seconds)`` from that version's model card."""
    from fraudguard.models.registry import read_card

    def load(version: str) -> tuple[list[Reference], list[str], float]:
        card = read_card(models_dir, version)
        refs, top = references_from_card(card)
        return refs, top, warmup_from_card(card)

    return load


class _DriftMessage(msgspec.Struct):
    model_version: str
    counts: dict[str, dict[str, list[int]]]
    cold_from: float | None = None
    """The sending engine's first event time when its feature state started empty."""


_decoder = msgspec.json.Decoder(_DriftMessage)


class DriftFeed:
    """Aggregates drift messages and keeps the latest PSI view and the alert events.

    Parameters
    ----------
    load_reference
        ``version -> (references, top_features, warmup_s)`` (from the registry's model card).
    """

    def __init__(
        self, load_reference: ReferenceLoader, *, max_events: int = 50, clock: Callable[[], float] = time.time
    ):
        self._load = load_reference
        self._clock = clock
        self.version: str | None = None
        self.monitor: DriftMonitor | None = None
        self.events: deque[dict[str, Any]] = deque(maxlen=max_events)
        self.latest: dict[str, Any] = {
            "model_version": None,
            "windows": {},
            "alert": False,
            "reasons": [],
            "events": [],
        }
        self.undecodable = 0

    def handle(self, payloads: Sequence[bytes]) -> None:
        """Add a fetched batch of drift messages."""
        for p in payloads:
            try:
                msg = _decoder.decode(p)
            except (msgspec.DecodeError, msgspec.ValidationError):
                self.undecodable += 1
                continue
            if msg.model_version != self.version:
                try:
                    refs, top, warmup = self._load(msg.model_version)
                except Exception as e:  # a version missing here (another registry): skip its counts
                    log.warning("no drift reference for %s: %s", msg.model_version, e)
                    continue
                self.version, self.monitor = msg.model_version, DriftMonitor(refs, top, warmup_s=warmup)
            assert self.monitor is not None
            self.monitor.add({int(k): v for k, v in msg.counts.items()})
            if msg.cold_from is not None:
                self.monitor.cold_start(msg.cold_from)

    def refresh(self) -> dict[str, Any]:
        """Recompute PSI; record an event when the alert state changes."""
        if self.monitor is None:
            return self.latest
        view = self.monitor.compute()
        was = bool(self.latest.get("alert"))
        if view["alert"] != was:
            event = {
                "at": self._clock(),
                "kind": "drift_alert" if view["alert"] else "drift_cleared",
                "model_version": self.version,
                "reasons": view["reasons"],
            }
            self.events.append(event)
            (log.warning if view["alert"] else log.info)(
                "%s: %s", event["kind"], "; ".join(view["reasons"]) or "PSI back under the threshold"
            )
        self.latest = {**view, "model_version": self.version, "events": list(self.events)}
        return self.latest
