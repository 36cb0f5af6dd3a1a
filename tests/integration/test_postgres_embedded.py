"""The embedded PostgreSQL from the wheel: start, use, stop with nothing left behind, restart."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from fraudguard.config import Settings, load_settings
from fraudguard.errors import DatabaseError
from fraudguard.io.embedded_postgres import EmbeddedPostgres, resolve_database_url
from fraudguard.io.postgres import connect
from fraudguard.io.sinks.base import PredictionBatch
from fraudguard.io.sinks.postgres import PostgresSink
from tests.fixtures.postgres import prediction_frame

pytestmark = pytest.mark.integration


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(attrs=["name", "cmdline"]):
        cmd = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and str(data_dir) in " ".join(cmd):
            found.append(proc)
    return found


@pytest.fixture(scope="module")
def state_dir() -> Iterator[Path]:
    """Not under pytest's tmp_path: pytest resets /tmp/pytest-of-<user> to mode 0700 on start,
    which locks out the ``embedded_postgres`` system user the server runs as under root."""
    path = load_settings().state_dir / f"embedded-test-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_resolve_prefers_the_configured_url(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql://u@db.example:5432/x", state_dir=tmp_path)
    assert resolve_database_url(settings, allow_embedded=True) == ("postgresql://u@db.example:5432/x", None)
    with pytest.raises(DatabaseError, match="FRAUDGUARD_DATABASE_URL"):
        resolve_database_url(Settings(database_url=None, state_dir=tmp_path), allow_embedded=False)


def test_embedded_server_lifecycle(state_dir: Path) -> None:
    settings = Settings(database_url=None, state_dir=state_dir)
    url, handle = resolve_database_url(settings, allow_embedded=True)
    assert handle is not None
    data_dir = settings.postgres_dir.resolve()
    try:
        assert handle.pid is not None and postgres_processes(data_dir)
        sink = PostgresSink(url)
        sink.setup()
        assert sink.upsert(PredictionBatch.of(prediction_frame(500)), batch_id="e") == 500
        sink.close()
        with connect(url) as conn:
            assert conn.execute("SELECT current_database(), count(*) FROM fraud_predictions").fetchone() == (
                "fraudguard",
                500,
            )
    finally:
        assert handle.stop() is True
    assert postgres_processes(data_dir) == []
    with pytest.raises(DatabaseError, match="cannot connect"):  # a stopped server is a clear error
        PostgresSink(url, run_migrations=False).setup()

    with EmbeddedPostgres(data_dir) as again:  # restart on the same data directory keeps the data
        assert again.url is not None
        with connect(again.url) as conn:
            assert conn.execute("SELECT count(*) FROM fraud_predictions").fetchone() == (500,)
    assert postgres_processes(data_dir) == []


def test_handles_of_killed_processes_do_not_keep_the_server_alive(state_dir: Path) -> None:
    data_dir = state_dir / "postgres"
    server = EmbeddedPostgres(data_dir)
    server.start()
    handles = data_dir / ".handle_pids.json"
    handles.write_text(handles.read_text().rstrip("]") + ", 999999999]")  # a crashed holder's pid
    assert server.stop() is True
    assert postgres_processes(data_dir.resolve()) == []
