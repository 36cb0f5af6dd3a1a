"""Child processes that never outlive their parent: own process group, TERM then KILL.

``fraudguard stream --workers N`` and ``fraudguard demo`` start their parts as children
with :func:`spawn` (a new session, so a terminal's Ctrl-C reaches only the parent, which
then stops the children in order) and stop them with :func:`stop_all`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
    inherit_output: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own process group; output to ``log_path`` (or inherited)."""
    out: int | IO[bytes] | None
    if inherit_output:
        out = None
    elif log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(log_path, "ab")  # noqa: SIM115 - the child keeps its own copy of the descriptor
    else:
        out = subprocess.DEVNULL
    try:
        return subprocess.Popen(
            list(argv),
            env=dict(env) if env is not None else None,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        if out is not None and not isinstance(out, int):
            out.close()


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def stop_all(procs: Sequence[subprocess.Popen[bytes]], grace_s: float = 20.0) -> None:
    """SIGTERM every child's process group, wait up to ``grace_s``, then SIGKILL what is left.

    Children are stopped in reverse start order (the generator before the engine, the
    engine before the services it writes to).
    """
    for proc in reversed(procs):
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for proc in reversed(procs):
        remaining = max(0.0, deadline - time.monotonic())
        try:
            proc.wait(remaining)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait(5)
        # grandchildren left in the group (none expected) go too
        _signal_group(proc, signal.SIGKILL)
