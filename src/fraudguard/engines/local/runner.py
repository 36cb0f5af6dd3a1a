"""Build a :class:`LocalEngine` from :class:`Settings` and run it (one worker or N processes).

``run_local_engine`` is what ``fraudguard stream`` calls. With ``workers > 1`` the calling
process becomes a supervisor: it resolves the database once, starts N ``fraudguard stream
--workers 1`` children in the same consumer group (the broker spreads the partitions over
them: scale-out) and stops them all, TERM then KILL, when it is stopped.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fraudguard.admission import AdmissionPolicy
from fraudguard.config import Settings
from fraudguard.engines.common.lifecycle import install_stop_handlers, stop_after
from fraudguard.engines.common.models import ModelWatcher
from fraudguard.engines.local.engine import LocalEngine
from fraudguard.engines.local.rebalance import PartitionState
from fraudguard.engines.local.scoring import PipelineProcessor
from fraudguard.engines.local.status import EngineStats, StatusReporter
from fraudguard.engines.local.supervisor import spawn, stop_all
from fraudguard.errors import FraudGuardError
from fraudguard.io.sinks.dlq import PRODUCER_MAX_MESSAGE_BYTES

if TYPE_CHECKING:
    from confluent_kafka import Consumer

log = logging.getLogger(__name__)


@dataclass
class EngineOptions:
    """Flags of ``fraudguard stream`` (``None``: take the setting)."""

    batch_size: int | None = None
    max_wait_ms: int | None = None
    group: str | None = None
    status_every_s: float = 5.0
    model_check_s: float = 3.0
    rules_check_s: float = 1.0
    """Smallest interval between two reads of the rules' revision counter."""
    max_seconds: float | None = None
    """Stop by itself after this long (demo, tests)."""
    exactly_once: bool = False
    """Kafka outputs in transactions committed with the consumed offsets (``io/kafka_txn.py``)."""


def build_engine(
    settings: Settings,
    options: EngineOptions,
    *,
    database_url: str,
    stop: threading.Event,
    printer: Callable[[str], None] | None = None,
) -> LocalEngine:
    """Every part of one worker: consumer, processor, sinks (Kafka, PostgreSQL, Parquet), DLQ."""
    from fraudguard.engines.local.shadow import shadow_stage
    from fraudguard.io.kafka import check_reachable, ensure_topics, make_consumer, make_producer, require_bootstrap
    from fraudguard.io.sinks.build import build_sinks
    from fraudguard.io.sinks.challenger import challenger_topic, drift_topic

    bootstrap = require_bootstrap(settings)
    watcher = ModelWatcher(settings.models_dir, check_every_s=options.model_check_s)
    check_reachable(bootstrap)
    lifecycle_topics = [challenger_topic(settings.topic_predictions), drift_topic(settings.topic_predictions)]

    def ensure_engine_topics() -> None:
        ensure_topics(bootstrap, [*settings.topics, *lifecycle_topics], settings.topic_partitions)

    ensure_engine_topics()

    stores = None
    shared = False
    if settings.redis_url:
        from fraudguard.io.redis_state import feature_stores

        stores = feature_stores(settings.redis_url)
        shared = True
    from fraudguard.io.rule_watcher import RuleWatcher

    rules = RuleWatcher(database_url, check_every_s=options.rules_check_s)
    processor = PipelineProcessor(watcher, stores=stores, topic=settings.topic_transactions, rules=rules)
    processor.partition_state = PartitionState(
        processor.warm,
        processor.forget_cards,
        lambda: make_consumer(bootstrap, None),
        shared=shared,
    )

    # librdkafka reports broker loss through error_cb, not as consumed messages: forward
    # those (consumer's and producer's) to the engine's outage watch once it exists (recovery.py)
    error_sinks: list[Callable[[Any], None]] = []

    def on_error(err: Any) -> None:
        for f in error_sinks:
            f(err)

    group = options.group or settings.consumer_group
    producer_conf: dict[str, object] = {"message.max.bytes": PRODUCER_MAX_MESSAGE_BYTES, "error_cb": on_error}
    transactions = None
    if options.exactly_once:
        from fraudguard.io.kafka_txn import KafkaTransactions, transactional_id

        producer_conf["transactional.id"] = transactional_id(group, settings.worker_slot)
        producer_conf["transaction.timeout.ms"] = 120_000  # >= message.timeout.ms, as librdkafka requires
    # a fatal producer error (a restarted broker forgot the idempotent producer) replaces the
    # producer; a transactional one is never replaced on an error (fatal there means fenced),
    # only when a call hangs past its timeout (kafka_txn.py)
    producer = make_producer(
        bootstrap, renew_on_fatal=not options.exactly_once, renewable=options.exactly_once, **producer_conf
    )
    if options.exactly_once:
        transactions = KafkaTransactions(producer, renew=producer.renew)  # type: ignore[attr-defined]
    processor.shadow = shadow_stage(settings, options.model_check_s, cold=stores is None or stores.card.is_empty())
    sinks = build_sinks(settings, producer, database_url=database_url, shadow=processor.shadow.buffer)
    sinks.setup()

    def new_consumer() -> Consumer:
        return make_consumer(bootstrap, group, error_cb=on_error)

    consumer = new_consumer()
    stats = EngineStats(model_version=watcher.version)
    reporter = StatusReporter(stats, options.status_every_s, printer, label=f"[{os.getpid()}] ")
    engine = LocalEngine(
        consumer,
        processor,
        sinks,
        topic=settings.topic_transactions,
        batch_size=options.batch_size or settings.batch_size,
        max_wait_s=(options.max_wait_ms or settings.batch_max_wait_ms) / 1000.0,
        stop_event=stop,
        rebalance=processor.partition_state,
        reporter=reporter,
        stats=stats,
        transactions=transactions,
        admission=AdmissionPolicy(settings.max_event_skew_s, settings.max_extras),
        consumer_factory=new_consumer,
    )
    error_sinks.append(engine.watch.on_error)
    # a broker that came back empty (memory-only, or a rebuilt cluster) lost the topics the
    # sinks write to: recreate the missing ones before re-subscribing, or every write waits
    engine.on_recover = ensure_engine_topics
    return engine


