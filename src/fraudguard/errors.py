"""One root exception for the whole package, and the few named kinds callers act on.

Driver errors (confluent-kafka, psycopg, redis, ...) are wrapped with ``raise ... from e``
so the CLI can print a one-line reason while the traceback keeps the cause.
"""

from __future__ import annotations


class FraudGuardError(Exception):
    """Root of every error FraudGuard raises on purpose."""


class ConfigError(FraudGuardError):
    """A setting is missing, malformed or unsafe for the chosen environment."""


class ValidationError(FraudGuardError):
    """A record does not satisfy the transaction schema.

    ``field`` names the offending field (``$`` for the whole record) and ``reason`` says why,
    so the dead-letter topic and the API can report both.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class BrokerError(FraudGuardError):
    """The Kafka-compatible broker cannot be started, reached or written to."""


class DatabaseError(FraudGuardError):
    """PostgreSQL cannot be started, reached or written to."""


class StateStoreError(FraudGuardError):
    """The feature state store (in-process or Redis) failed."""


class ModelError(FraudGuardError):
    """A model artifact is missing, mismatched or has been tampered with."""


class DataFormatError(FraudGuardError):
    """An input file is not in the format it was declared to be."""


class SinkError(FraudGuardError):
    """A file sink (Parquet) cannot write its output."""
