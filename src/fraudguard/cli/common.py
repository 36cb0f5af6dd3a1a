"""Pieces shared by CLI commands: the console, settings with flag overrides, clean failure."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from rich.console import Console

from fraudguard.config import Settings, load_settings
from fraudguard.errors import ConfigError, FraudGuardError
from fraudguard.redact import redact

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)

P = ParamSpec("P")
R = TypeVar("R")


def settings_from_flags(**overrides: object) -> Settings:
    """Settings from environment / ``.env``, with the non-``None`` CLI flags taking precedence.

    An out-of-range flag or environment value becomes a :class:`ConfigError` naming the
    setting. The pydantic error is not chained: its text repeats the input value, which
    may be a secret (database URL, API keys).
    """
    import pydantic

    try:
        return load_settings(**overrides)
    except pydantic.ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in e.errors()
        )
        raise ConfigError(f"invalid setting {problems}") from None


def fail(message: str, code: int = 1) -> None:
    """Print a one-line reason on stderr and exit non-zero."""
    err_console.print(f"[bold red]error:[/] {message}")
    raise SystemExit(code)


def _secrets() -> list[str]:
    """Secret values of this process's environment, masked in every error line."""
    from fraudguard.redact import url_password

    out = []
    for name in ("FRAUDGUARD_DATABASE_URL", "FRAUDGUARD_REDIS_URL"):
        pw = url_password(os.environ.get(name, ""))
        if pw:
            out.append(pw)
    return out


def clean_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn FraudGuard errors (and Ctrl-C) into a one-line message and an exit code.

    Tracebacks are for bugs; an unreachable broker or a malformed file is the user's to
    fix and deserves one readable line. ``FRAUDGUARD_DEBUG=1`` shows the traceback too.
    """

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except FraudGuardError as e:
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                err_console.print_exception()
            cause = f" ({e.__cause__})" if e.__cause__ and str(e.__cause__) not in str(e) else ""
            fail(redact(f"{e}{cause}", *_secrets()))
        except KeyboardInterrupt:
            err_console.print("interrupted")
            sys.exit(130)
        raise AssertionError("unreachable")

    return wrapper