def run_worker(
    settings: Settings,
    options: EngineOptions,
    *,
    stop: threading.Event | None = None,
    printer: Callable[[str], None] | None = None,
) -> EngineStats:
    """Run one engine in this process until stopped (signal, ``stop`` or ``max_seconds``)."""
    from fraudguard.heap import freeze_startup
    from fraudguard.io.embedded_postgres import resolve_database_url

    stop = stop or threading.Event()
    install_stop_handlers(stop)
    url, embedded = resolve_database_url(settings, allow_embedded=settings.environment == "development")
    try:
        with stop_after(stop, options.max_seconds):
            engine = build_engine(settings, options, database_url=url, stop=stop, printer=printer)
            freeze_startup()  # the model and libraries are loaded: keep them out of full collections
            return engine.run()
    finally:
        if embedded is not None:
            embedded.stop()


def worker_argv(options: EngineOptions) -> list[str]:
    """The command line of one worker child."""
    argv = [sys.executable, "-m", "fraudguard", "stream", "--engine", "local", "--workers", "1"]
    if options.batch_size:
        argv += ["--batch-size", str(options.batch_size)]
    if options.max_wait_ms:
        argv += ["--max-wait-ms", str(options.max_wait_ms)]
    if options.group:
        argv += ["--group", options.group]
    if options.exactly_once:
        argv += ["--exactly-once"]
    return argv


def run_workers(
    settings: Settings, options: EngineOptions, workers: int, *, stop: threading.Event | None = None
) -> int:
    """Supervise ``workers`` worker processes in one consumer group; returns an exit code.

    A worker that dies is reported and the others go on (its partitions move to them at
    the next rebalance); the supervisor exits non-zero when every worker has died.
    """
    from fraudguard.io.embedded_postgres import resolve_database_url

    if workers < 1:
        raise FraudGuardError(f"--workers must be >= 1, got {workers}")
    stop = stop or threading.Event()
    install_stop_handlers(stop)
    ModelWatcher(settings.models_dir)  # fail fast, once, when there is no model
    url, embedded = resolve_database_url(settings, allow_embedded=settings.environment == "development")
    env = {**os.environ, **settings.to_env(), "FRAUDGUARD_DATABASE_URL": url}
    # each child its own slot: a stable transactional.id per slot under --exactly-once
    procs = [
        spawn(worker_argv(options), env={**env, "FRAUDGUARD_WORKER_SLOT": str(i)}, inherit_output=True)
        for i in range(workers)
    ]
    started = time.monotonic()
    try:
        while not stop.wait(0.5):
            if all(p.poll() is not None for p in procs):
                return 1
            if options.max_seconds is not None and time.monotonic() - started > options.max_seconds:
                break
        return 0
    finally:
        stop_all(procs)
        if embedded is not None:
            embedded.stop()
