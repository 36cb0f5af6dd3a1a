"""The models package is pure core: importing it pulls in no broker, database, Spark or web code."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("confluent_kafka", "pyspark", "psycopg", "sqlalchemy", "redis", "fastapi", "starlette", "httpx", "uvicorn")


def test_models_import_no_io_libraries() -> None:
    code = (
        "import sys\n"
        "import fraudguard.models.scorer, fraudguard.models.trainer, fraudguard.models.card\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
