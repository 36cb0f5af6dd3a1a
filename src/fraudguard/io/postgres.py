"""PostgreSQL connections, error wrapping and the retry contract.

The rest of the PostgreSQL adapter lives beside this module:

- :mod:`fraudguard.io.pg_schema` — tables and numbered migrations (``migrate``);
- :mod:`fraudguard.io.pg_sink` — :class:`~fraudguard.io.pg_sink.PostgresSink` (COPY + upsert);
- :mod:`fraudguard.io.pg_queries` / :mod:`fraudguard.io.pg_analytics` — what the API and the
  dashboard read.

Retry contract
--------------
Nothing in the adapter retries by itself. Any driver failure is rolled back and raised as
:class:`fraudguard.errors.DatabaseError` (``from`` the psycopg error); a sink whose
connection broke drops it and reconnects on its next call. The caller decides whether to
retry: the engines retry a whole batch without limit (``engines/common/retry.py``, keeping
their consumer group membership while they wait); :func:`with_retry` is the bounded retry
for one-off callers, backing off exponentially and giving up early when its ``stop_event``
is set (shutdown). Every write is idempotent on ``transaction_id``, so retrying a call that
may have committed is safe.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import conninfo
from psycopg_pool import ConnectionPool

from fraudguard.errors import DatabaseError
from fraudguard.redact import redact as redact_text

T = TypeVar("T")

DEFAULT_STATEMENT_TIMEOUT_MS = 30_000
"""A statement slower than this is cancelled: a stuck database must surface as an error,
not as an engine that silently stops committing offsets."""
DEFAULT_CONNECT_TIMEOUT_S = 5


def redact(url: str) -> str:
    """The URL without its password, safe to put in error messages and logs."""
    try:
        params = conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<unparseable database URL>"
    params.pop("password", None)
    host = params.get("host", "")
    return f"postgresql://{params.get('user', '')}@{host}:{params.get('port', '')}/{params.get('dbname', '')}"


def with_search_path(url: str, schema: str) -> str:
    """``url`` whose sessions resolve unqualified table names in ``schema``.

    The one helper for schema-isolated runs (tests, ``fraudguard bench``): it replaces any
    ``options`` already in the URL, and :func:`connect` keeps it next to the timeout.
    """
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _options(url: str, statement_timeout_ms: int) -> str:
    """Server options: the URL's own (``search_path`` in tests) plus the statement timeout."""
    try:
        own = conninfo.conninfo_to_dict(url).get("options") or ""
    except psycopg.ProgrammingError:
        # the driver's message quotes the bad part, often the password: never chain it
        raise DatabaseError(
            f"malformed database URL {redact_text(url)}: percent-encode spaces and special characters "
            "in the password (%20 for a space)"
        ) from None
    return f"{own} -c statement_timeout={int(statement_timeout_ms)}".strip()


def connect(
    url: str,
    *,
    autocommit: bool = False,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
    connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S,
    application_name: str = "fraudguard",
) -> psycopg.Connection[Any]:
    """Open one connection with bounded connect and statement times.

    Raises :class:`DatabaseError` naming the (password-free) URL when the server cannot be
    reached, so a CLI prints one useful line instead of a driver traceback.
    """
    try:
        return psycopg.connect(
            url,
            autocommit=autocommit,
            connect_timeout=connect_timeout_s,
            application_name=application_name,
            options=_options(url, statement_timeout_ms),
        )
    except psycopg.Error as e:
        raise DatabaseError(f"cannot connect to PostgreSQL at {redact(url)}: {e}") from e


def open_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 4,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
    timeout_s: float = 10.0,
) -> ConnectionPool:
    """A small, already opened connection pool for the API and the dashboard.

    Connections are autocommit (every query function opens its own transaction) and are
    checked before being handed out, so a database restart costs one failed health check,
    not a failed request. Close it with ``pool.close()``.
    """
    kwargs = {
        "autocommit": True,
        "connect_timeout": DEFAULT_CONNECT_TIMEOUT_S,
        "application_name": "fraudguard-api",
        "options": _options(url, statement_timeout_ms),
    }
    pool = ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs=kwargs,
        timeout=timeout_s,
        check=ConnectionPool.check_connection,
        open=False,
        name="fraudguard",
    )
    try:
        pool.open(wait=True, timeout=timeout_s)
    except Exception as e:  # PoolTimeout or a driver error: both mean "not reachable"
        pool.close()
        raise DatabaseError(f"cannot open a connection pool to {redact(url)}: {e}") from e
    return pool


def is_broken(conn: psycopg.Connection[Any] | None) -> bool:
    """Whether the connection can no longer be used (closed or lost by the server)."""
    return conn is None or conn.closed or conn.broken


@contextmanager
def db_errors(conn: psycopg.Connection[Any] | None, what: str) -> Iterator[None]:
    """Turn a psycopg error inside the block into :class:`DatabaseError`, after a rollback.

    ``what`` says what was being done ("upserting 10000 predictions"), which the error
    message keeps for the operator.
    """
    try:
        yield
    except psycopg.Error as e:
        if conn is not None and not is_broken(conn):
            with suppress(psycopg.Error):
                conn.rollback()
        raise DatabaseError(f"PostgreSQL failed while {what}: {type(e).__name__}: {e}".strip()) from e


def backoff_delays(attempts: int, base_s: float, max_s: float) -> Iterator[float]:
    """Exponential delays with full jitter between ``attempts`` tries (``attempts - 1`` values)."""
    for i in range(attempts - 1):
        yield random.uniform(0.5, 1.0) * min(max_s, base_s * 2**i)


def with_retry(
    fn: Callable[[], T],
    *,
    attempts: int = 5,
    backoff_s: float = 0.5,
    max_backoff_s: float = 10.0,
    stop_event: threading.Event | None = None,
    retry_on: tuple[type[BaseException], ...] = (DatabaseError,),
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> T:
    """Call ``fn`` until it succeeds, backing off between failures.

    A bounded retry for one-off callers: the sink raises :class:`DatabaseError` and
    reconnects on the next call, so ``with_retry(lambda: sink.write(frame, batch_id=b),
    stop_event=stop)`` carries a write across a database restart. (The engines retry whole
    batches without a limit instead: ``engines/common/retry.py``.)

    Parameters
    ----------
    fn:
        The idempotent call to make.
    attempts:
        Total tries, at least 1; ``0`` or less is refused.
    backoff_s, max_backoff_s:
        First delay and cap of the exponential back-off (with jitter, so several workers
        do not reconnect in lock-step).
    stop_event:
        When set, waiting stops at once and the last error is raised: shutdown must not
        wait out a long back-off.
    retry_on:
        Exception types worth retrying; any other propagates immediately.
    on_retry:
        Called as ``on_retry(attempt, error, delay_s)`` before each wait (logging, metrics).
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    delays = backoff_delays(attempts, backoff_s, max_backoff_s)
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except retry_on as e:
            delay = next(delays, None)
            if delay is None or (stop_event is not None and stop_event.is_set()):
                raise
            if on_retry is not None:
                on_retry(attempt, e, delay)
            if stop_event is not None:
                if stop_event.wait(delay):
                    raise
            else:
                time.sleep(delay)
