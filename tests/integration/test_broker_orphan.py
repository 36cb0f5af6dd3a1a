"""``kill -9`` of ``fraudguard broker`` takes Tansu with it (issue 11, failure 11)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fraudguard.io.broker import free_port, port_is_free, wait_for_port


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
@pytest.mark.timeout(120)
def test_kill_9_of_the_launcher_stops_tansu(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "FRAUDGUARD_STATE_DIR": str(tmp_path)}
    launcher = subprocess.Popen(
        [sys.executable, "-m", "fraudguard", "broker", "--port", str(port), "--partitions", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    tansu: list[int] = []
    try:
        wait_for_port("127.0.0.1", port, 60, launcher)
        tansu = _children(launcher.pid)
        assert tansu, "the launcher has no child process"
        launcher.send_signal(signal.SIGKILL)
        launcher.wait(10)
        deadline = time.monotonic() + 15
        # the thread-group leader turns zombie before its other threads have exited and closed
        # the listening socket, so the port is checked in the same wait, not right after it
        while (any(_alive(p) for p in tansu) or not port_is_free("127.0.0.1", port)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in tansu), "Tansu outlived its launcher"
        assert port_is_free("127.0.0.1", port), "Tansu's port still taken after it died"
    finally:
        for pid in tansu:  # only the children of the launcher this test started
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if launcher.poll() is None:
            launcher.kill()
