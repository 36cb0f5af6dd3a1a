#!/usr/bin/env bash
# One command: set up .venv with every extra and run the whole test suite
# (unit, integration against the real broker / PostgreSQL / Redis / Spark, browser).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh all
# Tests bring their own services. Browser tests drive Debian's Chromium (never a downloaded
# browser); the Redis fixture starts Debian's redis-server on a free port. Install what is
# missing when we can (root with apt-get), once.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)  # the wrk benchmark's C load generator
if [ "${#missing[@]}" -gt 0 ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing Debian packages for the tests: ${missing[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
    || echo "warning: could not install ${missing[*]}; tests needing them will say so" >&2
fi
export PYSPARK_PYTHON="$PWD/.venv/bin/python"
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
# Static checks first (seconds, as `make lint`): lint, format, types.
.venv/bin/ruff check src tests
.venv/bin/ruff format --check src tests
.venv/bin/mypy
# The whole suite: once on the embedded Tansu broker (the Apache Kafka-only tests, such as
# exactly-once and failover, start their own cluster), then the broker-dependent
# integration tests again with the session broker being Apache Kafka.
.venv/bin/python -m pytest
kafka_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' deploy/maven/kafka/pom.xml)"
kafka_lib="${FRAUDGUARD_KAFKA_LIB_DIR:-$HOME/.cache/fraudguard/kafka-$kafka_version/lib}"
if [ ! -f "$kafka_lib/kafka_2.13-$kafka_version.jar" ]; then
  echo "warning: Apache Kafka $kafka_version not set up (java/mvn missing): second pass skipped" >&2
  exit 0
fi
echo "second pass: broker-dependent integration tests on Apache Kafka $kafka_version"
FRAUDGUARD_TEST_BROKER=kafka exec .venv/bin/python -m pytest -m integration \
  tests/integration/test_kafka_roundtrip.py tests/integration/test_engine_pipeline.py \
  tests/integration/test_engine_crash.py tests/integration/test_generate_publish.py \
  tests/integration/test_replay_publish.py
