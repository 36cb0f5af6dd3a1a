#!/usr/bin/env bash
# Resolve Spark's Kafka connector (deploy/maven/spark-kafka/pom.xml, pinned to pyspark's
# version) and the dependencies pyspark's jars/ lacks from Maven Central into a cache,
# once. The Spark engine passes these files with spark.jars: nothing resolves at run time.
# Cache: $FRAUDGUARD_SPARK_KAFKA_JARS_DIR, else ~/.cache/fraudguard/spark-kafka-<version>
# (the same default as fraudguard.engines.spark.connector.default_jars_dir).
# Skipped (warning, exit 0) without java/mvn: the engine then uses its Python Kafka source
# and the connector tests skip.
set -euo pipefail
cd "$(dirname "$0")/.."
pom=deploy/maven/spark-kafka/pom.xml
version="$(sed -n 's:.*<spark.version>\(.*\)</spark.version>.*:\1:p' "$pom")"
dir="${FRAUDGUARD_SPARK_KAFKA_JARS_DIR:-$HOME/.cache/fraudguard/spark-kafka-$version}"
stamp="$dir/.fraudguard-$(sha256sum "$pom" | cut -c1-16)"
[ -f "$stamp" ] && exit 0
if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
  echo "warning: java or mvn missing: Spark's Kafka connector $version not set up (Python source fallback)" >&2
  exit 0
fi
echo "resolving Spark's Kafka connector $version from Maven Central into $dir"
mkdir -p "$(dirname "$dir")"
tmp="$(mktemp -d "$dir.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$tmp/jars" >"$tmp/mvn.log" 2>&1 \
  || { cat "$tmp/mvn.log" >&2; echo "error: mvn could not resolve $pom" >&2; exit 1; }
[ -f "$tmp/jars/spark-sql-kafka-0-10_2.13-$version.jar" ] \
  || { echo "error: spark-sql-kafka-0-10_2.13-$version.jar was not resolved" >&2; exit 1; }
rm -rf "$dir"
mv "$tmp/jars" "$dir"
touch "$stamp"
