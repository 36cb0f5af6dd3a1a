"""Everything the API's routes use, built once per process and closed at shutdown.

:func:`build_services` connects what the settings name: the model registry, PostgreSQL,
the broker (producer, metrics tracker, live feeds, generator). A service that is not
configured is ``None``; the routes that need it answer 503 with a stable detail and
``/readyz`` reports it. Tests pass their own :class:`Services` (real broker, real
database) to :func:`fraudguard.api.app.create_app`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson

from fraudguard.api.auth import KeyRing
from fraudguard.api.batcher import MicroBatcher
from fraudguard.api.hub import Hub
from fraudguard.api.security import KeyPolicy, load_keys
from fraudguard.config import Settings
from fraudguard.errors import ModelError
from fraudguard.metrics.online import OnlineMetrics

log = logging.getLogger(__name__)

LIVE_WINDOW_MS = 60_000
"""Only messages produced in the last minute go to WebSocket clients (not a history replay)."""


@dataclass
class Services:
    """The API's collaborators; ``None`` means "not configured here"."""

    settings: Settings
    keys: KeyRing
    hub: Hub = field(default_factory=Hub)
    metrics: OnlineMetrics = field(default_factory=OnlineMetrics)
    scoring: Any | None = None
    """:class:`fraudguard.api.scoring.ScoringService`."""
    pool: Any | None = None
    """psycopg_pool.ConnectionPool (autocommit)."""
    producer: Any | None = None
    bootstrap: str | None = None
    tracker: Any | None = None
    """:class:`fraudguard.io.metrics_consumer.MetricsTracker`."""
    generator: Any | None = None
    batcher: MicroBatcher[Any, Any] | None = None
    model_error: str | None = None
    started_at: float = field(default_factory=time.time)
    loop: asyncio.AbstractEventLoop | None = None
    background: list[Any] = field(default_factory=list)
    """Case opener and webhook delivery threads (started when a database is configured)."""

    @property
    def policy(self) -> KeyPolicy:
        """Who may read and write (:func:`fraudguard.api.security.key_allowed` decides with it)."""
        return KeyPolicy(self.keys, self.settings.api_read_requires_key)

    @property
    def scorer(self) -> Any | None:
        return None if self.scoring is None else self.scoring.scorer

    def snapshot(self) -> dict[str, Any]:
        """Latest metrics (with lag when the tracker runs)."""
        return self.tracker.snapshot() if self.tracker is not None else dict(self.metrics.latest)

    @cached_property
    def prometheus_registry(self) -> Any:
        """The Prometheus registry ``/metrics`` exports: :meth:`snapshot` read on every scrape.

        Made on the first scrape and kept (one collector per process, not one per request).
        """
        from fraudguard.metrics.prometheus import make_registry

        return make_registry(self.snapshot)

    async def start(self) -> None:
        """Start the batcher and the Kafka readers feeding the hub (on the running loop)."""
        loop = asyncio.get_running_loop()
        self.loop = loop
        if self.pool is not None and not self.background and self.settings.database_dsn:
            from fraudguard.api.background import CaseOpener, WebhookThread

            self.background = [CaseOpener(self.pool, self.hub, loop), WebhookThread(self.settings.database_dsn)]
            for job in self.background:
                job.start()
        if self.scoring is not None:
            s = self.settings
            self.batcher = MicroBatcher(
                self.scoring.process,
                max_items=s.api_batch_max_items,
                max_wait_s=s.api_batch_wait_ms / 1000,
                inline=getattr(self.scoring, "inline_ok", None),  # a stand-in scoring may not offer it
            )
            await self.batcher.start()
        if self.bootstrap and self.tracker is None:
            self.tracker = self._make_tracker(loop)
            await asyncio.to_thread(self.tracker.start)

    async def stop_background(self) -> None:
        """Stop the case opener and the webhook worker (each at most once)."""
        jobs, self.background = self.background, []
        for job in jobs:
            await asyncio.to_thread(job.stop)

    def _make_tracker(self, loop: asyncio.AbstractEventLoop) -> Any:
        from fraudguard.io.metrics_consumer import MetricsTracker

        hub = self.hub

        def live(channel: str):  # type: ignore[no-untyped-def]
            def feed(batch: list[tuple[bytes, int]]) -> None:
                cutoff = time.time() * 1000 - LIVE_WINDOW_MS
                msgs = [v.decode("utf-8", "replace") for v, ts in batch if ts >= cutoff]
                if msgs and hub.subscribers(channel):
                    loop.call_soon_threadsafe(hub.publish, channel, msgs)

            return feed

        def on_snapshot(snap: dict[str, Any]) -> None:
            if hub.subscribers("metrics"):
                loop.call_soon_threadsafe(
                    hub.publish, "metrics", [orjson.dumps(snap, option=orjson.OPT_NON_STR_KEYS).decode()]
                )

        from fraudguard.io.sinks.challenger import challenger_topic, drift_topic
        from fraudguard.metrics.drift_feed import DriftFeed, card_reference
        from fraudguard.metrics.versions import VersionMetrics

        s = self.settings
        return MetricsTracker(
            self.bootstrap,  # type: ignore[arg-type]
            self.metrics,
            predictions_topic=s.topic_predictions,
            labels_topic=s.topic_labels,
            alerts_topic=s.topic_alerts,
            on_predictions=live("transactions"),
            on_alerts=live("alerts"),
            on_snapshot=on_snapshot,
            versions=VersionMetrics(),
            challengers_topic=challenger_topic(s.topic_predictions),
            drift=DriftFeed(card_reference(s.models_dir)),
            drift_topic=drift_topic(s.topic_predictions),
        )

    async def close(self) -> None:
        """Stop threads and close connections (each at most once)."""
        if self.batcher is not None:
            await self.batcher.stop()
        await self.stop_background()
        if self.generator is not None:
            await asyncio.to_thread(self.generator.stop)
        if self.tracker is not None:
            await asyncio.to_thread(self.tracker.stop)
        if self.producer is not None:
            await asyncio.to_thread(self.producer.flush, 10.0)
        if self.scoring is not None and self.scoring.sinks is not None:
            self.scoring.sinks.close()
        if self.scoring is not None and self.scoring.rules is not None:
            self.scoring.rules.close()
        if self.pool is not None:
            await asyncio.to_thread(self.pool.close)


