"""Publish pre-encoded messages to Kafka on a schedule, with a live progress line.

A schedule gives every message a send offset in seconds from the start (``i / tps`` for
a fixed rate, scaled dataset times for a replay, a step function for bursts). The loop
sends, at each wake-up, every message whose offset has passed, then sleeps until the
next one is due: a token bucket drained in slices rather than a sleep per message, so
the rate holds at tens of thousands of messages a second. Delivery reports are asked
for errors only, which keeps the per-message cost at one ``produce`` call.

The schedule starts once the broker has acknowledged the first message. A new producer
cannot send at once: it connects, and an idempotent one first gets a producer id, which
librdkafka asks for again only after 500 ms when no broker connection was up at its first
try. Scheduled from its creation, the first half second of messages would leave in one
burst, measured by the latency benchmark as broker and engine delay.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from confluent_kafka import KafkaError, Message
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fraudguard.errors import BrokerError
from fraudguard.io.kafka import flush_or_raise, make_producer

MAX_SLEEP_S = 0.05
"""Longest nap between sends: keeps the progress line and delivery callbacks lively."""
POLL_GRAIN_S = 0.002
"""Shorter waits are slept, not polled: librdkafka's ``poll`` takes whole milliseconds
(``int(seconds * 1000)``), so a wait under 1 ms returned at once and the loop spun: the
publisher used 93-95 % of a core at 1,000 and 5,000 msg/s on the 2-core machine, the core
the broker and the engine it was measuring needed (5-12 % after, 2026-11-30)."""


@dataclass
class Batch:
    """Messages to send, with their keys and send offsets (``None``: as soon as possible)."""

    keys: list[bytes]
    values: list[bytes]
    offsets: np.ndarray | None = None


@dataclass
class PublishReport:
    """What was sent, how fast, and what the broker refused."""

    sent: int = 0
    failed: int = 0
    seconds: float = 0.0
    target_rate: float | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Achieved messages per second, from the first send until everything was acknowledged."""
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One line for the console."""
        target = (
            f" (target {self.target_rate:,.0f}/s, {100 * self.rate / self.target_rate:.1f}%)"
            if self.target_rate
            else ""
        )
        failed = f", {self.failed:,} failed" if self.failed else ""
        return f"published {self.sent - self.failed:,} messages in {self.seconds:.2f}s: {self.rate:,.0f} msg/s{target}{failed}"


def rate_offsets(start: int, n: int, tps: float) -> np.ndarray:
    """Send offsets of messages ``start .. start + n - 1`` at a fixed ``tps``."""
    return np.arange(start, start + n, dtype=np.float64) / tps


def publish(
    bootstrap: str,
    topic: str,
    batches: Iterable[Batch],
    *,
    total: int | None = None,
    target_rate: float | None = None,
    progress: bool = True,
    console: Console | None = None,
    producer_config: dict[str, Any] | None = None,
) -> PublishReport:
    """Send every batch to ``topic`` on its schedule and wait until the broker has them all.

    Raises :class:`BrokerError` (naming ``bootstrap``) when messages cannot be delivered.
    """
    report = PublishReport(target_rate=target_rate)

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            report.failed += 1
            if len(report.errors) < 5:
                report.errors.append(str(err))

    producer = make_producer(
        bootstrap, on_delivery=on_delivery, **{"delivery.report.only.error": True, **(producer_config or {})}
    )
    produce, poll = producer.produce, producer.poll
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>10,.0f} msg/s"),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        disable=not progress,
        transient=False,
    )
    t_start = time.monotonic()
    started = False
    with bar:
        task = bar.add_task(f"-> {topic}", total=total, rate=0.0)
        last_update = 0.0
        for batch in batches:
            n = len(batch.values)
            offsets = batch.offsets
            i = 0
            if n and not started:  # the first message, acknowledged before the schedule starts
                _send_first(producer, topic, batch, bootstrap)
                report.sent, i, started = 1, 1, True
                t_start = time.monotonic() - (0.0 if offsets is None else float(offsets[0]))
            while i < n:
                now = time.monotonic() - t_start
                j = n if offsets is None else int(np.searchsorted(offsets, now, side="right"))
                if j > i:
                    j = min(j, i + 50_000)
                    for k, v in zip(batch.keys[i:j], batch.values[i:j], strict=True):
                        try:
                            produce(topic, v, k)
                        except BufferError:
                            poll(0.05)
                            produce(topic, v, k)
                    report.sent += j - i
                    i = j
                    poll(0)
                else:
                    nap(poll, float(offsets[i]) - now)  # type: ignore[index]
                if now - last_update > 0.1:
                    last_update = now
                    bar.update(task, completed=report.sent, rate=report.sent / max(now, 1e-9))
        _flush(producer, bootstrap, topic)
        report.seconds = time.monotonic() - t_start
        bar.update(task, completed=report.sent, rate=report.rate)
    if report.failed:
        raise BrokerError(
            f"{report.failed} of {report.sent} messages to {topic!r} at {bootstrap} failed: {report.errors[0]}"
        )
    return report


def nap(poll: Any, wait_s: float) -> None:
    """Wait ``wait_s`` (at most :data:`MAX_SLEEP_S`) for the next message's send time,
    serving delivery callbacks when the wait is long enough for ``poll`` to wait at all."""
    if wait_s >= POLL_GRAIN_S:
        poll(min(MAX_SLEEP_S, wait_s))
    elif wait_s > 0:
        time.sleep(wait_s)


def _send_first(producer: Any, topic: str, batch: Batch, bootstrap: str) -> None:
    """Send ``batch``'s first message and wait for the broker's acknowledgement."""
    producer.produce(topic, batch.values[0], batch.keys[0])
    _flush(producer, bootstrap, topic)


def _flush(producer: Any, bootstrap: str, topic: str) -> None:
    """:func:`flush_or_raise`, its error naming the broker and the topic."""
    try:
        flush_or_raise(producer, timeout=60.0)
    except BrokerError as e:
        raise BrokerError(f"{e} to {bootstrap} (topic {topic!r})") from e
