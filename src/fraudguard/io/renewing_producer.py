"""A Kafka producer that replaces itself after a fatal error.

Why: every producer is idempotent (``enable.idempotence``). When the broker loses the
producer's id and sequence numbers — a memory-only broker restarted, or a cluster whose
partitions were recreated — librdkafka raises a *fatal* error (for example
``OUT_OF_ORDER_SEQUENCE_NUMBER``) and refuses every later ``produce``. The remedy
librdkafka documents is a new producer instance. Sinks hold this object, so after the
engine's usual retry of a failed delivery they write through a fresh producer and nothing
is lost: the batch's offsets are only committed after every sink flushed.

Not every such loss is reported as fatal: a restarted Tansu answers the old producer id
with ``PRODUCER_FENCED`` (or ``UNKNOWN_PRODUCER_ID``) in each message's delivery report
and librdkafka keeps the instance, so every retry failed the same way. Delivery reports
with one of :data:`IDENTITY_LOST` codes therefore renew the producer too.

Transactional producers are never renewed on an error: a fatal error there means this
worker was fenced by another one with the same ``transactional.id``, which must not be
papered over. They are wrapped with ``auto_renew=False`` only so that
:class:`~fraudguard.io.kafka_txn.KafkaTransactions` can replace an instance stuck in a
call that ignores its timeout (:meth:`RenewingProducer.renew`); the new instance's
``init_transactions`` fences the old one and aborts its open transaction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

from confluent_kafka import KafkaError, KafkaException, Producer

from fraudguard.errors import BrokerError

log = logging.getLogger(__name__)


IDENTITY_LOST = frozenset(
    {
        KafkaError.PRODUCER_FENCED,
        KafkaError.UNKNOWN_PRODUCER_ID,
        KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER,
        KafkaError.INVALID_PRODUCER_EPOCH,
        KafkaError.INVALID_PRODUCER_ID_MAPPING,
    }
)
"""Delivery-report codes meaning the broker no longer knows this idempotent producer."""


def is_fatal(error: Any) -> bool:
    """True for a librdkafka error after which the producer instance is unusable."""
    if isinstance(error, KafkaException) and error.args:
        error = error.args[0]
    if not isinstance(error, KafkaError):
        return False
    return bool(error.fatal()) or error.code() == KafkaError._FATAL


class RenewingProducer:
    """Delegates to a :class:`confluent_kafka.Producer` and builds a new one after a fatal error.

    Parameters
    ----------
    conf
        The producer configuration. Its ``error_cb`` (if any) still receives every error.
    factory
        Builds a producer from a configuration (``confluent_kafka.Producer`` by default).
    auto_renew
        Replace the instance after a fatal error (idempotent producers). ``False``: only an
        explicit :meth:`renew` does (the only mode allowed for a transactional producer).
    """

    def __init__(
        self, conf: dict[str, Any], factory: Callable[[dict[str, Any]], Any] = Producer, *, auto_renew: bool = True
    ) -> None:
        if "transactional.id" in conf and auto_renew:
            raise ValueError("renewal on errors is for non-transactional producers: use auto_renew=False")
        self.auto_renew = auto_renew
        self._user_error_cb = conf.get("error_cb")
        self._conf = {**conf, "error_cb": self._on_error}
        self._factory = factory
        self._lock = threading.Lock()
        self._fatal: Any = None
        self.renewals = 0
        self._producer = factory(self._conf)
        self._wrapped: tuple[Any, Any] = (None, None)
        """The last delivery callback and its wrapper: a sink passes the same one for a whole
        batch, so the wrapper is built once per batch, not once per message (~1 µs each)."""

    def _on_error(self, err: KafkaError) -> None:
        if self.auto_renew and is_fatal(err):
            self._fatal = err
        if self._user_error_cb is not None:
            self._user_error_cb(err)

    def _current(self) -> Any:
        if self._fatal is not None:
            with self._lock:
                if self._fatal is not None:
                    self._renew()
        return self._producer

    def renew(self, reason: str) -> None:
        """Replace the instance now (its queued messages are dropped, not delivered)."""
        with self._lock:
            self._fatal = reason
            self._renew(purge=False)

    def _renew(self, *, purge: bool = True) -> None:
        old, reason = self._producer, self._fatal
        log.warning("Kafka producer hit a fatal error (%s): replacing it with a new one", reason)
        if not purge:  # another thread may still be inside a call on it: leave it alone
            self._producer = self._factory(self._conf)
            self._fatal = None
            self.renewals += 1
            return
        try:
            # Drop what the dead instance still holds without serving its callbacks: the
            # sinks already count those messages as failed and deliver them again.
            old.purge(in_queue=True, in_flight=True, blocking=False)
        except Exception:  # best effort on an instance we are discarding
            log.debug("purge of the failed producer failed", exc_info=True)
        self._producer = self._factory(self._conf)
        self._fatal = None
        self.renewals += 1

    def _delivered(self, callback: Callable[[Any, Any], None], err: KafkaError | None, msg: Any) -> None:
        if err is not None and err.code() in IDENTITY_LOST and self._fatal is None:
            self._fatal = err
        callback(err, msg)

    def produce(self, *args: Any, **kwargs: Any) -> None:
        """``Producer.produce`` on the current instance; a fatal refusal marks it for renewal.

        The delivery callback is wrapped: a report saying the broker lost this producer's
        identity (:data:`IDENTITY_LOST`) also marks it for renewal.
        """
        if self.auto_renew and kwargs:
            for name in ("on_delivery", "callback"):
                callback = kwargs.get(name)
                if callback is not None:
                    kwargs[name] = self._wrap(callback)
        try:
            self._current().produce(*args, **kwargs)
        except KafkaException as e:
            self.refused(e)
            raise

    def bound(self, on_delivery: Callable[[Any, Any], None]) -> Bound:
        """The current instance's ``produce``, ``on_delivery`` wrapped as :meth:`produce`
        wraps it, and :meth:`refused`: for a sink's loop over one batch's messages, which so
        skips this object's work per message (~0.4 µs each)."""
        wrapped = self._wrap(on_delivery) if self.auto_renew else on_delivery
        return Bound(self._current().produce, wrapped, self.refused)

    def refused(self, error: BaseException) -> None:
        """Mark the instance for renewal when ``error`` (raised by its ``produce``) is fatal."""
        if self.auto_renew and is_fatal(error):
            self._fatal = error.args[0]

    def _wrap(self, callback: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        """``callback`` behind :meth:`_delivered`, reused while the same one comes (bound
        methods compare equal, not identical). The pair is read and replaced as one tuple, so
        threads sharing the producer never pair one callback with another's wrapper."""
        last, wrapper = self._wrapped
        if last is None or last != callback:
            wrapper = partial(self._delivered, callback)
            self._wrapped = (callback, wrapper)
        return wrapper  # type: ignore[no-any-return]

    def _serve(self, method: str, timeout: float) -> int:
        try:
            return int(getattr(self._current(), method)(timeout))
        except (KafkaException, SystemError) as e:
            if not self.auto_renew:
                raise
            # a fatal error can surface from inside a delivery callback (as a SystemError
            # whose cause is the KafkaException) before error_cb has seen it
            # (or as a bare SystemError: the C client reports a failed callback after a fatal
            # error without the cause); either way this instance is done for
            cause = e.__cause__ or e.__context__
            if not (isinstance(e, SystemError) or is_fatal(e) or is_fatal(cause) or self._fatal is not None):
                raise
            self._fatal = self._fatal or cause or e
            raise BrokerError(f"the Kafka producer failed fatally ({cause or e}); a new one delivers again") from e

    def poll(self, timeout: float = 0) -> int:
        """``Producer.poll`` on the current instance."""
        return self._serve("poll", timeout)

    def flush(self, timeout: float = -1) -> int:
        """``Producer.flush`` on the current instance; messages still queued are returned."""
        return self._serve("flush", timeout)

    def __len__(self) -> int:
        return len(self._current())

    def __getattr__(self, name: str) -> Any:
        # Everything else (list_topics, purge, ...) goes to the current instance.
        return getattr(self._current(), name)


class Bound(NamedTuple):
    """One batch's ``produce`` loop handles (see :func:`bind`)."""

    produce: Callable[..., None]
    on_delivery: Callable[[Any, Any], None]
    refused: Callable[[BaseException], None]


def _no_renewal(error: BaseException) -> None:
    """A plain producer is never renewed: nothing to mark."""


def bind(producer: Producer | RenewingProducer, on_delivery: Callable[[Any, Any], None]) -> Bound:
    """``produce``, ``on_delivery`` and ``refused`` for a sink's loop over one batch's messages.

    Any producer, so a sink has one path: a :class:`RenewingProducer` gives its current
    instance's ``produce`` and wrapped callback (:meth:`RenewingProducer.bound`) and marks
    itself for renewal on a fatal refusal; a plain ``Producer`` its own ``produce`` and the
    callback as given, and a refusal marks nothing.
    """
    if isinstance(producer, RenewingProducer):
        return producer.bound(on_delivery)
    return Bound(producer.produce, on_delivery, _no_renewal)
