"""The settings of one isolated run: its own topics, consumer group, state directory and registry.

Several runs share one broker and one database (a test session, a benchmark run), so each
gets unique topic names and a unique consumer group (:func:`fraudguard.config.isolated_names`),
a database URL on its own schema (``schemas.py``), and a private state directory whose
``models`` is the shared registry: copied when the run may move ``CURRENT`` (tests), linked
when it only reads it (benchmarks).
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from fraudguard.config import Settings, isolated_names


def private_state(state_dir: Path, registry: Path | None, *, link: bool = False) -> Path:
    """Create ``state_dir`` with ``models`` holding ``registry`` (a copy, or a link with ``link``)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    if registry is not None:
        if link:
            (state_dir / "models").symlink_to(registry.resolve(), target_is_directory=True)
        else:
            shutil.copytree(registry, state_dir / "models")
    return state_dir


def isolated_settings(
    *,
    bootstrap: str,
    database_url: str,
    state_dir: Path,
    partitions: int = 4,
    tag: str | None = None,
    create_topics: bool = True,
    **overrides: Any,
) -> Settings:
    """Settings of one run with topics and group suffixed by ``tag`` (random by default).

    ``overrides`` are further :class:`Settings` fields (they win over the isolated names).
    With ``create_topics`` every topic is created now with ``partitions`` partitions.
    """
    names = isolated_names(tag or uuid.uuid4().hex[:8])
    settings = Settings(
        kafka_bootstrap_servers=bootstrap,
        database_url=database_url,  # type: ignore[arg-type]  # validated into a SecretStr
        state_dir=state_dir,
        topic_partitions=partitions,
        **{**names, **overrides},
    )
    if create_topics:
        from fraudguard.io.kafka import ensure_topics

        ensure_topics(bootstrap, settings.topics, settings.topic_partitions)
    return settings
