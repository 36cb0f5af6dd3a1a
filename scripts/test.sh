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
exec .venv/bin/python -m pytest "$@"
