"""The latency benchmark's baseline: the broker's own produce -> receive latency.

A bare consumer (``assign()`` on every partition, the engine's consumer settings, no decoding,
scoring or sinks) stamps each message's arrival against its broker timestamp while the same
child-process publisher sends at the same steady rate. The engine's produce -> decision latency
cannot be lower than this. Measured with it because the floor depends on the broker: Tansu
answers a fetch that finds nothing new only when ``fetch.wait.max.ms`` ends, so a caught-up
consumer sees a message on average half that wait late; Apache Kafka wakes the fetch when
data arrives.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
from confluent_kafka import TopicPartition

from fraudguard.bench.env import BenchEnv, Payloads
from fraudguard.bench.latency import percentiles_ms
from fraudguard.bench.publisher import publish_elsewhere
from fraudguard.io.kafka import make_consumer

POLL_SLICE_S = 0.005
"""``consume`` returns after this long even with fewer messages than asked: the engine's
poll slice (``poll_while_busy``), so both see arrivals at the same granularity."""


def run_floor_once(env: BenchEnv, payloads: Payloads, tps: float, *, warmup_s: float) -> dict[str, Any]:
    """Arrival latency percentiles (ms) of ``payloads`` published at ``tps``, after ``warmup_s``."""
    settings = env.settings("")
    consumer = make_consumer(env.bootstrap, None)
    consumer.assign([TopicPartition(settings.topic_transactions, p, 0) for p in range(settings.topic_partitions)])
    arrivals: list[tuple[float, int]] = []
    published = threading.Event()

    def receive() -> None:
        give_up = float("inf")  # 30 s after publishing ended, stop waiting for the rest
        while len(arrivals) < len(payloads) and time.monotonic() < give_up:
            if published.is_set() and give_up == float("inf"):
                give_up = time.monotonic() + 30
            for m in consumer.consume(1_000, timeout=POLL_SLICE_S):
                kind, stamp = m.timestamp()
                if m.error() is None and kind:
                    arrivals.append((time.time() * 1000.0, stamp))

    reader = threading.Thread(target=receive, name="bench-floor-consumer", daemon=True)
    reader.start()
    try:
        time.sleep(0.5)
        achieved = publish_elsewhere(env.bootstrap, settings.topic_transactions, payloads.values, payloads.keys, tps)
    finally:
        published.set()
        reader.join(40)  # the reader gives up 30 s after publishing ended
        consumer.close()
    got = np.array(arrivals, dtype=np.float64).reshape(-1, 2)
    since = (got[:, 1] - got[:, 1].min()) / 1000.0 if len(got) else np.zeros(0)
    ms = (got[:, 0] - got[:, 1])[since >= warmup_s]
    return {
        "tps": tps,
        "achieved_tps": round(achieved, 1),
        "sent": len(payloads),
        "received": len(got),
        **percentiles_ms(ms),
    }
