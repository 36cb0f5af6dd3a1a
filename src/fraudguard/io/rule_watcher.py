"""The rules in force, followed at batch boundaries (engines and the API).

:class:`RuleWatcher` reads the one-row revision counter at most every ``check_every_s``
seconds and reloads the active and shadow rules only when it moved. Callers take
:attr:`RuleWatcher.current` once per batch, so a batch is decided by one set of rules and
a change applies from the next batch on, without a restart. A database outage keeps the
rules already loaded (logged), it never stops scoring.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from fraudguard.errors import DatabaseError
from fraudguard.io import pg_rules
from fraudguard.io.postgres import connect, is_broken
from fraudguard.rules import RuleSet

log = logging.getLogger(__name__)


class RuleWatcher:
    """Holds the current :class:`RuleSet` and reloads it when the stored revision changes.

    Parameters
    ----------
    url:
        libpq URL of the database holding the rules (migrated by the caller).
    check_every_s:
        Smallest interval between two reads of the revision counter (0: every batch).
    """

    def __init__(self, url: str, *, check_every_s: float = 1.0) -> None:
        self.url = url
        self.check_every_s = check_every_s
        self.current = RuleSet()
        self.reloads = 0
        self._conn: Any = None
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def _connection(self) -> Any:
        if is_broken(self._conn):
            self._conn = connect(self.url, autocommit=True, application_name="fraudguard-rules")
        return self._conn

    def check(self, force: bool = False) -> bool:
        """Reload if the revision moved; True when the rules changed. Never raises for an outage."""
        now = time.monotonic()
        if not force and now - self._checked < self.check_every_s:
            return False
        with self._lock:
            self._checked = now
            try:
                conn = self._connection()
                if pg_rules.revision(conn) == self.current.version and self.reloads:
                    return False
                rules = pg_rules.load_ruleset(conn)
            except DatabaseError as e:
                log.warning("rules not reloaded, keeping revision %d: %s", self.current.version, e)
                return False
            changed = self.reloads > 0 and rules.version != self.current.version
            if changed:
                log.warning(
                    "rules reloaded at a batch boundary: revision %d -> %d", self.current.version, rules.version
                )
            self.current = rules
            self.reloads += 1
            return changed

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
