"""Champion / challenger roles, gated promotion, rollback and their audit trail.

The registry's ``CURRENT`` pointer stays the one source of truth for the **champion**
(the version that decides): engines already follow it at batch boundaries, so promoting
is "write ``CURRENT``". Around it this module keeps, in the same directory::

    models/
      CURRENT          # the champion
      ROLES.json       # {"challengers": [...], "history": [older champions, newest last]}
      AUDIT.jsonl      # one line per promote / rollback / challenger change: who, when, forced
      <version>/evaluation.json   # the challenger-vs-champion report that the gate reads

A challenger is scored in shadow (recorded, never deciding). Promotion is gated: the
challenger's PR-AUC on the most recent labelled window (its ``evaluation.json``, written
by ``fraudguard retrain``) must not be worse than the champion's on the same window by
more than ``margin``. ``force`` overrides and the audit line says so. Every change holds
an exclusive ``flock`` on ``.lifecycle.lock`` so the CLI and the API never interleave.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fraudguard.errors import ModelError
from fraudguard.models.registry import CARD, VERSION_RE, current_version, list_versions, write_current

ROLES = "ROLES.json"
AUDIT = "AUDIT.jsonl"
EVALUATION = "evaluation.json"
LOCK = ".lifecycle.lock"
DEFAULT_MARGIN = 0.01
"""A challenger may be at most this much PR-AUC below the champion and still be promoted."""


class PromotionRefused(ModelError):
    """The gate refused a promotion (``gate`` holds the comparison that failed)."""

    def __init__(self, message: str, gate: dict[str, Any]) -> None:
        super().__init__(message)
        self.gate = gate


@dataclass
class Roles:
    """Who is champion (``CURRENT``), who is in shadow, and which champions came before."""

    champion: str | None
    challengers: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"champion": self.champion, "challengers": list(self.challengers), "history": list(self.history)}


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with (root / LOCK).open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _atomic_json(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _check_version(root: Path, version: str) -> None:
    if not VERSION_RE.match(version):
        raise ModelError(f"{version!r} is not a model version name")
    if not (root / version / CARD).is_file():
        raise ModelError(f"model version {version} not found in {root}")


def read_roles(root: Path | str) -> Roles:
    """Current roles; versions deleted from disk are dropped, the champion is never a challenger."""
    root = Path(root)
    try:
        champion: str | None = current_version(root)
    except ModelError:
        champion = None
    raw: dict[str, Any] = {}
    if (root / ROLES).is_file():
        try:
            raw = json.loads((root / ROLES).read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ModelError(f"{root / ROLES} is not valid JSON") from e
    present = set(list_versions(root))
    challengers = [v for v in raw.get("challengers", []) if v in present and v != champion]
    history = [v for v in raw.get("history", []) if v in present]
    return Roles(champion, challengers, history)


def _write_roles(root: Path, roles: Roles) -> None:
    _atomic_json(root / ROLES, {"challengers": roles.challengers, "history": roles.history})


def _audit(root: Path, entry: dict[str, Any]) -> dict[str, Any]:
    line = json.dumps(entry, allow_nan=False)
    with (root / AUDIT).open("a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())
    return entry


def read_audit(root: Path | str, limit: int = 100) -> list[dict[str, Any]]:
    """The last ``limit`` audit entries, newest last (a torn last line is skipped)."""
    path = Path(root) / AUDIT
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out[-limit:]


def _now(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).isoformat()


def add_challenger(root: Path | str, version: str, *, actor: str, now: datetime | None = None) -> Roles:
    """Put ``version`` in shadow beside the champion (no-op when it already is, or is champion)."""
    root = Path(root)
    _check_version(root, version)
    with _locked(root):
        roles = read_roles(root)
        if version != roles.champion and version not in roles.challengers:
            roles.challengers.append(version)
            _write_roles(root, roles)
            _audit(root, {"at": _now(now), "action": "challenger", "version": version, "actor": actor})
        return roles


def remove_challenger(root: Path | str, version: str, *, actor: str, now: datetime | None = None) -> Roles:
    """Stop shadow-scoring ``version``."""
    root = Path(root)
    with _locked(root):
        roles = read_roles(root)
        if version in roles.challengers:
            roles.challengers.remove(version)
            _write_roles(root, roles)
            _audit(root, {"at": _now(now), "action": "retire", "version": version, "actor": actor})
        return roles


def write_evaluation(root: Path | str, version: str, report: dict[str, Any]) -> Path:
    """Store the challenger-vs-champion report the gate reads (``report`` from :mod:`.evaluation`)."""
    root = Path(root)
    _check_version(root, version)
    path = root / version / EVALUATION
    _atomic_json(path, report)
    return path


def read_evaluation(root: Path | str, version: str) -> dict[str, Any] | None:
    path = Path(root) / version / EVALUATION
    if not path.is_file():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ModelError(f"{path} is not valid JSON") from e
    return data


def gate(root: Path | str, version: str, margin: float = DEFAULT_MARGIN) -> dict[str, Any]:
    """Compare ``version`` with the champion on their shared recent labelled window.

    Returns ``{"passed", "reason", "margin", "challenger_pr_auc", "champion_pr_auc", ...}``.
    The report must have been made against the champion in service now: a comparison
    with an older champion says nothing about this one.
    """
    if not 0.0 <= margin <= 1.0:
        raise ModelError(f"margin must be between 0 and 1 (PR-AUC points), got {margin}")
    root = Path(root)
    champion = read_roles(root).champion
    out: dict[str, Any] = {"passed": False, "margin": margin, "champion": champion, "version": version}
    report = read_evaluation(root, version)
    if report is None:
        out["reason"] = f"no evaluation report for {version} (run `fraudguard retrain`, or --force)"
        return out
    scores = report.get("pr_auc", {})
    out["window"] = report.get("window")
    if champion not in scores or version not in scores:
        out["reason"] = f"the evaluation report of {version} does not compare it with the champion {champion}"
        return out
    ch, cc = float(scores[version]), float(scores[champion])
    out.update(challenger_pr_auc=ch, champion_pr_auc=cc, labelled=report.get("labelled"))
    out["passed"] = ch >= cc - margin
    out["reason"] = f"PR-AUC {ch:.4f} vs champion {cc:.4f} (margin {margin:g}): " + (
        "within the margin" if out["passed"] else "worse than the margin allows"
    )
    return out


def promote(
    root: Path | str,
    version: str,
    *,
    actor: str,
    force: bool = False,
    margin: float = DEFAULT_MARGIN,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Make ``version`` the champion if the gate passes (or ``force``); return the audit entry.

    The old champion goes on the rollback history. Raises :class:`PromotionRefused` when the
    gate fails without ``force`` (the refusal is audited too).
    """
    root = Path(root)
    _check_version(root, version)
    with _locked(root):
        roles = read_roles(root)
        if version == roles.champion:
            raise ModelError(f"{version} is already the champion")
        result = gate(root, version, margin) if roles.champion else {"passed": True, "reason": "no champion yet"}
        entry: dict[str, Any] = {"at": _now(now), "action": "promote", "version": version, "previous": roles.champion}
        entry.update(actor=actor, forced=bool(force and not result["passed"]), gate=result)
        if not result["passed"] and not force:
            _audit(root, {**entry, "action": "promote-refused"})
            raise PromotionRefused(f"promotion of {version} refused: {result['reason']}", result)
        write_current(root, version)
        if roles.champion:
            roles.history.append(roles.champion)
        roles.challengers = [v for v in roles.challengers if v != version]
        roles.champion = version
        _write_roles(root, roles)
        return _audit(root, entry)


def rollback(root: Path | str, *, actor: str, now: datetime | None = None) -> dict[str, Any]:
    """Bring back the champion before the current one (``fraudguard promote --previous``).

    Not gated: rollback is the emergency exit. The demoted version leaves service entirely.
    """
    root = Path(root)
    with _locked(root):
        roles = read_roles(root)
        if not roles.history:
            raise ModelError(f"no previous champion to roll back to in {root}")
        previous = roles.history.pop()
        write_current(root, previous)
        demoted, roles.champion = roles.champion, previous
        roles.challengers = [v for v in roles.challengers if v != previous]
        _write_roles(root, roles)
        entry = {"at": _now(now), "action": "rollback", "version": previous, "previous": demoted, "actor": actor}
        return _audit(root, {**entry, "forced": False})
