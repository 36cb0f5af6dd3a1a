"""The model in service: loaded from ``CURRENT``, followed at batch boundaries.

Both engines start with :func:`load_current` (a clear "train one first" error when the
registry is empty). The Spark engine keeps that version for the whole query (its Python
workers must agree on it). The local engine keeps a :class:`ModelWatcher`, which re-reads
the registry's ``CURRENT`` pointer at most every ``check_every_s`` seconds (a tiny file
read). When it names another version, the new scorer is loaded and verified first and
only then swapped in, between two batches: a batch is always scored by one version,
written into every prediction's ``model_version``. A version that fails to load
(tampered, half-copied) is refused with a warning and the engine keeps the model it has.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

from fraudguard.errors import ModelError

if TYPE_CHECKING:
    from fraudguard.features import FeatureConfig, FeaturePipeline, FeatureStores
    from fraudguard.models.card import ModelCard
    from fraudguard.models.scorer import Scorer

log = logging.getLogger(__name__)
S = TypeVar("S")


class FrameScorer(Protocol):
    """What the engine needs from :class:`fraudguard.models.scorer.Scorer`."""

    @property
    def version(self) -> str: ...

    @property
    def card(self) -> ModelCard: ...

    @property
    def feature_config(self) -> FeatureConfig: ...

    def make_pipeline(self, stores: FeatureStores | None = None) -> FeaturePipeline: ...

    def score_frame(self, frame: Any, features: Any) -> Any: ...


def default_loader(registry: Path, version: str | None) -> Scorer:
    """The real, verified :class:`~fraudguard.models.scorer.Scorer` of ``version``."""
    from fraudguard.models.scorer import Scorer

    return Scorer.load(registry, version)


def _current(registry: Path) -> str:
    from fraudguard.models.registry import current_version

    return current_version(registry)


def no_model_message(registry: Path) -> str:
    """What to tell a user whose registry holds no model."""
    return f"no model in {registry}: run `fraudguard train --data <transactions.parquet>` (e.g. from `fraudguard generate`) first"


@overload
def load_current(registry: Path) -> Scorer: ...
@overload
def load_current(registry: Path, loader: Callable[[Path, str | None], S]) -> S: ...
def load_current(registry: Path, loader: Callable[[Path, str | None], Any] = default_loader) -> Any:
    """The scorer of the version ``CURRENT`` names; :class:`ModelError` saying what to do when none."""
    try:
        return loader(registry, _current(registry))
    except ModelError as e:
        if not (registry / "CURRENT").is_file():
            raise ModelError(no_model_message(registry)) from e
        raise


class ModelWatcher:
    """Holds the scorer in service and switches when ``CURRENT`` changes.

    Parameters
    ----------
    registry:
        The registry directory (``settings.models_dir``).
    check_every_s:
        Smallest interval between two reads of ``CURRENT``.
    loader:
        ``loader(registry, version) -> scorer``; the real :class:`Scorer` by default.
    """

    def __init__(
        self,
        registry: Path,
        *,
        check_every_s: float = 3.0,
        loader: Callable[[Path, str | None], FrameScorer] | None = None,
    ) -> None:
        self.registry = Path(registry)
        self.check_every_s = check_every_s
        self._loader = loader or default_loader
        self.scorer = load_current(self.registry, self._loader)
        self._checked = time.monotonic()
        self.switches = 0

    @property
    def version(self) -> str:
        return self.scorer.version

    def check(self, force: bool = False) -> bool:
        """Switch to the version ``CURRENT`` names if it changed; True when switched."""
        now = time.monotonic()
        if not force and now - self._checked < self.check_every_s:
            return False
        self._checked = now
        try:
            wanted = _current(self.registry)
        except ModelError as e:
            log.warning("model pointer unreadable, keeping %s: %s", self.scorer.version, e)
            return False
        if wanted == self.scorer.version:
            return False
        try:
            new = self._loader(self.registry, wanted)
        except ModelError as e:
            log.warning("refusing model %s, keeping %s: %s", wanted, self.scorer.version, e)
            return False
        log.warning("model switched %s -> %s at a batch boundary", self.scorer.version, new.version)
        self.scorer = new
        self.switches += 1
        return True
