"""deploy/docker-compose.yml and deploy/Dockerfile agree with the settings the code reads.

No Docker engine runs on the test machines, so the stack is checked statically: every
``FRAUDGUARD_*`` variable must be a :class:`Settings` field (a typo would be silently
ignored at run time), every URL must point at a service and port the file defines, and
the state directory must be the volume every FraudGuard container mounts.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from fraudguard.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
FRAUDGUARD_SERVICES = ("trainer", "spark-master", "spark-worker", "api", "engine", "spark-job")
PREFIX = "FRAUDGUARD_"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def env(service: dict) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def setting_env_names() -> set[str]:
    """Every environment variable name Settings reads (prefix + field, plus aliases)."""
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        names.add(PREFIX + name.upper())
        alias = field.validation_alias
        for choice in getattr(alias, "choices", ()) or ():
            names.add(str(choice))
    return names


def published_ports(service: dict) -> dict[int, int]:
    """container port -> host port."""
    out = {}
    for spec in service.get("ports", []):
        host, container = str(spec).rsplit(":", 1)
        out[int(container)] = int(host.rsplit(":", 1)[-1])
    return out


def test_stack_has_every_service_with_pinned_images(services: dict) -> None:
    expected = {"kafka", "postgres", "redis", *FRAUDGUARD_SERVICES}
    assert expected <= set(services), f"missing: {expected - set(services)}"
    assert re.fullmatch(r"apache/kafka:\d+\.\d+\.\d+", services["kafka"]["image"])
    assert re.fullmatch(r"postgres:\d+", services["postgres"]["image"])
    assert re.fullmatch(r"redis:[\d.]+", services["redis"]["image"])
    for name in FRAUDGUARD_SERVICES:
        svc = services[name]
        assert svc["image"] == "fraudguard:latest", name
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile", name
        assert (COMPOSE.parent / svc["build"]["context"] / svc["build"]["dockerfile"]).resolve() == DOCKERFILE


def test_every_fraudguard_variable_is_a_setting(services: dict) -> None:
    known = setting_env_names()
    for name in FRAUDGUARD_SERVICES:
        variables = env(services[name])
        unknown = {k for k in variables if k.startswith(PREFIX) and k not in known}
        assert not unknown, f"{name} sets variables Settings does not read: {sorted(unknown)}"
        for required in (
            "KAFKA_BOOTSTRAP_SERVERS",
            "FRAUDGUARD_DATABASE_URL",
            "FRAUDGUARD_REDIS_URL",
            "FRAUDGUARD_SPARK_MASTER",
            "FRAUDGUARD_API_KEYS",
            "FRAUDGUARD_STATE_DIR",
        ):
            assert required in variables and required in known, (name, required)


def test_values_parse_as_settings(services: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The values themselves are valid (types, ranges, the production API-key rule)."""
    for name in FRAUDGUARD_SERVICES:
        for key, value in env(services[name]).items():
            monkeypatch.setenv(key, "k1,k2" if key == "FRAUDGUARD_API_KEYS" else value)
        settings = Settings(_env_file=None)
        assert settings.kafka_bootstrap_servers == "kafka:9092"
        assert settings.environment == "production" and settings.api_key_list == ["k1", "k2"]


def test_urls_point_at_services_of_the_stack(services: dict) -> None:
    kafka_env = env(services["kafka"])
    advertised = dict(
        (lst.split("://")[0], lst.split("://")[1]) for lst in kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    )
    pg = env(services["postgres"])
    for name in FRAUDGUARD_SERVICES:
        e = env(services[name])
        assert e["KAFKA_BOOTSTRAP_SERVERS"] == advertised[kafka_env["KAFKA_INTER_BROKER_LISTENER_NAME"]]
        db = urlsplit(e["FRAUDGUARD_DATABASE_URL"])
        assert db.scheme.startswith("postgresql") and db.hostname == "postgres" and db.port == 5432
        assert (db.username, db.password, db.path.lstrip("/")) == (
            pg["POSTGRES_USER"],
            pg["POSTGRES_PASSWORD"],
            pg["POSTGRES_DB"],
        )
        redis = urlsplit(e["FRAUDGUARD_REDIS_URL"])
        assert redis.scheme == "redis" and redis.hostname == "redis" and redis.port == 6379
        master = urlsplit(e["FRAUDGUARD_SPARK_MASTER"])
        assert master.scheme == "spark" and master.hostname == "spark-master"
        master_cmd = services["spark-master"]["command"]
        assert str(master.port) == master_cmd[master_cmd.index("--port") + 1]
    worker_cmd = services["spark-worker"]["command"]
    assert worker_cmd[-1] == env(services["spark-job"])["FRAUDGUARD_SPARK_MASTER"]
    assert 5432 in published_ports(services["postgres"]) and 6379 in published_ports(services["redis"])


