#!/usr/bin/env bash
# One command: set up .venv and run the whole system (embedded broker and PostgreSQL unless configured).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh redis
exec .venv/bin/fraudguard demo "$@"
