#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install FraudGuard with the given extras, once per pyproject change.
# Usage: scripts/bootstrap.sh [extras]   (default: redis)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-redis}"
py="${PYTHON:-}"
if [ -z "$py" ]; then
  for cand in python3.11 python3.12 python3.13 python3; do
    if command -v "$cand" >/dev/null 2>&1; then py="$cand"; break; fi
  done
fi
[ -n "$py" ] || { echo "error: Python 3.11+ not found (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || { echo "error: $py is older than Python 3.11" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $py"
  "$py" -m venv .venv
fi
stamp=.venv/.fraudguard-installed
want="$(sha256sum pyproject.toml | cut -c1-16)-$extras"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  echo "installing fraudguard[$extras] into .venv (first time: a few minutes; pyspark is large)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[$extras]"
  echo "$want" > "$stamp"
fi
# The `all` extras run the Apache Kafka tests too: fetch the pinned broker jars once.
case ",$extras," in
  *,all,*) scripts/kafka_setup.sh ;;
esac
# Spark's Kafka connector jars for the Spark engine (the `spark` and `all` extras).
case ",$extras," in
  *,all,*|*,spark,*) scripts/spark_kafka_setup.sh ;;
esac
