"""Spark engine benchmark: start-up time, per-batch duration and throughput on local[N].

Not a test: numbers depend on the machine and its load. It pre-fills a topic (embedded
Tansu broker unless KAFKA_BOOTSTRAP_SERVERS is set), trains a small model, then runs the
query with the Parquet sink until every row is written, and prints one JSON object::

    .venv/bin/python benchmarks/bench_spark.py --rows 20000 --max-offsets 10000 --master 'local[2]'

Reported: ``session_s`` (getOrCreate), ``first_batch_s`` (query start -> first batch
written), per-batch trigger durations, rows/s over the whole run (pre-filled source, so
this is processing speed, not a consumer group's fetch rate) and the peak RSS of the
driver JVM and its Python workers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants (from /proc), in MiB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
            children.setdefault(int(fields[1]), []).append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--max-offsets", type=int, default=10_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--shuffle-partitions", type=int, default=2)
    parser.add_argument("--trigger", default="500ms")
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.fixtures.engine import encode_frame, publish_values

    from fraudguard.engines.spark.query import StreamPlan, start_query
    from fraudguard.engines.spark.session import build_session
    from fraudguard.engines.spark.writer import BatchWriter
    from fraudguard.features import FeatureConfig
    from fraudguard.generator import generate_frame
    from fraudguard.io.broker import EmbeddedBroker, free_port
    from fraudguard.io.dlq import DeadLetterWriter
    from fraudguard.io.kafka import ensure_topics, make_producer
    from fraudguard.io.parquet_sink import ParquetSink
    from fraudguard.models.estimators import TrainConfig
    from fraudguard.models.scorer import Scorer
    from fraudguard.models.trainer import train_and_register

    work = Path(tempfile.mkdtemp(prefix="bench-spark-"))
    broker = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        broker = EmbeddedBroker(port=free_port()).start()
        bootstrap = broker.bootstrap_servers
    try:
        train = generate_frame(20_000, fraud_rate=0.03, seed=1, customers=2_000, merchants=400)
        cfg = TrainConfig(xgb_trees=50, xgb_depth=5, rf_trees=30, rf_depth=8, if_trees=30, threads=2)
        train_and_register(
            train, work / "models", source={"path": "generated", "format": "frame", "sha256": None}, cfg=cfg
        )
        scorer = Scorer.load(work / "models")
        frame = generate_frame(args.rows, fraud_rate=0.02, seed=2, customers=args.customers, merchants=400)
        topic = f"bench-{os.getpid()}"
        ensure_topics(bootstrap, [topic, f"{topic}-dlq"], args.partitions)
        values, keys = encode_frame(frame)
        publish_values(bootstrap, topic, values, keys)

        t0 = time.perf_counter()
        spark = build_session(args.master, work_dir=work / "spark", shuffle_partitions=args.shuffle_partitions)
        session_s = time.perf_counter() - t0
        sink = ParquetSink(work / "parquet")
        sink.setup()
        writer = BatchWriter([sink], DeadLetterWriter(make_producer(bootstrap), f"{topic}-dlq"), "bench")
        plan = StreamPlan(
            bootstrap=bootstrap,
            topic=topic,
            models_dir=work / "models",
            model_version=scorer.version,
            features=FeatureConfig(**scorer.feature_config_dict()),
            max_offsets_per_trigger=args.max_offsets,
        )
        t1 = time.perf_counter()
        query, kind = start_query(spark, plan, writer, checkpoint=work / "ckpt", trigger=args.trigger)
        first_batch_s = None
        peak_mb = 0.0
        while writer.stats.predictions < args.rows:
            if not query.isActive:
                raise SystemExit(f"query died: {query.exception()}")
            if first_batch_s is None and writer.stats.batches:
                first_batch_s = time.perf_counter() - t1
            peak_mb = max(peak_mb, _tree_rss_mb(os.getpid()))
            time.sleep(0.2)
        total_s = time.perf_counter() - t1
        progress = [p for p in query.recentProgress if p["numInputRows"]]
        query.stop()
        spark.stop()
        durations = [p["durationMs"]["triggerExecution"] / 1000 for p in progress]
        report = {
            "source": kind,
            "master": args.master,
            "rows": args.rows,
            "max_offsets_per_trigger": args.max_offsets,
            "distinct_cards": int(frame["card_id"].nunique()),
            "session_s": round(session_s, 2),
            "first_batch_s": round(first_batch_s or total_s, 2),
            "total_s": round(total_s, 2),
            "rows_per_s_overall": round(args.rows / total_s, 1),
            "batches": len(progress),
            "batch_s": [round(d, 2) for d in durations],
            "batch_s_median": round(statistics.median(durations), 2) if durations else None,
            "processed_rows_per_s_median": round(statistics.median(p["processedRowsPerSecond"] for p in progress), 1)
            if progress
            else None,
            "peak_rss_mb": round(peak_mb),
            "load_avg_1m": os.getloadavg()[0],
        }
        print(json.dumps(report, indent=2))
    finally:
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    main()
