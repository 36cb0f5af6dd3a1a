"""API keys: accepted from ``FRAUDGUARD_API_KEYS`` or stored hashed under ``state_dir``.

Keys are 256-bit random tokens, so a single SHA-256 is enough to store them (a slow hash
such as scrypt protects low-entropy passwords, not random keys) and keeps the check cheap
on every request. The check compares the digest of the presented key with *every* known
digest using :func:`hmac.compare_digest`, so neither the position of a match nor a common
prefix shows in the response time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime
from pathlib import Path

from fraudguard.config import API_KEY_FILE
from fraudguard.errors import ConfigError

KEY_FILE = API_KEY_FILE


def digest(key: str) -> str:
    """Hex SHA-256 of a key (what the key file stores)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def key_file(state_dir: Path) -> Path:
    """Where hashed keys live: ``<state_dir>/api_keys.json``."""
    return Path(state_dir) / KEY_FILE


def load_stored(state_dir: Path) -> list[dict[str, str]]:
    """Entries of the key file (``[]`` when there is none); a corrupt file is a ConfigError."""
    path = key_file(state_dir)
    if not path.is_file():
        return []
    try:
        entries = json.loads(path.read_text())["keys"]
        assert all(isinstance(e["sha256"], str) for e in entries)
    except (ValueError, KeyError, TypeError, AssertionError) as e:
        raise ConfigError(f"{path}: not a FraudGuard API key file") from e
    return list(entries)


def create_key(state_dir: Path, name: str = "default") -> str:
    """Make a new key, store only its hash, and return the key (shown once, never stored)."""
    key = "fg_" + secrets.token_urlsafe(32)
    entries = load_stored(state_dir)
    entries.append({"name": name, "sha256": digest(key), "created_at": datetime.now(UTC).isoformat()})
    path = key_file(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"keys": entries}, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)
    return key


class KeyRing:
    """The digests of every accepted key; :meth:`accepts` is constant-time over them."""

    def __init__(self, plain: list[str] | None = None, digests: list[str] | None = None) -> None:
        self._digests = [digest(k) for k in plain or []] + list(digests or [])

    @classmethod
    def from_settings(cls, plain: list[str], state_dir: Path) -> KeyRing:
        """Keys from the environment plus the stored hashed keys."""
        return cls(plain, [e["sha256"] for e in load_stored(state_dir)])

    def __len__(self) -> int:
        return len(self._digests)

    def accepts(self, key: str) -> bool:
        """Whether ``key`` is one of the accepted keys."""
        d = digest(key)
        found = False
        for known in self._digests:
            found |= hmac.compare_digest(d, known)
        return found
