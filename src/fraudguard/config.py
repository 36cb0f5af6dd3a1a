"""The one settings object of a FraudGuard process.

Library classes never read the environment: they take explicit arguments. Each process
(CLI command, API, engine worker) builds one :class:`Settings` at start, lets CLI flags
override it (``settings.model_copy(update=...)``) and passes values down.

Secrets (database URL, API keys) are ``SecretStr`` so they are masked when the settings
are printed or logged.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fraudguard.errors import ConfigError

Environment = Literal["development", "production"]
API_KEY_FILE = "api_keys.json"
"""Hashed keys of ``fraudguard api-key create``, under the state directory (``api/auth.py``)."""


class Settings(BaseSettings):
    """Process settings read from the environment and an optional ``.env`` file.

    Every field reads ``FRAUDGUARD_<NAME>``; the Kafka bootstrap servers also read the
    conventional ``KAFKA_BOOTSTRAP_SERVERS``. ``None`` for a service URL means "start the
    embedded one" where a command can (demo, broker), and "not configured" elsewhere.
    """

    model_config = SettingsConfigDict(
        env_prefix="FRAUDGUARD_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    environment: Environment = "development"

    # --- Kafka ------------------------------------------------------------------------
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "FRAUDGUARD_KAFKA_BOOTSTRAP_SERVERS"),
    )
    topic_transactions: str = "transactions"
    topic_predictions: str = "predictions"
    topic_alerts: str = "fraud_alerts"
    topic_labels: str = "labels"
    topic_dlq: str = "transactions_dlq"
    topic_partitions: int = Field(default=4, ge=1, le=1024)
    consumer_group: str = "fraudguard-engine"
    broker: Literal["tansu", "kafka"] = "tansu"
    """Which broker ``demo`` starts when no bootstrap servers are set: the embedded Tansu
    (zero JVM, memory only) or an Apache Kafka KRaft cluster from the pinned jars."""
    kafka_brokers: int = Field(default=1, ge=1, le=9)
    """Nodes of the Apache Kafka cluster ``demo`` / ``broker --kafka`` start."""
    worker_slot: int = Field(default=0, ge=0, le=1023)
    """Index of this engine worker among its group's workers (set by ``stream --workers N``):
    names its stable ``transactional.id`` under ``--exactly-once``."""
    kafka_lib_dir: Path | None = None
    """Jars of the pinned Apache Kafka; ``None``: ``~/.cache/fraudguard/kafka-<version>/lib``."""

    # --- Services ---------------------------------------------------------------------
    database_url: SecretStr | None = None
    redis_url: str | None = None
    spark_master: str = "local[2]"
    spark_trigger: str = "2 seconds"
    """Processing-time trigger interval of the Spark query (``2s``, ``500 milliseconds``)."""
    spark_max_offsets_per_trigger: int | None = Field(default=100_000, ge=1)
    """Most Kafka records one Spark micro-batch reads (``None``: everything available).
    It bounds catch-up batches only (a live stream's trigger holds what arrived in its
    interval); each batch pays a fixed ~1.5 s on local[2], so small caps cap throughput."""
    spark_checkpoint_dir: Path | None = None
    """Spark checkpoint (offsets, state); ``None``: ``<state_dir>/spark/checkpoint``."""
    spark_shuffle_partitions: int | None = Field(default=None, ge=1, le=4096)
    """Shuffle and state-store partitions, fixed in the checkpoint at the first run;
    ``None``: N for ``local[N]`` (the cores), 4 on a cluster (see ``engines/spark/session.py``)."""
    spark_state_buckets: int = Field(default=8, ge=0, le=65536)
    """Spark state groups per operator: keys are hashed into this many buckets so a batch
    costs a few Python group calls, not one per card (0: one group per key, slow). Fixed
    in the checkpoint at the first run."""
    spark_kafka_jars_dir: Path | None = None
    """Directory holding Spark's Kafka connector jars (``scripts/spark_kafka_setup.sh`` fills
    ``~/.cache/fraudguard/spark-kafka-<version>`` from deploy/maven/spark-kafka/pom.xml);
    ``None``: that cache."""
    spark_source: Literal["auto", "kafka", "python"] = "auto"
    """Spark's Kafka source: ``kafka`` = Spark's connector (jars required), ``python`` = the
    project's Python streaming source, ``auto`` = the connector when its jars are present."""

    # --- Files ------------------------------------------------------------------------
    state_dir: Path = Path.home() / ".fraudguard"

    # --- Engine -----------------------------------------------------------------------
    batch_size: int = Field(default=2000, ge=1, le=1_000_000)
    batch_max_wait_ms: int = Field(default=200, ge=1, le=60_000)
    max_event_skew_s: float = Field(default=600.0, ge=0.0, le=366 * 86400.0)
    """Events dated more than this ahead of the wall clock are refused (DLQ, API 422)."""
    max_extras: int = Field(default=64, ge=0, le=256)
    """Most ``extras`` names kept per transaction; the rest are dropped and counted."""

    # --- API --------------------------------------------------------------------------
    api_keys: SecretStr | None = None
    """Comma-separated keys the API accepts (server side)."""
    api_key: SecretStr | None = None
    """The key a client (loadtest, dashboard tests) sends (client side)."""
    api_read_requires_key: bool = False
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    api_batch_max_items: int = Field(default=512, ge=1, le=100_000)
    """Most transactions the API's micro-batcher scores in one model call."""
    api_batch_wait_ms: float = Field(default=0.0, ge=0.0, le=1000.0)
    """Fixed wait for other requests to share a model call; 0 = adaptive (batches form while busy)."""
    api_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Larger request bodies are refused with 413."""
    metrics_every: int = Field(default=100, ge=1, le=1_000_000)
    """Online metrics are recomputed every this many predictions or labels."""

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        """In production an API without keys would let anyone post labels and drive the generator."""
        if self.environment == "production" and not self.api_key_list and not self._stored_keys():
            raise ConfigError(
                "FRAUDGUARD_API_KEYS must be set (or a key created with `fraudguard api-key create`) "
                "when FRAUDGUARD_ENVIRONMENT=production"
            )
        return self

    def _stored_keys(self) -> int:
        """How many hashed keys ``fraudguard api-key create`` stored under ``state_dir``."""
        path = self.state_dir / API_KEY_FILE
        if not path.is_file():
            return 0
        try:
            return len(json.loads(path.read_text())["keys"])
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"{path}: not a FraudGuard API key file") from e

    @property
    def api_key_list(self) -> list[str]:
        """Configured server-side API keys, blanks dropped."""
        if self.api_keys is None:
            return []
        return [k.strip() for k in self.api_keys.get_secret_value().split(",") if k.strip()]

    @property
    def topics(self) -> list[str]:
        """Every topic FraudGuard reads or writes, in a stable order."""
        return [
            self.topic_transactions,
            self.topic_predictions,
            self.topic_alerts,
            self.topic_labels,
            self.topic_dlq,
        ]

    @property
    def models_dir(self) -> Path:
        """Model registry root: ``<state_dir>/models``."""
        return self.state_dir / "models"

    @property
    def parquet_dir(self) -> Path:
        """Root of the hive-partitioned prediction files."""
        return self.state_dir / "parquet" / "predictions"

    @property
    def postgres_dir(self) -> Path:
        """Data directory of the embedded PostgreSQL."""
        return self.state_dir / "postgres"

    @cached_property
    def database_dsn(self) -> str | None:
        """Plain database URL for drivers (never log it)."""
        return None if self.database_url is None else self.database_url.get_secret_value()

    def to_env(self) -> dict[str, str]:
        """These settings as environment variables, from which a child process builds them again.

        One variable per field that is not ``None``: ``FRAUDGUARD_<NAME>``, and the
        conventional ``KAFKA_BOOTSTRAP_SERVERS`` (the name that wins when both are set) for
        the bootstrap servers. Secrets are in clear: the result is for a child's
        environment (``fraudguard stream`` workers, the demo's parts, test and benchmark
        subprocesses), never for a log. Merge it over ``os.environ``:
        ``{**os.environ, **settings.to_env()}``.
        """
        env: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            elif isinstance(value, bool):
                value = "true" if value else "false"
            key = "KAFKA_BOOTSTRAP_SERVERS" if name == "kafka_bootstrap_servers" else f"FRAUDGUARD_{name.upper()}"
            env[key] = str(value)
        return env


def load_settings(**overrides: object) -> Settings:
    """Build the process settings, with CLI flags (non-``None`` values) taking precedence."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]


def isolated_names(tag: str) -> dict[str, str]:
    """Topic names and consumer group suffixed with ``tag``, as ``Settings`` keyword arguments.

    Tests and benchmarks pass these so that several runs share one broker without ever
    reading each other's messages or committing each other's offsets.
    """
    return {
        "topic_transactions": f"tx-{tag}",
        "topic_predictions": f"pred-{tag}",
        "topic_alerts": f"alerts-{tag}",
        "topic_labels": f"labels-{tag}",
        "topic_dlq": f"dlq-{tag}",
        "consumer_group": f"group-{tag}",
    }
