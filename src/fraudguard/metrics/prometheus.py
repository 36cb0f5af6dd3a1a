"""Prometheus exposition of the online metrics, from a custom registry.

A collector reads the latest snapshot on every scrape instead of mirroring it into
long-lived ``Gauge`` objects: nothing can drift out of sync, and a model or window that
disappears stops being exported. The registry is private (not the process-global one),
so tests and several apps in one process never collide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_RATES = ("accuracy", "precision", "recall", "f1", "pr_auc")


class SnapshotCollector(Collector):
    """Turns ``snapshot()`` (see :meth:`OnlineMetrics.compute`) into gauge families."""

    def __init__(self, snapshot: Callable[[], dict[str, Any]]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snap = self._snapshot()
        confusion = GaugeMetricFamily(
            "fraudguard_confusion", "Confusion counts per model and window", labels=["model", "window", "cell"]
        )
        quality = GaugeMetricFamily(
            "fraudguard_model_quality", "Accuracy, precision, recall, F1, PR-AUC", labels=["model", "window", "metric"]
        )
        seen = GaugeMetricFamily(
            "fraudguard_window_transactions", "Predictions in the window", labels=["window", "kind"]
        )
        for window, view in snap.get("windows", {}).items():
            seen.add_metric([window, "all"], view["transactions"])
            seen.add_metric([window, "labelled"], view["labelled"])
            for model, m in view["models"].items():
                for cell in ("tp", "fp", "tn", "fn"):
                    confusion.add_metric([model, window, cell], m[cell])
                for name in _RATES:
                    if m.get(name) is not None:
                        quality.add_metric([model, window, name], m[name])
        yield confusion
        yield quality
        yield seen
        yield GaugeMetricFamily(
            "fraudguard_throughput_tps", "Predictions per second (last 10 s)", value=snap.get("throughput_tps", 0.0)
        )
        latency = GaugeMetricFamily("fraudguard_latency_seconds", "Produce-to-decision latency", labels=["quantile"])
        for q, v in snap.get("latency_s", {}).items():
            if v is not None:
                latency.add_metric([q], v)
        yield latency
        lag = GaugeMetricFamily("fraudguard_consumer_lag", "Messages behind the high watermark", labels=["topic"])
        for topic, v in snap.get("lag", {}).items():
            lag.add_metric([topic], v)
        yield lag
        yield GaugeMetricFamily("fraudguard_labels_applied", "Late labels applied", value=snap.get("labels_applied", 0))
        yield from lifecycle_families(snap)


def lifecycle_families(snap: dict[str, Any]) -> Iterator[GaugeMetricFamily]:
    """Per-version quality (champion and challengers) and drift PSI, when the snapshot has them."""
    versions = snap.get("versions")
    if versions:
        quality = GaugeMetricFamily(
            "fraudguard_version_quality",
            "Precision, recall, F1, PR-AUC per model version (champion and challengers)",
            labels=["version", "role", "window", "metric"],
        )
        for version, v in versions.items():
            for window, m in v["windows"].items():
                for name in _RATES:
                    if m.get(name) is not None:
                        quality.add_metric([version, v["role"], window, name], m[name])
        yield quality
    drift = snap.get("drift")
    if drift:
        psi = GaugeMetricFamily(
            "fraudguard_drift_psi",
            "Population stability index vs the training reference",
            labels=["name", "kind", "window"],
        )
        for window, w in drift.get("windows", {}).items():
            for row in w.get("psi", []):
                if row.get("psi") is not None:
                    psi.add_metric([row["name"], row["kind"], window], row["psi"])
        yield psi
        yield GaugeMetricFamily(
            "fraudguard_drift_alert", "1 while a drift alert is raised", value=float(bool(drift.get("alert")))
        )


def make_registry(snapshot: Callable[[], dict[str, Any]]) -> CollectorRegistry:
    """A private registry exporting ``snapshot()`` on every scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The text exposition format Prometheus scrapes."""
    return generate_latest(registry)