def test_api_port_matches_settings_and_published_port(services: dict) -> None:
    api = services["api"]
    e = env(api)
    port = int(e["FRAUDGUARD_API_PORT"])
    assert port in published_ports(api)
    cmd = api["command"]
    assert cmd[:2] == ["fraudguard", "api"] and cmd[cmd.index("--port") + 1] == str(port)
    assert e["FRAUDGUARD_API_HOST"] == "0.0.0.0"


def test_state_volume_is_the_state_dir_everywhere(compose: dict, services: dict) -> None:
    dockerfile_state = re.search(r"FRAUDGUARD_STATE_DIR=(\S+)", DOCKERFILE.read_text())
    assert dockerfile_state is not None
    for name in FRAUDGUARD_SERVICES:
        svc = services[name]
        state_dir = env(svc)["FRAUDGUARD_STATE_DIR"]
        assert state_dir == dockerfile_state.group(1)
        mounts = {v.split(":")[1]: v.split(":")[0] for v in svc["volumes"]}
        assert mounts.get(state_dir) == "fraudguard-state", name
    for svc in services.values():
        for v in svc.get("volumes", []):
            assert v.split(":")[0] in compose["volumes"], v
    checkpoint = env(services["spark-job"])["FRAUDGUARD_SPARK_CHECKPOINT_DIR"]
    assert checkpoint.startswith(env(services["spark-job"])["FRAUDGUARD_STATE_DIR"] + "/")
    # Executors write state-store files into the checkpoint: the worker must mount it too.
    assert "fraudguard-state:/var/lib/fraudguard" in services["spark-worker"]["volumes"]


def test_spark_job_reads_with_the_connector_resolved_for_the_installed_spark(services: dict) -> None:
    import pyspark

    pom = (ROOT / "deploy" / "maven" / "spark-kafka" / "pom.xml").read_text()
    version = re.search(r"<spark.version>([^<]+)</spark.version>", pom)
    assert version is not None and version.group(1) == pyspark.__version__
    pin = re.search(r'"pyspark==([^"]+)"', (ROOT / "pyproject.toml").read_text())
    assert pin is not None and pin.group(1) == pyspark.__version__
    dockerfile = DOCKERFILE.read_text()
    assert "COPY deploy/maven/spark-kafka/pom.xml" in dockerfile
    jars = re.search(r"^COPY --from=spark-kafka /jars (\S+)$", dockerfile, re.M)
    assert jars is not None
    assert re.search(rf"FRAUDGUARD_SPARK_KAFKA_JARS_DIR={re.escape(jars.group(1))}\b", dockerfile)
    job = env(services["spark-job"])
    assert job["FRAUDGUARD_SPARK_SOURCE"] == "kafka"
    assert not any("PACKAGE" in k for k in job), "no run-time resolution (spark.jars.packages)"
    assert services["spark-job"]["command"][:4] == ["fraudguard", "stream", "--engine", "spark"]


def test_spark_cluster_has_the_tested_shape(services: dict) -> None:
    """Two one-core workers, and the worker timeout master and workers must agree on."""
    worker = services["spark-worker"]
    assert worker["deploy"]["replicas"] == 2
    cmd = worker["command"]
    assert cmd[cmd.index("--cores") + 1] == "1"
    assert cmd[-1] == "spark://spark-master:7077"
    opts = {env(services[n])["SPARK_DAEMON_JAVA_OPTS"] for n in ("spark-master", "spark-worker")}
    assert len(opts) == 1 and "spark.worker.timeout" in opts.pop()


def test_dockerfile_installs_the_project_with_java_and_the_log_config() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11", text, re.M)
    assert "openjdk-17-jre-headless" in text
    assert re.search(r'pip install "\.\[[^\]]*spark[^\]]*\]"', text)
    for src in re.findall(r"^COPY (?!--from)(\S+) ", text, re.M):
        assert (ROOT / src).exists(), f"Dockerfile copies {src}, which does not exist"
    log_conf = (ROOT / "deploy" / "log4j2.properties").read_text()
    assert re.search(r"^rootLogger\.level\s*=\s*error", log_conf, re.M)