def build_services(settings: Settings) -> Services:
    """Connect what ``settings`` configures; missing pieces stay ``None`` (reported by /readyz)."""
    from fraudguard.io.kafka import ensure_topics, make_producer

    keys = load_keys(settings)  # writes always need a key: a development API makes one for this run
    thresholds: dict[str, float] = {}
    services = Services(settings=settings, keys=keys)
    scorer = None
    try:
        from fraudguard.models.scorer import Scorer

        scorer = Scorer.load(settings.models_dir)
        thresholds = {m: t.value for m, t in scorer.model_thresholds.items() if m != "ensemble"}
    except ModelError as e:
        services.model_error = str(e)
        log.warning("API without a model: %s", e)
    services.metrics = OnlineMetrics(thresholds, snapshot_every=settings.metrics_every)
    if settings.database_dsn:
        from fraudguard.io.pg_schema import migrate
        from fraudguard.io.postgres import open_pool

        services.pool = open_pool(settings.database_dsn, max_size=8)
        with services.pool.connection() as conn:
            migrate(conn)
    if settings.kafka_bootstrap_servers:
        services.bootstrap = settings.kafka_bootstrap_servers
        from fraudguard.io.sinks.challenger import challenger_topic, drift_topic

        topics = [
            *settings.topics,
            challenger_topic(settings.topic_predictions),
            drift_topic(settings.topic_predictions),
        ]
        ensure_topics(services.bootstrap, topics, settings.topic_partitions)
        services.producer = make_producer(services.bootstrap)
        from fraudguard.api.generator_control import GeneratorController

        services.generator = GeneratorController(services.producer, settings.topic_transactions)
    if scorer is not None:
        from fraudguard.api.shadow import ApiShadow
        from fraudguard.io.sinks.challenger import ShadowBuffer

        buffer = ShadowBuffer(keep=2)
        services.scoring = make_scoring(settings, scorer, services.producer, shadow=buffer)
        services.scoring.shadow = ApiShadow(settings, buffer)
    return services


def make_scoring(settings: Settings, scorer: Any, producer: Any | None, *, shadow: Any | None = None) -> Any:
    """The scoring service with the stream's state store (Redis when configured) and sinks.

    ``shadow`` is the :class:`~fraudguard.io.sinks.challenger.ShadowBuffer` an
    :class:`~fraudguard.api.shadow.ApiShadow` fills (adds the challenger-score sinks).
    """
    from fraudguard.api.scoring import ScoringService
    from fraudguard.io.sinks.build import build_api_sinks

    stores = None
    if settings.redis_url:
        from fraudguard.io.redis_state import feature_stores  # the local engine's stores

        stores = feature_stores(settings.redis_url)
    rules = None
    if settings.database_dsn:
        from fraudguard.io.rule_watcher import RuleWatcher

        rules = RuleWatcher(settings.database_dsn, check_every_s=1.0)
    return ScoringService(
        scorer, scorer.make_pipeline(stores), sinks=build_api_sinks(settings, producer, shadow=shadow),
        max_extras=settings.max_extras, rules=rules,
    )  # fmt: skip
