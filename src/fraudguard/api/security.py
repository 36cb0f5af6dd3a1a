"""The one decision on API keys, for every door of the API: REST, the score fast path, WebSockets.

The policy (issue 11, "one auth policy"):

* a **write** always needs an accepted key. There is no "open" configuration: with no key
  configured, :func:`load_keys` makes a development key for this run and prints it once;
  production refuses to start without a configured or stored key (:class:`~fraudguard.config.Settings`);
* a **read** (REST reads, ``/readyz``, ``/metrics``, every WebSocket) needs one only when
  ``FRAUDGUARD_API_READ_REQUIRES_KEY`` is set;
* ``/healthz`` is no read: it is declared without any key check and stays open.

REST routes ask through the dependencies of :mod:`fraudguard.api.deps`, the fast path and
WebSockets call :func:`key_allowed` themselves with the key :func:`presented_key` finds, so
the three can no longer disagree (the WebSocket check and REST once did).

A key never travels in a URL (URLs end up in access logs and browser history): it comes in
the ``X-API-Key`` header, or, from a browser that cannot set headers on a WebSocket, as the
subprotocol ``fg-key.<base64url of the key>`` offered next to ``fraudguard``; the server
then accepts ``fraudguard`` and never echoes the key.
"""

from __future__ import annotations

import base64
import binascii
import enum
import secrets
import sys
from dataclasses import dataclass

from starlette.types import Scope

from fraudguard.api.auth import KeyRing
from fraudguard.config import Settings

PROTOCOL = "fraudguard"
"""The WebSocket subprotocol the server accepts."""
KEY_PROTOCOL_PREFIX = "fg-key."


class Access(enum.Enum):
    """What a request does: reads need a key only when configured so, writes always."""

    READ = "read"
    WRITE = "write"


class Verdict(enum.Enum):
    """The answer of :func:`key_allowed`; true only for :attr:`ALLOWED`. Values are the refusal reasons."""

    ALLOWED = "allowed"
    MISSING = "missing API key"
    INVALID = "invalid API key"

    def __bool__(self) -> bool:
        return self is Verdict.ALLOWED


@dataclass(frozen=True)
class KeyPolicy:
    """The accepted keys and whether reads need one (built from :class:`~fraudguard.api.services.Services`)."""

    keys: KeyRing
    read_requires_key: bool = False


def key_allowed(policy: KeyPolicy, key: str | None, access: Access) -> Verdict:
    """Whether a request presenting ``key`` (``None`` or ``""``: none) may do ``access``.

    Parameters
    ----------
    policy
        The accepted keys and the read rule.
    key
        The key the client presented, as :func:`presented_key` found it.
    access
        :attr:`Access.WRITE` for a POST, :attr:`Access.READ` for everything else with a check.

    Returns
    -------
    Verdict
        ``ALLOWED`` (true), or why not: ``MISSING`` (401, WebSocket 1008) or ``INVALID`` (403, 1008).
        A wrong key is ``INVALID`` only where a key is needed: an open read ignores it.
    """
    if access is Access.READ and not policy.read_requires_key:
        return Verdict.ALLOWED
    if not key:
        return Verdict.MISSING
    return Verdict.ALLOWED if policy.keys.accepts(key) else Verdict.INVALID


def key_protocols(key: str) -> list[str]:
    """The WebSocket subprotocols a client offers to authenticate with ``key`` (what the dashboard sends)."""
    token = base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
    return [PROTOCOL, KEY_PROTOCOL_PREFIX + token]


def offered_protocols(scope: Scope) -> list[str]:
    """The subprotocols a WebSocket client offered (``Sec-WebSocket-Protocol``, comma-separated)."""
    offered: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"sec-websocket-protocol":
            offered += [p.strip() for p in value.decode("latin-1").split(",") if p.strip()]
    return offered


def presented_key(scope: Scope) -> str | None:
    """The key a request presents: the ``X-API-Key`` header, else (WebSockets) the ``fg-key.`` subprotocol.

    Only the first ``X-API-Key`` header counts, as in ``Request.headers.get`` (what the REST
    dependency reads), so the fast path and the route always see the same key. ``""`` for a
    key protocol that is not valid base64url of UTF-8 (counted as no key). The query string
    is never read.
    """
    header = next((value for name, value in scope.get("headers", ()) if name == b"x-api-key"), b"")
    if header:
        return header.decode("latin-1")
    if scope.get("type") != "websocket":
        return None
    for p in offered_protocols(scope):
        if p.startswith(KEY_PROTOCOL_PREFIX):
            token = p[len(KEY_PROTOCOL_PREFIX) :]
            try:
                return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return ""
    return None


def load_keys(settings: Settings) -> KeyRing:
    """The keys a server accepts: ``FRAUDGUARD_API_KEYS`` plus the stored ones, or a development key.

    Writes always need a key, so a server with none configured (development: production
    refuses to start) accepts a key made for this run only, never stored, printed once on
    stderr for the operator to enter in the dashboard.
    """
    keys = KeyRing.from_settings(settings.api_key_list, settings.state_dir)
    if len(keys):
        return keys
    key = "fg_dev_" + secrets.token_urlsafe(24)
    print(
        "no API key configured (FRAUDGUARD_API_KEYS or `fraudguard api-key create`): writes need one, "
        f"so this run accepts the development key\n\n    {key}\n\n(enter it in the dashboard's API key field)",
        file=sys.stderr,
        flush=True,
    )
    return KeyRing([key])
