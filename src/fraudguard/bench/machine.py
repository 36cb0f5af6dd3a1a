"""Where and when a benchmark ran: date, machine, load and git commit.

Numbers without their machine are not comparable: the report carries the core count,
RAM, CPU model and the load average when the run started (a shared machine under load
gives pessimistic figures, and the reader must be able to see that).
"""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit(cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True, text=True, check=False
    )
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def machine_info(cwd: Path | None = None) -> dict[str, Any]:
    """Date, host facts, the 1/5/15-minute load average now and the git commit of ``cwd``."""
    import psutil

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load_average_start": [round(v, 2) for v in load],
        "git_commit": _git_commit(cwd or Path.cwd()),
    }
