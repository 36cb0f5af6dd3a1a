"""Settings: environment names, overrides, masked secrets, refusal of unsafe production."""

from __future__ import annotations

import os

import pytest

from fraudguard.config import Settings, load_settings
from fraudguard.errors import ConfigError


def test_reads_conventional_and_prefixed_names(monkeypatch, tmp_path):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
    monkeypatch.setenv("FRAUDGUARD_DATABASE_URL", "postgresql://u:secret@db/fraud")
    monkeypatch.setenv("FRAUDGUARD_REDIS_URL", "redis://r:6379/0")
    monkeypatch.setenv("FRAUDGUARD_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("FRAUDGUARD_API_KEYS", "a, b ,,c")
    s = Settings()
    assert s.kafka_bootstrap_servers == "k1:9092,k2:9092"
    assert s.database_dsn == "postgresql://u:secret@db/fraud"
    assert s.redis_url == "redis://r:6379/0"
    assert s.models_dir == tmp_path / "models"
    assert s.api_key_list == ["a", "b", "c"]


def test_secrets_are_masked_when_printed(monkeypatch):
    monkeypatch.setenv("FRAUDGUARD_DATABASE_URL", "postgresql://u:hunter2@db/fraud")
    monkeypatch.setenv("FRAUDGUARD_API_KEYS", "topsecretkey")
    s = Settings()
    text = repr(s) + str(s.model_dump())
    assert "hunter2" not in text and "topsecretkey" not in text


def test_flags_override_environment(monkeypatch):
    monkeypatch.setenv("FRAUDGUARD_BATCH_SIZE", "100")
    assert load_settings(batch_size=None).batch_size == 100
    assert load_settings(batch_size=7).batch_size == 7


def test_production_without_api_keys_is_refused(monkeypatch):
    monkeypatch.delenv("FRAUDGUARD_API_KEYS", raising=False)
    with pytest.raises(ConfigError):
        Settings(environment="production")
    assert Settings(environment="production", api_keys="k").api_key_list == ["k"]


def test_to_env_gives_a_child_process_the_same_settings(monkeypatch, tmp_path):
    from fraudguard.config import isolated_names

    parent = Settings(
        kafka_bootstrap_servers="k1:9092",
        database_url="postgresql://u:secret@db/fraud?options=-csearch_path%3Ds1",
        state_dir=tmp_path,
        topic_partitions=3,
        batch_size=77,
        max_event_skew_s=12.5,
        api_read_requires_key=True,
        api_keys="a,b",
        spark_source="python",
        **isolated_names("abc"),
    )
    env = parent.to_env()
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "k1:9092"
    assert env["FRAUDGUARD_DATABASE_URL"] == "postgresql://u:secret@db/fraud?options=-csearch_path%3Ds1"
    assert env["FRAUDGUARD_CONSUMER_GROUP"] == "group-abc" and env["FRAUDGUARD_TOPIC_PARTITIONS"] == "3"
    assert "FRAUDGUARD_REDIS_URL" not in env  # None: nothing to pass
    for name in [k for k in os.environ if k.startswith("FRAUDGUARD_") or k == "KAFKA_BOOTSTRAP_SERVERS"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "stale:1")  # the child's inherited value is replaced
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    child = Settings(_env_file=None)  # type: ignore[call-arg]
    assert child.model_dump(mode="json") == parent.model_dump(mode="json")
    assert child.database_dsn == parent.database_dsn and child.api_key_list == ["a", "b"]


def test_topics_listed_in_order():
    s = Settings(topic_transactions="tx")
    assert s.topics[0] == "tx" and len(set(s.topics)) == 5


def test_bad_values_are_rejected():
    with pytest.raises(ValueError):
        Settings(batch_size=0)


def test_isolated_names_share_no_topic_or_group_across_tags():
    from fraudguard.config import isolated_names

    a, b = Settings(**isolated_names("a1")), Settings(**isolated_names("b2"))
    assert set(a.topics).isdisjoint(b.topics) and a.consumer_group != b.consumer_group
    assert set(a.topics).isdisjoint(Settings().topics)
