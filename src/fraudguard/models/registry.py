"""Versioned model registry on the file system, in each library's own safe format.

Layout::

    models/
      CURRENT                      # one line: the version in service (replaced atomically)
      v20261121-063000-1a2b3c4d/
        xgboost.ubj                # XGBoost's Universal Binary JSON
        random_forest.skops        # scikit-learn via skops, loaded with an explicit type list
        isolation_forest.skops
        ensemble.json              # stacker weights, Isolation Forest calibration, reason facts
        compiled.onnx              # the three models as one ONNX graph (derived, optional)
        model_card.json            # data, metrics, thresholds, features, sha256 manifest

``model_card.json`` is a :class:`~fraudguard.models.card.ModelCard`, written and read back
through that type (:func:`read_card`). No pickle is ever loaded. Loading checks every
artifact's sha256 against the card's manifest and that every model expects the card's
feature count, and refuses otherwise.
A version directory is written under a temporary name and renamed when complete, so a
crash never leaves a half-written version behind ``CURRENT``.

``compiled.onnx`` (:mod:`fraudguard.models.compiled`) is derived from the training formats,
which stay the source of truth. It is listed in the manifest and verified like the others
when present; versions written before it existed load without it (library scoring).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import skops.io as sio
import xgboost as xgb
from sklearn.ensemble import IsolationForest, RandomForestClassifier

from fraudguard.errors import ModelError
from fraudguard.models.card import ModelCard
from fraudguard.models.compiled import CompiledModels, compile_models
from fraudguard.models.ensemble import RankCalibration, Stacker
from fraudguard.models.estimators import BaseModels
from fraudguard.models.reasons import ReasonCoder

CARD = "model_card.json"
CURRENT = "CURRENT"
XGB_FILE = "xgboost.ubj"
RF_FILE = "random_forest.skops"
IF_FILE = "isolation_forest.skops"
ENSEMBLE_FILE = "ensemble.json"
ARTIFACTS: tuple[str, ...] = (XGB_FILE, RF_FILE, IF_FILE, ENSEMBLE_FILE)
COMPILED_FILE = "compiled.onnx"
OPTIONAL_ARTIFACTS: tuple[str, ...] = (COMPILED_FILE,)
"""Artifacts verified when the manifest lists them, and allowed to be absent."""
SKOPS_TRUSTED: tuple[str, ...] = ("sklearn.tree._tree.Tree",)
"""The only types beyond skops' built-in safe set that a forest file may contain."""
VERSION_RE = re.compile(r"^v\d{8}-\d{6}-[0-9a-f]{8}$")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class LoadedVersion:
    """Everything a scorer needs from one registry version."""

    version: str
    path: Path
    card: ModelCard
    models: BaseModels
    stacker: Stacker
    reasons: ReasonCoder
    feature_names: tuple[str, ...]


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n", encoding="utf-8")


def write_current(root: Path, version: str) -> None:
    """Point ``CURRENT`` at ``version`` atomically (write a temporary file, then rename)."""
    if not VERSION_RE.match(version) or not (root / version / CARD).is_file():
        raise ModelError(f"no complete model version {version!r} in {root}")
    fd, tmp = tempfile.mkstemp(prefix=".CURRENT-", dir=root)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(version + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, root / CURRENT)


def current_version(root: Path) -> str:
    """The version named by ``CURRENT``; a clear error when there is none."""
    pointer = Path(root) / CURRENT
    if not pointer.is_file():
        raise ModelError(f"no trained model in {root} (missing {CURRENT}); run `fraudguard train` first")
    version = pointer.read_text(encoding="utf-8").strip()
    if not VERSION_RE.match(version):
        raise ModelError(f"{pointer} holds {version[:80]!r}, not a version name")
    return version


