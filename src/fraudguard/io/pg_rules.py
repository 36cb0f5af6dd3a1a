"""Rules in PostgreSQL: the current version of each, every past version, an audit log.

Every change (create, edit, state switch) runs in one transaction that

1. writes the rule's new current row in ``rules`` (its ``version`` + 1),
2. appends that version, whole, to ``rule_versions`` (never updated or deleted),
3. appends who/what/when to ``rule_audit`` (the changed fields, old and new values),
4. bumps the single counter in ``rules_revision``.

Engines and the API poll only the counter (one tiny row) at each batch boundary and reload
the rules when it moved, so a change reaches the stream at the next batch without a
restart, and a batch is always decided by one consistent set of rules.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from fraudguard.errors import ValidationError
from fraudguard.io.postgres import db_errors
from fraudguard.rules import Rule, RuleError, RuleSet

RULES_DDL = """
CREATE TABLE rules (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    condition text NOT NULL,
    action text NOT NULL CHECK (action IN ('allow', 'review', 'block')),
    priority integer NOT NULL DEFAULT 0,
    owner text NOT NULL DEFAULT '',
    state text NOT NULL CHECK (state IN ('draft', 'shadow', 'active')),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE rule_versions (
    rule_id bigint NOT NULL REFERENCES rules (id),
    version integer NOT NULL,
    name text NOT NULL,
    condition text NOT NULL,
    action text NOT NULL,
    priority integer NOT NULL,
    owner text NOT NULL,
    state text NOT NULL,
    changed_by text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, version)
);
CREATE TABLE rule_audit (
    id bigserial PRIMARY KEY,
    rule_id bigint NOT NULL REFERENCES rules (id),
    version integer NOT NULL,
    actor text NOT NULL,
    change text NOT NULL,
    diff jsonb NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rule_audit_rule_idx ON rule_audit (rule_id, id);
CREATE TABLE rules_revision (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    revision bigint NOT NULL
);
INSERT INTO rules_revision (singleton, revision) VALUES (true, 0);
"""

PREDICTION_RULE_COLUMNS_DDL = """
ALTER TABLE fraud_predictions
    ADD COLUMN IF NOT EXISTS rule_ids text[] NOT NULL DEFAULT '{}',
    ADD COLUMN IF NOT EXISTS rule_action text CHECK (rule_action IN ('allow', 'review', 'block')),
    ADD COLUMN IF NOT EXISTS shadow_rule_ids text[] NOT NULL DEFAULT '{}';
COMMENT ON COLUMN fraud_predictions.rule_ids IS 'ids of the matching active rules, first = the one that decided';
COMMENT ON COLUMN fraud_predictions.rule_action IS 'action of the deciding rule; NULL when the model threshold decided';
"""

TABLES: tuple[str, ...] = ("rule_audit", "rule_versions", "rules")
"""Data tables of this module in an order safe to truncate together (the counter is kept)."""

EDITABLE: tuple[str, ...] = ("name", "condition", "action", "priority", "owner", "state")
_COLUMNS = "id, name, condition, action, priority, owner, state, version, created_at, updated_at"
NOT_FOUND = "rule not found"


class RuleNotFound(ValidationError):
    """No rule has this id (the API answers 404)."""

    def __init__(self, rule_id: int) -> None:
        super().__init__("id", f"{NOT_FOUND}: {rule_id}")
        self.rule_id = rule_id


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    """Refuse a bad rule before it touches the database (the condition is parsed here)."""
    Rule(id=0, **{k: values[k] for k in EDITABLE})
    return values


def _record(cur: psycopg.Cursor[Any], row: dict[str, Any], actor: str, change: str, diff: dict[str, Any]) -> None:
    cur.execute(
        "INSERT INTO rule_versions (rule_id, version, name, condition, action, priority, owner, state, changed_by)"
        " VALUES (%(id)s, %(version)s, %(name)s, %(condition)s, %(action)s, %(priority)s, %(owner)s, %(state)s,"
        " %(actor)s)",
        {**row, "actor": actor},
    )
    cur.execute(
        "INSERT INTO rule_audit (rule_id, version, actor, change, diff) VALUES (%s, %s, %s, %s, %s)",
        (row["id"], row["version"], actor, change, Jsonb(diff)),
    )
    cur.execute("UPDATE rules_revision SET revision = revision + 1")


def create_rule(conn: psycopg.Connection[Any], values: dict[str, Any], actor: str) -> dict[str, Any]:
    """Store a new rule (version 1) with its audit entry; returns the stored row.

    Raises :class:`RuleError` for a bad rule or a name already taken.
    """
    values = _checked({"priority": 0, "owner": "", "state": "draft", **values})
    with db_errors(conn, "creating a rule"), conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        try:
            with conn.transaction():
                cur.execute(
                    f"INSERT INTO rules (name, condition, action, priority, owner, state) VALUES"
                    f" (%(name)s, %(condition)s, %(action)s, %(priority)s, %(owner)s, %(state)s) RETURNING {_COLUMNS}",
                    values,
                )
        except psycopg.errors.UniqueViolation as e:
            raise RuleError(f"a rule named {values['name']!r} exists already", field="name") from e
        row = cur.fetchone()
        assert row is not None
        _record(cur, row, actor, "created", {k: [None, row[k]] for k in EDITABLE})
        after_change(cur, row, "created")
    return row


def update_rule(conn: psycopg.Connection[Any], rule_id: int, changes: dict[str, Any], actor: str) -> dict[str, Any]:
    """Apply ``changes`` (any of :data:`EDITABLE`) as a new version; returns the stored row.

    A change that alters nothing still counts as a version (the audit shows who confirmed it).
    """
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(sorted(unknown)[0], "cannot be changed")
    with db_errors(conn, "updating a rule"), conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM rules WHERE id = %s FOR UPDATE", (rule_id,))
        old = cur.fetchone()
        if old is None:
            raise RuleNotFound(rule_id)
        new = _checked({**{k: old[k] for k in EDITABLE}, **changes})
        sets = ", ".join(f"{k} = %({k})s" for k in EDITABLE)
        try:
            with conn.transaction():
                cur.execute(
                    f"UPDATE rules SET {sets}, version = version + 1, updated_at = now() WHERE id = %(id)s"
                    f" RETURNING {_COLUMNS}",
                    {**new, "id": rule_id},
                )
        except psycopg.errors.UniqueViolation as e:
            raise RuleError(f"a rule named {new['name']!r} exists already", field="name") from e
        row = cur.fetchone()
        assert row is not None
        diff = {k: [old[k], row[k]] for k in EDITABLE if old[k] != row[k]}
        change = f"state:{old['state']}->{row['state']}" if "state" in diff else "updated"
        _record(cur, row, actor, change, diff)
        after_change(cur, row, change)
    return row


def after_change(cur: psycopg.Cursor[Any], row: dict[str, Any], change: str) -> None:
    """Hook run inside a rule change's transaction (the webhook outbox writes here)."""
    from fraudguard.io import pg_outbox

    pg_outbox.enqueue(cur, "rule.changed", {"rule": _jsonable(row), "change": change})


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}


