"""``fraudguard demo --duration``: starts everything embedded, scores, and leaves no process behind."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if text.encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def test_demo_runs_embedded_and_stops_cleanly(engine_registry: Path, tmp_path: Path):
    state = tmp_path / "demo"
    shutil.copytree(engine_registry, state / "models")  # skip training: tested elsewhere
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "FRAUDGUARD_DATABASE_URL")}
    env.update({"FRAUDGUARD_STATE_DIR": str(state), "COLUMNS": "200"})
    argv = [sys.executable, "-m", "fraudguard", "demo", "--duration", "25", "--tps", "300", "--no-api"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=240, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "demo stopped" in out
    log = (state / "logs" / "engine.log").read_text()
    scored = [int(m.replace(",", "")) for m in re.findall(r"scored ([\d,]+)", log)]
    assert scored and max(scored) > 0, log[-2000:]
    engine_pids = {int(p) for p in re.findall(r"^\[(\d+)\]", log, flags=re.M)}
    assert engine_pids and not any(_alive(p) for p in engine_pids)
    assert _processes_mentioning(str(state)) == [], "a process still uses the demo's state directory"
