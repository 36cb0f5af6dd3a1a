#!/usr/bin/env bash
# One command: set up .venv with every extra and run the whole test suite
# (unit, integration against the real broker / PostgreSQL / Redis / Spark, browser).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh all
# Browser tests drive Debian's Chromium (never a downloaded browser). Install it when we can.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing Debian's chromium for the browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; browser tests will be skipped" >&2
fi
export PYSPARK_PYTHON="$PWD/.venv/bin/python"
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
exec .venv/bin/python -m pytest "$@"
