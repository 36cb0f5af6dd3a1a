"""Starting and stopping an engine: SIGINT / SIGTERM ask for a graceful stop.

Both engines (and ``fraudguard demo`` / ``broker``, which supervise or serve until told to
stop) run until a :class:`threading.Event` is set. A signal only sets that event: the
engine then finishes its batch (local: flush, commit; Spark: the query stops between
micro-batches) and closes everything it opened.
"""

from __future__ import annotations

import faulthandler
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


def install_stop_handlers(stop: threading.Event) -> None:
    """SIGINT / SIGTERM set ``stop`` (graceful: finish the batch, flush, commit, close).

    SIGUSR1 prints every thread's stack to stderr (``faulthandler``) without stopping: a
    stuck engine says where it waits, even inside a blocking client call.
    Only the main thread may install signal handlers; elsewhere (an engine run in a test's
    thread) this does nothing and ``stop`` is set by the caller.
    """
    if threading.current_thread() is not threading.main_thread():
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    faulthandler.register(signal.SIGUSR1, all_threads=True)


@contextmanager
def stop_after(stop: threading.Event, seconds: float | None) -> Iterator[None]:
    """Set ``stop`` after ``seconds`` (``None``: never) while the block runs (``--duration``)."""
    if seconds is None:
        yield
        return
    timer = threading.Timer(seconds, stop.set)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
