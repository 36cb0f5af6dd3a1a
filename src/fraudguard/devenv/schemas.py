"""A fresh, empty PostgreSQL schema per run, so runs sharing one database never see each other's rows.

Tests, benchmarks and the dashboard tests each write into their own schema of one shared
database: :func:`create_schema` makes it and returns a URL whose sessions resolve table
names there (:func:`fraudguard.io.postgres.with_search_path`, the one helper for that);
the engines and the API create their tables in it on first use. :func:`drop_schema`
removes it with everything inside; :func:`fresh_schema` does both around a block.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from fraudguard.errors import DatabaseError
from fraudguard.io.postgres import with_search_path


def create_schema(admin_url: str, prefix: str = "s") -> tuple[str, str]:
    """Create an empty schema named ``<prefix>_<random>``; returns its name and a URL using it."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    except psycopg.Error as e:
        raise DatabaseError(f"cannot create schema {name}: {e}") from e
    return name, with_search_path(admin_url, name)


def drop_schema(admin_url: str, name: str) -> None:
    """Drop schema ``name`` and everything in it (no error when it is already gone)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@contextmanager
def fresh_schema(admin_url: str, prefix: str = "s") -> Iterator[str]:
    """A URL on a new empty schema for the block; the schema is dropped afterwards."""
    name, url = create_schema(admin_url, prefix)
    try:
        yield url
    finally:
        drop_schema(admin_url, name)
