"""Secrets never reach messages or logs (issue 11, failure 7)."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fraudguard.errors import DatabaseError
from fraudguard.io.postgres import connect, open_pool
from fraudguard.redact import RedactingFilter, redact, url_password

BAD_URL = "postgresql://fg:s3cr et-pw@127.0.0.1:5/db"
SECRET_PARTS = ("s3cr", "et-pw", "s3cr et-pw")


def _clean(text: str) -> bool:
    return not any(p in text for p in SECRET_PARTS)


@pytest.mark.parametrize("opener", [connect, open_pool])
def test_malformed_database_url_is_refused_without_its_password(opener) -> None:
    with pytest.raises(DatabaseError) as info:
        opener(BAD_URL)
    assert "malformed database URL" in str(info.value)
    assert _clean(str(info.value))
    assert info.value.__cause__ is None and info.value.__suppress_context__  # the driver's message is not chained


def test_redact_masks_url_passwords_and_key_parameters() -> None:
    assert redact("at redis://:hunter22@h:6379/0 now") == "at redis://:***@h:6379/0 now"
    assert redact("GET /ws/metrics?api_key=abcdef HTTP/1.1") == "GET /ws/metrics?api_key=*** HTTP/1.1"
    assert url_password(BAD_URL) == "s3cr et-pw"
    assert _clean(redact('unexpected spaces found in "s3cr et-pw"', url_password(BAD_URL)))


def test_log_filter_masks_messages_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter("s3cr et-pw"))
    log = logging.getLogger("fraudguard.test.redact")
    log.addHandler(handler)
    try:
        try:
            raise ValueError(f"cannot parse {BAD_URL}")
        except ValueError:
            log.exception("startup failed for %s", BAD_URL)
        log.warning('"GET /ws/alerts?api_key=%s HTTP/1.1" 101', "topsecretkey")
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert "startup failed" in out and "ValueError" in out
    assert _clean(out) and "topsecretkey" not in out


@pytest.mark.timeout(120)
def test_api_cli_never_prints_the_password(tmp_path: Path) -> None:
    from fraudguard.io.broker import free_port

    command = ["api", "--port", str(free_port())]
    env = {**os.environ, "FRAUDGUARD_DATABASE_URL": BAD_URL, "FRAUDGUARD_STATE_DIR": str(tmp_path)}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    r = subprocess.run(
        [sys.executable, "-m", "fraudguard", *command], env=env, capture_output=True, text=True, timeout=100
    )
    assert _clean(r.stdout + r.stderr), r.stdout + r.stderr
