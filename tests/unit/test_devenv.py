"""The development environment's pure parts: private state directories, isolated settings."""

from __future__ import annotations

from pathlib import Path

from fraudguard.devenv.registry import has_model
from fraudguard.devenv.services import Service
from fraudguard.devenv.workspace import isolated_settings, private_state


def registry(tmp_path: Path) -> Path:
    root = tmp_path / "registry"
    (root / "v1").mkdir(parents=True)
    (root / "v1" / "card.json").write_text("{}")
    return root


def test_private_state_copies_the_registry_so_a_run_may_move_current(tmp_path: Path):
    state = private_state(tmp_path / "run", registry(tmp_path))
    (state / "models" / "CURRENT").write_text("v1")
    assert not (tmp_path / "registry" / "CURRENT").exists()
    assert (state / "models" / "v1" / "card.json").read_text() == "{}"


def test_private_state_links_the_registry_when_asked(tmp_path: Path):
    state = private_state(tmp_path / "run", registry(tmp_path), link=True)
    assert (state / "models").is_symlink()
    assert (state / "models").resolve() == (tmp_path / "registry").resolve()


def test_isolated_settings_share_no_topic_or_group_and_overrides_win(tmp_path: Path):
    common = {"bootstrap": "b:1", "database_url": "postgresql://x@h/db", "state_dir": tmp_path, "create_topics": False}
    a = isolated_settings(**common, partitions=2)
    b = isolated_settings(**common, topic_transactions="shared-tx", metrics_every=1)
    assert a.topic_partitions == 2 and a.kafka_bootstrap_servers == "b:1"
    assert a.database_dsn == "postgresql://x@h/db" and a.state_dir == tmp_path
    assert not set(a.topics) & set(b.topics) and a.consumer_group != b.consumer_group
    assert b.topic_transactions == "shared-tx" and b.metrics_every == 1


def test_has_model_needs_a_current_pointer(tmp_path: Path):
    root = registry(tmp_path)
    assert not has_model(root) and not has_model(tmp_path / "missing")
    (root / "CURRENT").write_text("v20260101-000000-abcdef12")
    assert has_model(root)


def test_a_service_found_running_is_never_stopped_by_whoever_found_it():
    stopped: list[str] = []

    class Process:
        def stop(self) -> None:
            stopped.append("started")

    Service("127.0.0.1:9092", "external").stop()
    started = Service("127.0.0.1:9093", "embedded", Process())
    started.stop()
    started.stop()  # once only
    assert stopped == ["started"]
