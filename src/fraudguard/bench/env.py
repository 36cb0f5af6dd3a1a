"""The services and data every benchmark shares: broker, PostgreSQL, model registry, payloads.

One :class:`BenchEnv` is opened per ``fraudguard bench`` run. It starts what is missing
(an embedded Tansu broker on a free port unless ``KAFKA_BOOTSTRAP_SERVERS`` is set; the
PostgreSQL of ``FRAUDGUARD_DATABASE_URL``, else the local one at 127.0.0.1:5432, else an
embedded server) inside a temporary state directory, and :meth:`BenchEnv.close` stops
everything it started, so a benchmark run leaves no process behind. Each scenario gets
its own topics and PostgreSQL schema, so counts and latencies never mix. The services,
schemas and scenario settings come from ``fraudguard.devenv``, as the tests' do.
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

from fraudguard.config import Settings
from fraudguard.devenv.schemas import create_schema, drop_schema
from fraudguard.devenv.services import Service, open_broker, open_postgres
from fraudguard.devenv.workspace import isolated_settings, private_state


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


@dataclass
class BenchEnv:
    """Broker, database and state directory of one benchmark run; ``close()`` stops what it started."""

    state_dir: Path
    bootstrap: str
    admin_url: str
    database_note: str
    broker_note: str
    _broker: Service | None = None
    _pg: Service | None = None
    _schemas: list[str] = field(default_factory=list)
    _own_dir: bool = False

    @classmethod
    def open(cls, state_dir: Path | None = None, *, services: bool = True) -> BenchEnv:
        """Start or find the broker and PostgreSQL (see the module docstring for the order).

        ``services=False`` gives only the state directory (core, training and API need
        no broker or database).
        """
        own_dir = state_dir is None
        state = Path(state_dir or tempfile.mkdtemp(prefix="fraudguard-bench-"))
        state.mkdir(parents=True, exist_ok=True)
        if not services:
            return cls(state, "", "", "not started", "not started", _own_dir=own_dir)
        broker = open_broker(os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), state, log_path=state / "broker.log")
        env = cls(state, broker.address, "", "", broker.note, _broker=broker, _own_dir=own_dir)
        try:
            env._pg = open_postgres(
                Settings(state_dir=state).postgres_dir,
                configured=os.environ.get("FRAUDGUARD_DATABASE_URL"),
                configured_note="FRAUDGUARD_DATABASE_URL",
            )
        except BaseException:
            env.close()
            raise
        env.admin_url, env.database_note = env._pg.address, env._pg.note
        return env

    def fresh_schema(self, prefix: str = "bench") -> str:
        """A new empty PostgreSQL schema; returns a URL whose connections use it (dropped at close)."""
        name, url = create_schema(self.admin_url, prefix)
        self._schemas.append(name)
        return url

    def scenario_dir(self, tag: str | None = None) -> Path:
        """A private state directory whose ``models`` links to the shared registry."""
        state = self.state_dir / "scenarios" / (tag or uuid.uuid4().hex[:8])
        return private_state(state, self.models_dir, link=True)

    def settings(self, database_url: str, *, partitions: int = 4, **overrides: Any) -> Settings:
        """Settings with unique topics (created now) and a private state directory for one scenario.

        The scenario's ``models`` is a link to the shared registry; its Parquet files,
        Spark checkpoint and work files stay apart from the other scenarios'.
        """
        tag = uuid.uuid4().hex[:8]
        return isolated_settings(
            bootstrap=self.bootstrap,
            database_url=database_url,
            state_dir=self.scenario_dir(tag),
            partitions=partitions,
            tag=tag,
            **overrides,
        )

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

        for name in self._schemas:
            with contextlib.suppress(psycopg.Error):
                drop_schema(self.admin_url, name)
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