def list_versions(root: Path) -> list[str]:
    """Complete versions in the registry, oldest first (names sort by time)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if VERSION_RE.match(p.name) and (p / CARD).is_file())


def ensure_registry_dir(root: Path | str) -> Path:
    """Create the registry directory if needed; raises :class:`ModelError` if it cannot be.

    ``train`` calls it before fitting so a bad ``--out`` fails in a second, not after the
    models have been trained.
    """
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ModelError(f"cannot create model registry {root}") from e
    return root


def save_version(
    root: Path,
    models: BaseModels,
    stacker: Stacker,
    reasons: ReasonCoder,
    card: ModelCard,
    *,
    make_current: bool = True,
    now: datetime | None = None,
) -> str:
    """Write a new version directory and (by default) make it current; returns its name.

    ``card`` is completed with the ``version`` and an ``artifacts`` manifest of sha256s.
    """
    root = ensure_registry_dir(root)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=root))
    except OSError as e:
        raise ModelError(f"cannot write to model registry {root}") from e
    try:
        models.xgboost.save_model(str(tmp / XGB_FILE))
        sio.dump(models.random_forest, tmp / RF_FILE)
        sio.dump(models.isolation_forest, tmp / IF_FILE)
        _write_json(
            tmp / ENSEMBLE_FILE,
            {
                "stacker": stacker.to_dict(),
                "isolation_forest_calibration": models.calibration.to_dict(),
                "reasons": reasons.to_dict(),
            },
        )
        (tmp / COMPILED_FILE).write_bytes(compile_models(models))
        manifest = {name: sha256_file(tmp / name) for name in (*ARTIFACTS, COMPILED_FILE)}
        digest = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:8]
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
        version = f"v{stamp}-{digest}"
        full = msgspec.structs.replace(card, version=version, artifacts=manifest)
        (tmp / CARD).write_text(full.to_json(), encoding="utf-8")
        final = root / version
        if final.exists():
            raise ModelError(f"model version {version} already exists in {root}")
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if make_current:
        write_current(root, version)
    return version


def _load_skops(path: Path, kind: type) -> Any:
    """Load a forest, refusing any type outside skops' safe set plus :data:`SKOPS_TRUSTED`."""
    try:
        untrusted = set(sio.get_untrusted_types(file=path))
        unexpected = untrusted - set(SKOPS_TRUSTED)
        if unexpected:
            raise ModelError(f"{path.name} contains untrusted types: {', '.join(sorted(unexpected))}")
        obj = sio.load(path, trusted=list(SKOPS_TRUSTED))
    except ModelError:
        raise
    except Exception as e:
        raise ModelError(f"cannot load {path.name}: {e}") from e
    if not isinstance(obj, kind):
        raise ModelError(f"{path.name} holds a {type(obj).__name__}, expected {kind.__name__}")
    return obj


def read_card(root: Path | str, version: str) -> ModelCard:
    """The model card of ``version`` in the registry at ``root``; :class:`ModelError` if unreadable."""
    if not VERSION_RE.match(version):
        raise ModelError(f"{version!r} is not a model version name")
    path = Path(root) / version / CARD
    try:
        return ModelCard.from_json(path.read_bytes())
    except FileNotFoundError as e:
        raise ModelError(f"model version {version} not found in {root}") from e
    except ModelError as e:
        raise ModelError(f"{path} is {e}") from e


def _verify(path: Path, card: ModelCard) -> None:
    manifest = card.artifacts
    if not isinstance(manifest, dict) or set(manifest) - set(OPTIONAL_ARTIFACTS) != set(ARTIFACTS):
        raise ModelError(f"{path / CARD} has no complete artifact manifest")
    for name in manifest:
        file = path / name
        if not file.is_file():
            raise ModelError(f"model artifact {file} is missing")
        if sha256_file(file) != manifest[name]:
            raise ModelError(f"model artifact {file} does not match its sha256 in {CARD}: refusing a tampered file")


def load_version(
    root: Path,
    version: str | None = None,
    feature_names: tuple[str, ...] | None = None,
    *,
    compiled: bool = True,
) -> LoadedVersion:
    """Load and verify a version (default: ``CURRENT``).

    ``feature_names``, when given (e.g. from the serving feature pipeline), must equal the
    card's list in content and order: a model fed columns in another order is silently wrong.
    ``compiled=False`` ignores ``compiled.onnx`` (the libraries score; benchmarks compare).
    """
    root = Path(root)
    version = version or current_version(root)
    path = root / version
    card = read_card(root, version)
    _verify(path, card)
    names = card.feature_names
    if feature_names is not None and tuple(feature_names) != names:
        missing = [n for n in names if n not in feature_names]
        extra = [n for n in feature_names if n not in names]
        raise ModelError(
            f"feature list mismatch with model {version}: missing {missing[:5]}, unexpected {extra[:5]}"
            + ("" if missing or extra else " (same names, different order)")
        )
    booster = xgb.Booster()
    booster.load_model(str(path / XGB_FILE))
    rf = _load_skops(path / RF_FILE, RandomForestClassifier)
    iforest = _load_skops(path / IF_FILE, IsolationForest)
    for label, n in (
        ("xgboost", booster.num_features()),
        ("random_forest", rf.n_features_in_),
        ("isolation_forest", iforest.n_features_in_),
    ):
        if n != len(names):
            raise ModelError(f"{label} in {version} expects {n} features but the card lists {len(names)}")
    extra_json = json.loads((path / ENSEMBLE_FILE).read_text(encoding="utf-8"))
    models = BaseModels(
        xgboost=booster,
        random_forest=rf,
        isolation_forest=iforest,
        calibration=RankCalibration.from_dict(extra_json["isolation_forest_calibration"]),
        n_features=len(names),
    )
    if compiled and isinstance(card.artifacts, dict) and COMPILED_FILE in card.artifacts:
        models.compiled = CompiledModels.of(models, (path / COMPILED_FILE).read_bytes())
    return LoadedVersion(
        version=version,
        path=path,
        card=card,
        models=models,
        stacker=Stacker.from_dict(extra_json["stacker"]),
        reasons=ReasonCoder.from_dict(names, extra_json["reasons"]),
        feature_names=names,
    )
