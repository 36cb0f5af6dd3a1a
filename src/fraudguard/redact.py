"""Secrets out of messages: passwords in URLs and API keys in query strings are masked.

A malformed ``FRAUDGUARD_DATABASE_URL`` (a space in the password) used to be echoed with
its password by ``stream`` and ``api``: psycopg quotes the offending part in its error,
and the chained traceback printed it again. Every error path now goes through
:func:`redact`, and :class:`RedactingFilter` masks what any logger (uvicorn's included)
would print, traceback text included.
"""

from __future__ import annotations

import logging
import re

_USERINFO = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s'\"]*):(?P<pw>[^@\s'\"]*(?:\s[^@\s'\"]*)*)@"
)
_KEYWORD = re.compile(r"(?i)\b(password|api_key|apikey|token|key)=([^&\s'\"]+)")
MASK = "***"


def url_password(url: str) -> str | None:
    """The password part of ``scheme://user:password@host`` (even of a malformed URL)."""
    m = _USERINFO.search(url)
    return m["pw"] if m and m["pw"] else None


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with URL passwords, ``key=...``/``password=...`` values and ``secrets`` masked."""
    out = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    out = _KEYWORD.sub(lambda m: f"{m[1]}={MASK}", out)
    for s in secrets:
        if s and len(s) >= 3:
            out = out.replace(s, MASK)
            for part in s.split():  # drivers quote fragments of a malformed value
                if len(part) >= 3:
                    out = out.replace(part, MASK)
    return out


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message and in its formatted traceback."""

    def __init__(self, *secrets: str | None) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = redact(message, *self.secrets), None
        return True


def install(
    *secrets: str | None, loggers: tuple[str, ...] = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
) -> None:
    """Attach a :class:`RedactingFilter` to these loggers and to their handlers."""
    f = RedactingFilter(*secrets)
    for name in loggers:
        logger = logging.getLogger(name)
        logger.addFilter(f)
        for h in logger.handlers:
            h.addFilter(f)


__all__ = ["MASK", "RedactingFilter", "install", "redact", "url_password"]
