"""The services and data every benchmark shares: broker, PostgreSQL, model registry, payloads.

One :class:`BenchEnv` is opened per ``fraudguard bench`` run. It starts what is missing
(an embedded Tansu broker on a free port unless ``KAFKA_BOOTSTRAP_SERVERS`` is set; the
PostgreSQL of ``FRAUDGUARD_DATABASE_URL``, else the local one at 127.0.0.1:5432, else an
embedded server) inside a temporary state directory, and :meth:`BenchEnv.close` stops
everything it started, so a benchmark run leaves no process behind. Each scenario gets
its own topics and PostgreSQL schema, so counts and latencies never mix.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from fraudguard.config import Settings, isolated_names
from fraudguard.errors import DatabaseError
from fraudguard.io.postgres import with_search_path

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class Payloads:
    """Encoded transactions (JSON values and card-id keys) ready to publish."""

    values: list[bytes]
    keys: list[bytes]

    def __len__(self) -> int:
        return len(self.values)

    def head(self, n: int) -> Payloads:
        """The first ``n`` messages (all when fewer)."""
        return Payloads(self.values[:n], self.keys[:n])


def make_payloads(n: int, seed: int, fraud_rate: float = 0.02) -> Payloads:
    """``n`` generated transactions, encoded as the producer would send them."""
    from fraudguard import schema
    from fraudguard.generator import generate_frame

    txs = schema.from_frame(generate_frame(n, fraud_rate=fraud_rate, seed=seed))
    return Payloads(schema.encode_many(txs), [t.card_id.encode() for t in txs])


def _local_pg_answers(url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


@dataclass
class BenchEnv:
    """Broker, database and state directory of one benchmark run; ``close()`` stops what it started."""

    state_dir: Path
    bootstrap: str
    admin_url: str
    database_note: str
    broker_note: str
    _broker: Any = None
    _pg: Any = None
    _schemas: list[str] = field(default_factory=list)
    _own_dir: bool = False

    @classmethod
    def open(cls, state_dir: Path | None = None, *, services: bool = True) -> BenchEnv:
        """Start or find the broker and PostgreSQL (see the module docstring for the order).

        ``services=False`` gives only the state directory (core, training and API need
        no broker or database).
        """
        from fraudguard.io.broker import EmbeddedBroker, free_port

        own_dir = state_dir is None
        state = Path(state_dir or tempfile.mkdtemp(prefix="fraudguard-bench-"))
        state.mkdir(parents=True, exist_ok=True)
        if not services:
            return cls(state, "", "", "not started", "not started", _own_dir=own_dir)
        broker = None
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        broker_note = f"external {bootstrap}"
        if not bootstrap:
            broker = EmbeddedBroker(port=free_port(), log_path=state / "broker.log").start()
            bootstrap = broker.bootstrap_servers
            broker_note = f"embedded Tansu on {bootstrap} (pid {broker.pid})"
        env = cls(state, bootstrap, "", "", broker_note, _broker=broker, _own_dir=own_dir)
        try:
            env.admin_url, env.database_note, env._pg = env._database()
        except BaseException:
            env.close()
            raise
        return env

    def _database(self) -> tuple[str, str, Any]:
        url = os.environ.get("FRAUDGUARD_DATABASE_URL")
        if url:
            return url, "FRAUDGUARD_DATABASE_URL", None
        if _local_pg_answers(LOCAL_PG):
            return LOCAL_PG, "local PostgreSQL at 127.0.0.1:5432", None
        from fraudguard.io.embedded_postgres import resolve_database_url

        url, handle = resolve_database_url(Settings(state_dir=self.state_dir), allow_embedded=True)
        return url, "embedded PostgreSQL", handle

    def fresh_schema(self, prefix: str = "bench") -> str:
        """A new empty PostgreSQL schema; returns a URL whose connections use it (dropped at close)."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        try:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {name}")
        except psycopg.Error as e:
            raise DatabaseError(f"cannot create benchmark schema {name}: {e}") from e
        self._schemas.append(name)
        return with_search_path(self.admin_url, name)

    def scenario_dir(self, tag: str | None = None) -> Path:
        """A private state directory whose ``models`` links to the shared registry."""
        state = self.state_dir / "scenarios" / (tag or uuid.uuid4().hex[:8])
        state.mkdir(parents=True)
        (state / "models").symlink_to(self.models_dir.resolve(), target_is_directory=True)
        return state

    def settings(self, database_url: str, *, partitions: int = 4, **overrides: Any) -> Settings:
        """Settings with unique topics (created now) and a private state directory for one scenario.

        The scenario's ``models`` is a link to the shared registry; its Parquet files,
        Spark checkpoint and work files stay apart from the other scenarios'.
        """
        from fraudguard.io.kafka import ensure_topics

        tag = uuid.uuid4().hex[:8]
        state = self.scenario_dir(tag)
        s = Settings(
            kafka_bootstrap_servers=self.bootstrap,
            database_url=SecretStr(database_url),
            state_dir=state,
            topic_partitions=partitions,
            **{**isolated_names(tag), **overrides},
        )
        ensure_topics(self.bootstrap, s.topics, s.topic_partitions)
        return s

    def fill(self, topic: str, payloads: Payloads, rate: float | None = None) -> float:
        """Publish ``payloads`` (as fast as possible, or at ``rate`` msg/s); returns the achieved rate."""
        from fraudguard.io.publish import Batch, publish, rate_offsets

        offsets = rate_offsets(0, len(payloads), rate) if rate else None
        report = publish(
            self.bootstrap,
            topic,
            [Batch(keys=payloads.keys, values=payloads.values, offsets=offsets)],
            total=len(payloads),
            target_rate=rate,
            progress=False,
        )
        return report.rate

    @property
    def models_dir(self) -> Path:
        """The registry every benchmark scores with (``<state_dir>/models``)."""
        return self.state_dir / "models"

    def close(self) -> None:
        """Drop the schemas, stop the embedded services, remove the temporary state directory."""
        import psycopg

        if self._schemas:
            with contextlib.suppress(psycopg.Error), psycopg.connect(self.admin_url, autocommit=True) as conn:
                for name in self._schemas:
                    conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
            self._schemas.clear()
        if self._pg is not None:
            self._pg.stop()
            self._pg = None
        if self._broker is not None:
            self._broker.stop()
            self._broker = None
        if self._own_dir:
            time.sleep(0.1)
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> BenchEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