def list_rules(conn: psycopg.Connection[Any], state: str | None = None) -> list[dict[str, Any]]:
    """Current version of every rule (optionally of one state), highest priority first."""
    where, params = ("WHERE state = %s", (state,)) if state else ("", ())
    with db_errors(conn, "listing rules"), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM rules {where} ORDER BY priority DESC, id", params)  # type: ignore[arg-type]
        return cur.fetchall()


def get_rule(conn: psycopg.Connection[Any], rule_id: int) -> dict[str, Any]:
    """The current version of one rule; :class:`RuleNotFound` when there is none."""
    with db_errors(conn, "reading a rule"), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM rules WHERE id = %s", (rule_id,))
        row = cur.fetchone()
    if row is None:
        raise RuleNotFound(rule_id)
    return row


def rule_history(conn: psycopg.Connection[Any], rule_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every stored version and every audit entry of one rule, oldest first."""
    get_rule(conn, rule_id)
    with db_errors(conn, "reading rule history"), conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM rule_versions WHERE rule_id = %s ORDER BY version", (rule_id,))
        versions = cur.fetchall()
        cur.execute(
            "SELECT id, version, actor, change, diff, at FROM rule_audit WHERE rule_id = %s ORDER BY id", (rule_id,)
        )
        audit = cur.fetchall()
    return {"versions": versions, "audit": audit}


def revision(conn: psycopg.Connection[Any]) -> int:
    """The change counter (0 before any rule was stored)."""
    with db_errors(conn, "reading the rules revision"):
        row = conn.execute("SELECT revision FROM rules_revision").fetchone()
    return int(row[0]) if row else 0


def load_ruleset(conn: psycopg.Connection[Any]) -> RuleSet:
    """The active and shadow rules with the revision they belong to, read in one snapshot.

    A stored rule that no longer parses (a field was removed since) is left out, not fatal:
    the stream must go on; the API refuses such rules at write time.
    """
    with db_errors(conn, "loading rules"), conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        rev = cur.execute("SELECT revision FROM rules_revision").fetchone()
        cur.execute(f"SELECT {_COLUMNS} FROM rules WHERE state IN ('active', 'shadow')")
        rows = cur.fetchall()
    rules: list[Rule] = []
    for row in rows:
        try:
            rules.append(Rule(**{k: row[k] for k in ("id", "version", *EDITABLE)}))
        except RuleError:
            continue
    return RuleSet.of(rules, int(rev["revision"]) if rev else 0)
